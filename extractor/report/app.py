"""The review app: the report's pages served from a batch store, with a form per verdict and fact.

A named reviewer (kept in a same-site cookie) marks each criterion verdict and each
fact correct or wrong; every decision is appended to the store's ``reviews`` table at
once, so decisions survive restarts. Handlers are ``async`` and so run one at a time
on the event loop: the one DuckDB connection is never used from two threads.
Note text is never logged; the access log carries paths and patient ids only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from extractor.report import reviews
from extractor.report.model import PatientView, build_views, material_from_store
from extractor.report.render import render
from extractor.store import Store

REVIEWER_COOKIE = "extractor_reviewer"
MAX_FORM_BYTES = 16_384


def patient_href(p: PatientView) -> str:
    return f"/patients/{quote(p.patient_id, safe='')}?trial={quote(p.trial, safe='')}"


def review_action(p: PatientView) -> str:
    return f"/patients/{quote(p.patient_id, safe='')}/reviews"


async def _form(request: Request) -> dict[str, str]:
    """A URL-encoded form body as single values; empty fields are left out."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=False)
    return {name: values[-1].strip() for name, values in parsed.items() if values[-1].strip()}


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    reviewer = request.cookies.get(REVIEWER_COOKIE)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = render(
        template,
        review=True,
        reviewer=reviewer,
        here=here,
        patient_href=patient_href,
        review_action=review_action,
        list_href="/",
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def _store(request: Request) -> Store:
    return request.app.state.store


async def index(request: Request) -> Response:
    store = _store(request)
    patients = build_views(material_from_store(store, request.app.state.trial, with_notes=False))
    counts = store.con.execute(
        "SELECT patient_id, trial, count(DISTINCT target_id) FROM reviews WHERE target = 'criterion' "
        "GROUP BY patient_id, trial"
    ).fetchall()  # criteria with at least one decision
    reviewed = {(pid, trial): n for pid, trial, n in counts}
    return _page(request, "app_index.html.j2", patients=patients, reviewed_counts=reviewed)


def _patient(request: Request, patient_id: str, trial: str | None) -> PatientView | None:
    material = material_from_store(_store(request), trial or request.app.state.trial, patient_id)
    views = build_views(material)
    return views[0] if views else None


async def patient_page(request: Request) -> Response:
    patient_id = request.path_params["patient_id"]
    view = _patient(request, patient_id, request.query_params.get("trial"))
    if view is None:
        return PlainTextResponse("no verdict for this patient in the store", status_code=404)
    decisions = reviews.latest(_store(request), view.patient_id, view.trial)
    return _page(request, "app_patient.html.j2", p=view, single=True, decisions=decisions)


async def save_review(request: Request) -> Response:
    patient_id = request.path_params["patient_id"]
    reviewer = request.cookies.get(REVIEWER_COOKIE)
    if not reviewer:
        return PlainTextResponse("set your reviewer name first", status_code=403)
    form = await _form(request)
    view = _patient(request, patient_id, form.get("trial"))
    if view is None:
        return PlainTextResponse("no verdict for this patient in the store", status_code=404)
    try:
        review = reviews.ReviewIn(reviewer=reviewer, patient_id=patient_id, **form)
    except (ValidationError, TypeError) as exc:
        problems = "; ".join(e["msg"] for e in exc.errors()) if isinstance(exc, ValidationError) else "unknown field"
        return PlainTextResponse(f"decision not saved: {problems}", status_code=422)
    known = {("criterion", c.id): c.status for c in view.criteria} | {
        ("fact", f.review_key): f.assertion for n in view.notes for f in n.facts
    }
    if (review.target.value, review.target_id) not in known:
        return PlainTextResponse("decision not saved: no such criterion or fact", status_code=422)
    review = review.model_copy(update={"predicted": known[review.target.value, review.target_id]})
    reviews.save(_store(request), review)
    anchor = f"{view.anchor}-c-{review.target_id}" if review.target is reviews.Target.CRITERION else ""
    target = patient_href(view) + (f"#{quote(anchor)}" if anchor else "")
    return RedirectResponse(target, status_code=303)


async def set_reviewer(request: Request) -> Response:
    form = await _form(request)
    name = form.get("reviewer", "")[:100]
    following = form.get("next", "/")
    if not following.startswith("/") or following.startswith("//"):
        following = "/"
    response = RedirectResponse(following, status_code=303)
    if name:
        response.set_cookie(REVIEWER_COOKIE, name, samesite="strict", httponly=True)
    return response


def create_app(store_path: Path, trial: str | None = None) -> Starlette:
    """The review app over the store at ``store_path`` (opened for writing while it runs).

    ``trial``: show only this trial's verdicts.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with Store.open(store_path) as store:
            reviews.ensure_table(store)
            app.state.store = store
            app.state.trial = trial
            yield

    routes = [
        Route("/", index),
        Route("/patients/{patient_id}", patient_page),
        Route("/patients/{patient_id}/reviews", save_review, methods=["POST"]),
        Route("/reviewer", set_reviewer, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
