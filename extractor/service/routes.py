"""The routes: extract, screen, trials, health. Thin over the pipeline and the screening API.

CPU work (extraction, screening, rendering the answer) runs in worker threads; the
event loop only parses requests, checks limits and waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from loguru import logger

import extractor
from extractor.facts import Fact
from extractor.fhir import facts_to_bundle, verdict_to_bundle
from extractor.notes import Note
from extractor.screening import Trial, screen_patient
from extractor.service.errors import ServiceError, ServiceErrors
from extractor.service.pool import Busy, ClientGone, DeadlinePassed
from extractor.service.schemas import (
    FHIR_BUNDLE_SCHEMA,
    CriterionInfo,
    ErrorBody,
    ExtractRequest,
    ExtractResponse,
    Health,
    NoteIn,
    ScreenRequest,
    TrialDetail,
    TrialList,
    TrialSummary,
    VerdictOut,
)
from extractor.service.settings import ServiceSettings

FHIR_JSON = "application/fhir+json"

router = APIRouter()

_AUTH = {401: {"model": ErrorBody, "description": "bearer token missing or wrong (when the service has one)"}}
_POST = {
    **_AUTH,
    413: {"model": ErrorBody, "description": "too many notes, or too much text, in one request"},
    422: {"model": ErrorBody, "description": "malformed request; `fields` names each faulty field"},
    408: {"model": ErrorBody, "description": "the request ran past its deadline and was stopped"},
    503: {"model": ErrorBody, "description": "no pipeline came free before the deadline; retry later"},
}
_FHIR_200 = {
    "description": f"JSON, or a FHIR R4 Bundle with `Accept: {FHIR_JSON}`",
    "content": {FHIR_JSON: {"schema": FHIR_BUNDLE_SCHEMA}},
}


@router.get("/healthz", response_model=Health, tags=["service"])
async def healthz() -> dict[str, str]:
    """Liveness: answers once the pipeline is loaded. Needs no token; says nothing else."""
    return {"status": "ok"}


@router.post("/v1/extract", response_model=ExtractResponse, responses={**_POST, 200: _FHIR_200}, tags=["facts"])
async def extract(body: ExtractRequest, request: Request) -> Response:
    """Facts of each note, with evidence offsets into the note's text as sent."""
    notes = _checked_notes(body.notes, request.app.state.settings)
    results = await _extract(request, notes)
    fhir = wants_fhir(request)

    def render() -> Response:
        if fhir:
            return JSONResponse(facts_to_bundle(f for _, facts in results for f in facts), media_type=FHIR_JSON)
        return JSONResponse({"notes": [
            {"patient_id": note.patient_id, "note_id": note.note_id, "facts": [f.to_json_dict() for f in facts]}
            for note, facts in results
        ]})

    response = await anyio.to_thread.run_sync(render)
    logger.info(
        "{} extract: {} notes, {} facts", request.state.request_id, len(notes), sum(len(f) for _, f in results)
    )
    return response


@router.post("/v1/screen", response_model=VerdictOut, responses={**_POST, 200: _FHIR_200}, tags=["screening"])
async def screen(body: ScreenRequest, request: Request) -> Response:
    """The CONTRACT verdict of one patient for one bundled trial, every criterion with its evidence."""
    trials: dict[str, Trial] = request.app.state.trials
    trial = trials.get(body.trial)
    if trial is None:
        message = ServiceErrors.S007.format(trial=body.trial, available=", ".join(sorted(trials)))
        raise ServiceError(422, "invalid_request", message, (("trial", message),))
    notes = _checked_notes(body.notes, request.app.state.settings)
    for index, note in enumerate(notes):
        if note.patient_id != notes[0].patient_id:
            message = ServiceErrors.S006.format(index=index, found=note.patient_id, expected=notes[0].patient_id)
            raise ServiceError(422, "invalid_request", message, ((f"notes[{index}].patient_id", message),))
    results = await _extract(request, notes)
    fhir = wants_fhir(request)

    def judge() -> Response:
        facts = [f for _, note_facts in results for f in note_facts]
        verdict = screen_patient(notes, facts, trial, body.screening_date)
        if fhir:
            return JSONResponse(verdict_to_bundle(verdict, facts), media_type=FHIR_JSON)
        return JSONResponse(verdict.to_contract_dict())

    response = await anyio.to_thread.run_sync(judge)
    logger.info("{} screen: {} notes, trial {}", request.state.request_id, len(notes), trial.name)
    return response


