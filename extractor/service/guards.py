"""ASGI middleware between the socket and the routes: errors, access log, token, body size.

``ErrorShield`` (outermost of ours) gives every request an id, logs one line per request
(method, path, status, time: never a body) and turns any unhandled exception into a
500 JSON error naming only the exception's type, so no message that might quote a note
reaches a log or a client, and nothing brings the server down. ``AccessGuard`` checks
the bearer token (every path but /healthz) before reading the body, then reads the body
up to the configured cap, answering 413 beyond it without parsing anything.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

from loguru import logger
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extractor.notes import DuplicateKey, no_duplicate_keys
from extractor.service.errors import ServiceErrors

OPEN_PATHS = frozenset({"/healthz"})


def error_response(
    status: int,
    code: str,
    message: str,
    fields: tuple[tuple[str, str], ...] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The one JSON shape of every error (``schemas.ErrorBody``)."""
    body: dict[str, Any] = {
        "error": code,
        "message": message,
        "fields": [{"field": field, "message": text} for field, text in fields],
    }
    return JSONResponse(body, status_code=status, headers=headers)


class ErrorShield:
    """Request id, one access-log line per request, and a 500 for anything unhandled."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # the shield: log the type only, never the message
            logger.error("request {} failed: {}", request_id, type(exc).__name__)
            if not response_started:
                message = ServiceErrors.S009.format(kind=type(exc).__name__, request_id=request_id)
                await error_response(500, "internal_error", message)(scope, receive, send_with_id)
        finally:
            logger.info(
                "{} {} {} {} {:.1f} ms",
                request_id, printable(scope["method"]), printable(scope["path"]), status,
                (time.perf_counter() - started) * 1000,
            )


LOGGED_PATH_CHARS = 200


def printable(text: str) -> str:
    """``text`` safe for a one-line log: control and other non-printing characters (a
    decoded ``%0a`` that would forge a log line, ``%1b[2J`` that would clear a terminal)
    and backslashes written as Python escapes; cut at ``LOGGED_PATH_CHARS``."""
    cut = text[:LOGGED_PATH_CHARS]
    safe = "".join(
        char if char.isprintable() and char != "\\" else char.encode("unicode_escape").decode("ascii") for char in cut
    )
    return safe + ("..." if len(text) > LOGGED_PATH_CHARS else "")


class AccessGuard:
    """Bearer token (when configured) on every path but /healthz, then the body-size cap."""

    def __init__(self, app: ASGIApp, token: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.token = token.encode("utf-8") if token else None
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.token is not None and scope["path"] not in OPEN_PATHS and not _authorised(headers, self.token):
            response = error_response(
                401, "unauthorized", ServiceErrors.S008, headers={"WWW-Authenticate": "Bearer"}
            )
            await response(scope, receive, send)
            return
        try:
            body = await self._read_body(headers, receive)
        except _Disconnected:
            return
        if body is None:
            message = ServiceErrors.S003.format(limit=self.max_body_bytes)
            await error_response(413, "too_large", message)(scope, receive, send)
            return
        repeated = duplicate_key(body) if body else None
        if repeated is not None:
            problem = f"key {repeated} appears twice in one JSON object"
            message = ServiceErrors.S004.format(fields=f"body: {problem}")
            await error_response(422, "invalid_request", message, (("body", problem),))(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, headers: Headers, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is known to be over the cap."""
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def duplicate_key(body: bytes) -> str | None:
    """The first key given twice in one object of a JSON body (quoted, at most 40 characters),
    or None. JSON parsers keep the last value silently; a note with two ``text`` or ``date``
    keys would be judged on whichever came last. A body that is not JSON is left to FastAPI."""
    try:
        json.loads(body, object_pairs_hook=no_duplicate_keys)
    except DuplicateKey as exc:
        shown = repr(exc.key)
        return shown if len(shown) <= 40 else shown[:37] + "..."
    except (ValueError, RecursionError):
        return None
    return None


class _Disconnected(Exception):
    """The client went away before sending its whole body: nothing to answer."""


def _authorised(headers: Headers, token: bytes) -> bool:
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(credentials.strip().encode("utf-8"), token)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the real channel."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
