"""The review app's guards: who may post, from where, and what every response forbids.

- ``guarded_form``: a POST is read only when its ``Origin`` (else ``Referer``) is this app's
  own origin and it carries the session's CSRF token. SameSite cookies do not suffice: a
  page on another port of 127.0.0.1 is the same *site*, and its forms carry the cookie.
- ``SecurityHeaders``: CSP with ``frame-ancestors 'none'`` and the report's hashed script,
  no caching (patient pages), no framing, no MIME sniffing, no referrer off this origin.
- ``safe_next``: where to go after login, only within the app.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extractor.report.render import content_security_policy

MAX_FORM_BYTES = 16_384
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class Refused(Exception):
    """A request that must not be served; ``status`` and a short message, never patient data."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SecurityHeaders:
    """Adds to every response: the app's CSP (with ``frame-ancestors 'none'``), no caching,
    no framing, no MIME sniffing, and no referrer beyond this origin."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": content_security_policy(app=True, header=True),
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def _origin_of(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', '')}"


async def guarded_form(request: Request) -> dict[str, str]:
    """A POST's URL-encoded form, once it proved to come from this origin with the session's token."""
    origin = request.headers.get("origin")
    if origin is None and request.headers.get("referer"):
        parts = urlsplit(request.headers["referer"])
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin != _origin_of(request):
        raise Refused(403, "refused: the request does not come from this app's pages")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Refused(413, "refused: the form is too large")
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=False)
    form = {name: values[-1].strip() for name, values in parsed.items() if values[-1].strip()}
    expected = request.session.get("csrf")
    given = form.pop("csrf", "").encode("utf-8")  # bytes: compare_digest refuses non-ASCII str
    if not expected or not secrets.compare_digest(given, expected.encode("utf-8")):
        raise Refused(403, "refused: the form's token does not match this session; reload the page")
    return form


def safe_next(value: str | None) -> str:
    """A path of this app to go to after login; anything that could leave it ("//x", "/\\x") is "/"."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value:
        return "/"
    return value