@router.get("/v1/trials", response_model=TrialList, responses=_AUTH, tags=["screening"])
async def list_trials(request: Request) -> dict[str, Any]:
    """The bundled trials."""
    trials: dict[str, Trial] = request.app.state.trials
    return {"trials": [
        TrialSummary(id=t.name, title=t.title, version=t.version, criteria=len(t.criteria))
        for t in trials.values()
    ]}


@router.get(
    "/v1/trials/{trial_id}",
    response_model=TrialDetail,
    responses={**_AUTH, 404: {"model": ErrorBody, "description": "no bundled trial with this id"}},
    tags=["screening"],
)
async def get_trial(trial_id: str, request: Request) -> TrialDetail:
    """One bundled trial and its criteria: ids, text, and what silence in the chart means."""
    trials: dict[str, Trial] = request.app.state.trials
    trial = trials.get(trial_id)
    if trial is None:
        raise ServiceError(
            404, "not_found", ServiceErrors.S007.format(trial=trial_id, available=", ".join(sorted(trials)))
        )
    return TrialDetail(
        id=trial.name, title=trial.title, description=trial.description, version=trial.version,
        source=trial.source, license=trial.license,
        criteria=[
            CriterionInfo(id=c.id, type=c.type, text=c.text, absent=c.absent.value, person_only=c.person_only)
            for c in trial.criteria
        ],
    )


def wants_fhir(request: Request) -> bool:
    """True when the Accept header lists ``application/fhir+json`` (with a non-zero q)."""
    for item in request.headers.get("accept", "").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if media.lower() != FHIR_JSON:
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


async def _extract(request: Request, notes: list[Note]) -> list[tuple[Note, list[Fact]]]:
    """The pool's extraction within the request's deadline, stopped if the client leaves."""
    seconds = request.app.state.settings.request_seconds
    request_id = request.state.request_id
    try:
        return await request.app.state.pool.extract(notes, seconds, request.receive)
    except Busy:
        message = ServiceErrors.S012.format(seconds=seconds, request_id=request_id)
        raise ServiceError(503, "busy", message, headers={"Retry-After": "5"}) from None
    except DeadlinePassed:
        raise ServiceError(408, "deadline", ServiceErrors.S011.format(seconds=seconds, request_id=request_id)) from None
    except ClientGone:
        logger.info("{} client disconnected; work stopped", request_id)
        # no one reads the answer; the access log records the 408 with the request id
        raise ServiceError(408, "client_gone", ServiceErrors.S013.format(request_id=request_id)) from None


def _checked_notes(notes: Sequence[NoteIn], settings: ServiceSettings) -> list[Note]:
    """The request's notes, within the size limits (413) and with unique note ids (422)."""
    if len(notes) > settings.max_notes:
        raise ServiceError(413, "too_large", ServiceErrors.S001.format(count=len(notes), limit=settings.max_notes))
    size = sum(len(note.text.encode("utf-8")) for note in notes)
    if size > settings.max_text_bytes:
        raise ServiceError(413, "too_large", ServiceErrors.S002.format(size=size, limit=settings.max_text_bytes))
    for index, note in enumerate(notes):  # reachable when an operator raises --max-text-bytes
        if len(note.text) > extractor.MAX_NOTE_CHARS:
            message = ServiceErrors.S014.format(index=index, length=len(note.text), limit=extractor.MAX_NOTE_CHARS)
            raise ServiceError(413, "too_large", message, ((f"notes[{index}].text", message),))
    first: dict[str, int] = {}
    for index, note in enumerate(notes):
        if note.note_id in first:
            message = ServiceErrors.S005.format(note_id=note.note_id, first=first[note.note_id], index=index)
            raise ServiceError(422, "invalid_request", message, ((f"notes[{index}].note_id", message),))
        first[note.note_id] = index
    return [note.to_note() for note in notes]
