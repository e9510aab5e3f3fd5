"""``extractor serve``: the screening service on uvicorn, bound to loopback unless told otherwise."""

from __future__ import annotations

import ipaddress
import sys
from enum import Enum
from typing import Annotated

import typer

from extractor.cli.runs import say
from extractor.service.settings import DEFAULT_MAX_NOTES, DEFAULT_MAX_TEXT_BYTES, DEFAULT_REQUEST_SECONDS, TOKEN_ENV

CORS_ENV = "EXTRACTOR_SERVICE_CORS_ORIGINS"



class LogLevel(str, Enum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost': addresses no other machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def configure_logging(level: LogLevel) -> None:
    """Our log lines (loguru) at ``level`` on stderr; they carry ids and counts, never note text."""
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level=level.value.upper())


def serve(
    host: Annotated[str, typer.Option(help="address to bind; another machine can reach anything but loopback")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            envvar=TOKEN_ENV, show_default=False,
            help=f"bearer token required on every route but /healthz (prefer the {TOKEN_ENV} variable: "
            "a command line is visible to other users)",
        ),
    ] = None,
    max_text_bytes: Annotated[
        int, typer.Option(min=1, help="most UTF-8 bytes of note text in one request (413 beyond)")
    ] = DEFAULT_MAX_TEXT_BYTES,
    max_notes: Annotated[int, typer.Option(min=1, help="most notes in one request (413 beyond)")] = DEFAULT_MAX_NOTES,
    pipelines: Annotated[int, typer.Option(min=1, help="pipelines loaded, each serving one request at a time")] = 1,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(envvar=CORS_ENV, help="an origin allowed to call from a browser (repeatable); no CORS without"),
    ] = None,
    log_level: Annotated[LogLevel, typer.Option(case_sensitive=False)] = LogLevel.INFO,
    request_timeout: Annotated[
        float,
        typer.Option(
            min=0.001, max=86_400,
            help="seconds each request may take, waiting included (503 if no pipeline came free, 408 if over)",
        ),
    ] = DEFAULT_REQUEST_SECONDS,
) -> None:
    """Serve facts and trial verdicts over HTTP (FastAPI on uvicorn); see README, 'Screening service'."""
    import uvicorn

    from extractor.service import ServiceSettings, create_app

    try:
        settings = ServiceSettings(
            token=token, max_text_bytes=max_text_bytes, max_notes=max_notes, pipelines=pipelines,
            cors_origins=tuple(cors_origin or ()), request_seconds=request_timeout,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not is_loopback(host) and not token:
        say(f"warning: serving on {host} without a bearer token: anyone who can reach it can send notes")
    configure_logging(log_level)
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level=log_level.value,
        access_log=False,  # the service logs each request itself, with its id
        server_header=False,
    )
