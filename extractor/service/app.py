"""The FastAPI application: pipeline and trials loaded once at start-up, guards, error shape.

Layers, outermost first: CORS (only when origins are configured), ``ErrorShield``
(request id, access log, 500 for anything unhandled), ``AccessGuard`` (bearer token,
body-size cap), then the routes. Every error is ``ErrorBody`` JSON; validation errors
name each faulty field (``notes[0].date``) and never echo the input back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from loguru import logger
from spacy.language import Language
from starlette.exceptions import HTTPException

from extractor.screening import bundled_trials, load_trial
from extractor.service.errors import ServiceError, ServiceErrors
from extractor.service.guards import OPEN_PATHS, AccessGuard, ErrorShield, error_response
from extractor.service.pool import PipelinePool
from extractor.service.routes import router
from extractor.service.settings import ServiceSettings

TITLE = "extractor screening service"
VERSION = "1"
DESCRIPTION = (
    "Facts with evidence spans, and trial verdicts in the CONTRACT format, from a patient's "
    "clinical notes. Offsets are Python str indices into each note's `text` as sent, end-exclusive. "
    "Send `Accept: application/fhir+json` on the POST routes for a FHIR R4 Bundle."
)


def create_app(settings: ServiceSettings | None = None, pipelines: Sequence[Language] | None = None) -> FastAPI:
    """The service. ``pipelines``: already loaded pipelines to use (tests share one);
    otherwise ``settings.pipelines`` are loaded at start-up, before any request is served."""
    settings = settings or ServiceSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from extractor import load  # deferred: importing the app must not load spaCy models

        loaded = list(pipelines) if pipelines else [load() for _ in range(settings.pipelines)]
        app.state.pool = PipelinePool(loaded)
        app.state.trials = {trial_id: load_trial(trial_id) for trial_id in bundled_trials()}
        logger.info("service ready: {} pipeline(s), trials: {}", len(loaded), ", ".join(app.state.trials))
        yield

    app = FastAPI(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # the interactive pages load scripts from a CDN; /openapi.json is enough
        redoc_url=None,
        separate_input_output_schemas=False,
    )
    app.state.settings = settings
    app.include_router(router)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(AccessGuard, token=settings.token, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(ErrorShield)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
            expose_headers=["X-Request-ID"],
        )
    if settings.token:
        _document_bearer(app)
    return app


def field_name(loc: Sequence[Any]) -> str:
    """``("body", "notes", 0, "date")`` → ``notes[0].date``: the field as a client writes it."""
    parts = list(loc[1:] if loc and loc[0] in ("body", "path", "query", "header") else loc)
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    # msg and loc only: pydantic's "input" and "ctx" would echo note text back
    fields = tuple(_problem(error) for error in exc.errors())
    summary = "; ".join(f"{name}: {message}" for name, message in fields)
    return error_response(422, "invalid_request", ServiceErrors.S004.format(fields=summary), fields)


def _problem(error: dict[str, Any]) -> tuple[str, str]:
    if error["type"] == "json_invalid":
        return "body", f"not valid JSON (at character {error['loc'][-1]})"
    if tuple(error["loc"]) == ("body",) and error["type"] == "model_attributes_type":
        return "body", "expected a JSON object, sent with Content-Type: application/json"
    return field_name(error["loc"]), error["msg"].removeprefix("Value error, ")


async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.fields, headers=exc.headers)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 400:  # FastAPI's answer to a body that is not UTF-8 JSON at all
        fields = (("body", "not valid JSON text (UTF-8)"),)
        return error_response(422, "invalid_request", ServiceErrors.S004.format(fields="body: not valid JSON"), fields)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = ServiceErrors.S010.format(status=exc.status_code, detail=str(exc.detail).rstrip("."))
    return error_response(exc.status_code, code, message, headers=exc.headers)


def _document_bearer(app: FastAPI) -> None:
    """Declare the bearer token in /openapi.json, on every operation but /healthz."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=TITLE, version=VERSION, description=DESCRIPTION, routes=app.routes,
                separate_input_output_schemas=False,
            )
            schema.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            schema["security"] = [{"bearer": []}]
            for path in OPEN_PATHS:
                for operation in schema["paths"].get(path, {}).values():
                    operation["security"] = []
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
