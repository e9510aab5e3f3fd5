"""The review app: the report's pages served from a batch store, where reviewers sign decisions.

Only reviewers can sign. Accounts (``extractor review add-user``, Argon2id hashes in the
store) log in to a session kept in a signed cookie (SameSite=Strict, HttpOnly, a secret
drawn at each start). Every POST must carry the session's CSRF token and come from this
origin (``Origin``, else ``Referer``): a page on another port of 127.0.0.1 — same site,
other origin — cannot post for the reviewer, nor log them in as someone else. Only the
allowed host names are served (no DNS rebinding); pages forbid framing, are never cached
and run only the report's hashed script.

Without any account the app shows the pages read-only, and only on a loopback address.

The store is opened per request (read-only to show, for writing to save one decision)
and closed at once, so ``extractor export-reviews`` can read it while the app runs.
Handlers are ``async`` and never await with a connection open: one connection at a time.
Note text is never logged; the access log carries paths and patient ids only.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from extractor.report import accounts, reviews
from extractor.report.effects import Judged, corrected_overall
from extractor.report.model import OVERALL_LABELS, PatientView, build_views, material_from_store
from extractor.report.pictures import funnel, timeline
from extractor.report.render import content_security_policy, environment, render
from extractor.report.security import (
    LOOPBACK_HOSTS,
    Refused,
    SecurityHeaders,
    csrf_token,
    guarded_form,
    safe_next,
)
from extractor.store import Store, StoreError

SESSION_COOKIE = "extractor_session"
SESSION_SECONDS = 8 * 3600
OPEN_ATTEMPTS = 40  # x 50 ms: how long a request waits for export-reviews to let go of the store


def patient_href(p: PatientView) -> str:
    return f"/patients/{quote(p.patient_id, safe='')}?trial={quote(p.trial, safe='')}"


def review_action(p: PatientView) -> str:
    return f"/patients/{quote(p.patient_id, safe='')}/reviews"


@asynccontextmanager
async def opened(request: Request, write: bool = False) -> AsyncIterator[Store]:
    """The store for one request; waits briefly while another process (export-reviews) holds it."""
    path: Path = request.app.state.store_path
    with ExitStack() as stack:
        for attempt in range(OPEN_ATTEMPTS):
            try:
                store = stack.enter_context(Store.open(path, read_only=not write))
                break
            except StoreError:
                if attempt == OPEN_ATTEMPTS - 1:
                    raise Refused(503, "the store is busy; try again") from None
                await asyncio.sleep(0.05)
        yield store


def _reviewer(request: Request) -> str | None:
    return request.session.get("reviewer")


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = render(
        template,
        review=True,
        reviewer=_reviewer(request),
        accounts_exist=request.app.state.accounts_exist,
        csrf=csrf_token(request),
        csp=content_security_policy(app=True),
        patient_href=patient_href,
        criterion_href=lambda p, c: f"{patient_href(p)}#{c.anchor}",
        review_action=review_action,
        list_href="/",
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def _login_needed(request: Request) -> Response | None:
    """Where accounts exist, every page but the login page needs a logged-in reviewer."""
    if request.app.state.accounts_exist and not _reviewer(request):
        following = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(following, safe='')}", status_code=303)
    return None


async def index(request: Request) -> Response:
    if (redirect := _login_needed(request)) is not None:
        return redirect
    async with opened(request) as store:
        patients = build_views(
            material_from_store(store, request.app.state.trial, with_notes=False), request.app.state.trial_files
        )
        counts = store.con.execute(
            "SELECT patient_id, trial, count(DISTINCT target_id) FROM reviews WHERE target = 'criterion' "
            "GROUP BY patient_id, trial"
        ).fetchall()  # criteria with at least one decision
        signed = store.con.execute("SELECT DISTINCT patient_id, trial FROM reviews WHERE target = 'overall'").fetchall()
    reviewed = {(pid, trial): n for pid, trial, n in counts}
    return _page(
        request,
        "app_index.html.j2",
        patients=patients,
        reviewed_counts=reviewed,
        signed={tuple(s) for s in signed},
        funnel_svg=funnel(patients),
    )


def _patient(store: Store, request: Request, patient_id: str, trial: str | None) -> PatientView | None:
    views = build_views(
        material_from_store(store, trial or request.app.state.trial, patient_id), request.app.state.trial_files
    )
    return views[0] if views else None


def _neighbours(store: Store, request: Request, view: PatientView) -> tuple[str | None, str | None]:
    """Links to the previous and next patient of the list."""
    where, params = "verdict IS NOT NULL", []
    if request.app.state.trial:
        where += " AND trial = ?"
        params.append(request.app.state.trial)
    keys = store.con.execute(
        f"SELECT patient_id, trial FROM verdicts WHERE {where} ORDER BY patient_id, trial", params
    ).fetchall()
    at = keys.index((view.patient_id, view.trial)) if (view.patient_id, view.trial) in keys else -1

    def href(i: int) -> str | None:
        if at < 0 or not 0 <= i < len(keys):
            return None
        return f"/patients/{quote(keys[i][0], safe='')}?trial={quote(keys[i][1], safe='')}"

    return href(at - 1), href(at + 1)


def _recomputed(view: PatientView, decisions: dict[tuple[str, str], reviews.ReviewRecord]) -> tuple[str, list[str]]:
    """The overall verdict with every criterion a reviewer corrected, and which ones they are."""
    corrections = {
        target_id: record.corrected
        for (target, target_id), record in decisions.items()
        if target == "criterion" and record.corrected is not None
    }
    judged = [Judged(c.id, c.type, c.status, c.person_only) for c in view.criteria]
    return corrected_overall(judged, corrections), sorted(corrections)


async def patient_page(request: Request, errors: dict[tuple[str, str], str] | None = None) -> Response:
    if (redirect := _login_needed(request)) is not None:
        return redirect
    patient_id = request.path_params["patient_id"]
    async with opened(request) as store:
        view = _patient(store, request, patient_id, request.query_params.get("trial"))
        if view is None:
            return PlainTextResponse("no verdict for this patient in the store", status_code=404)
        decisions = reviews.latest(store, view.patient_id, view.trial)
        prev_href, next_href = _neighbours(store, request, view)
    recomputed, corrections = _recomputed(view, decisions)
    return _page(
        request,
        "app_patient.html.j2",
        status_code=422 if errors else 200,
        p=view,
        single=True,
        decisions=decisions,
        recomputed=recomputed,
        corrections=corrections,
        prev_href=prev_href,
        next_href=next_href,
        timeline_svg=timeline(view),
        errors=errors or {},
    )


FIELD_NAMES = {
    "decision": "choose correct or wrong",
    "target": "not a criterion, fact or sign-off",
    "trial": "no trial given",
}


def explain(exc: ValidationError) -> str:
    """A refused decision's problems in a reviewer's words (pydantic's, without its prefixes)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown field {field}")
        elif field in FIELD_NAMES:
            problems.append(FIELD_NAMES[field])
        else:
            problems.append(str(error["msg"]).removeprefix("Value error, "))
    return "; ".join(problems)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def save_review(request: Request) -> Response:
    """One decision from one reviewer; answered as JSON to the page's script, else by a redirect."""
    form = await guarded_form(request)
    reviewer = _reviewer(request)
    if not reviewer:
        raise Refused(403, "log in as a reviewer to record decisions")
    patient_id = request.path_params["patient_id"]
    problem, review = None, None
    async with opened(request, write=True) as store:
        view = _patient(store, request, patient_id, form.get("trial"))
        if view is None:
            return PlainTextResponse("no verdict for this patient in the store", status_code=404)
        decisions = reviews.latest(store, view.patient_id, view.trial)
        known = {("criterion", c.id): c.status for c in view.criteria} | {
            ("fact", f.review_key): f.assertion for f in view.facts
        }
        known["overall", "overall"] = _recomputed(view, decisions)[0]
        key = (form.get("target", ""), form.get("target_id", ""))
        try:
            review = reviews.ReviewIn(**(form | {"reviewer": reviewer, "patient_id": patient_id}))
        except ValidationError as exc:
            problem = explain(exc)
        if review is not None and key not in known:
            problem = "no such criterion or fact"
        elif review is not None:
            review = review.model_copy(update={"predicted": known[key]})
            decisions[key] = reviews.save(store, review)
    if problem is not None:
        if _wants_json(request):
            return JSONResponse({"error": f"not saved: {problem}"}, status_code=422)
        shown_at = key if key in known else ("page", "page")  # beside its form, else atop the page
        return await patient_page(request, errors={shown_at: f"not saved: {problem}"})
    recomputed, _ = _recomputed(view, decisions)
    if _wants_json(request):
        line = environment().get_template("_decision.html.j2").module.decision_line(decisions[key])
        return JSONResponse(
            {
                "ok": True,
                "decision_html": str(Markup(line)),
                "recomputed": recomputed,
                "recomputed_label": OVERALL_LABELS.get(recomputed, recomputed),
            }
        )
    anchor = next((c.anchor for c in view.criteria if c.id == key[1]), "") if key[0] == "criterion" else ""
    return RedirectResponse(patient_href(view) + (f"#{quote(anchor)}" if anchor else ""), status_code=303)


async def login_page(request: Request) -> Response:
    return _page(request, "app_login.html.j2", next_href=safe_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    form = await guarded_form(request)
    name, password = form.get("reviewer", ""), form.get("password", "")
    async with opened(request) as store:
        ok = accounts.verify(store, name, password)
    following = safe_next(form.get("next"))
    if not ok:
        return _page(request, "app_login.html.j2", status_code=401, next_href=following, failed=True)
    request.session.clear()  # a fresh session and token: nothing chosen before login carries over
    request.session["reviewer"] = name
    csrf_token(request)
    return RedirectResponse(following, status_code=303)


async def logout(request: Request) -> Response:
    await guarded_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    if _wants_json(request):
        return JSONResponse({"error": exc.message}, status_code=exc.status)
    return PlainTextResponse(exc.message, status_code=exc.status)


def create_app(
    store_path: Path,
    trial: str | None = None,
    allowed_hosts: Sequence[str] = LOOPBACK_HOSTS,
    https: bool = False,
    trial_files: Sequence[Path] = (),
) -> Starlette:
    """The review app over the store at ``store_path``.

    ``trial``: show only this trial's verdicts. ``allowed_hosts``: the Host names served
    (others get 400). ``https``: mark the session cookie Secure (behind a TLS proxy).
    ``trial_files``: trial YAMLs for verdicts of trials that are not bundled (their criteria's words).
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with Store.open(store_path) as store:  # create the tables once; requests open it as they need
            reviews.ensure_table(store)
            accounts.ensure_table(store)
            app.state.accounts_exist = accounts.has_accounts(store)
        app.state.store_path = store_path
        app.state.trial = trial
        app.state.trial_files = tuple(trial_files)
        yield

    routes = [
        Route("/", index),
        Route("/login", login_page),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/patients/{patient_id}", patient_page),
        Route("/patients/{patient_id}/reviews", save_review, methods=["POST"]),
    ]
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secrets.token_urlsafe(32),
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_SECONDS,
            same_site="strict",
            https_only=https,
        ),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan, exception_handlers={Refused: refused})
