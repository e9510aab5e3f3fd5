"""schemathesis against the service's OpenAPI document: generated requests, valid and
invalid, must get documented statuses, content types and bodies, and never a 5xx.

The document is built once at import (no pipeline needed for that) and checked to be
the one /openapi.json serves; the calls go in-process to a service sharing the session's
pipeline. Bounded: a fixed number of derandomised examples per operation, no database.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from spacy.language import Language

from extractor.service import ServiceSettings, create_app

EXAMPLES_PER_OPERATION = 25

DOCUMENT = create_app(ServiceSettings()).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES_PER_OPERATION,
    deterministic=True,
    database="none",
)


@pytest.fixture(scope="module")
def served_app(nlp: Language) -> FastAPI:
    return create_app(ServiceSettings(), [nlp])


def test_the_document_is_the_served_one(served_app: FastAPI) -> None:
    with TestClient(served_app) as client:
        served: dict[str, Any] = client.get("/openapi.json").json()
    assert served == DOCUMENT


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_honours_the_document(case: schemathesis.Case, served_app: FastAPI) -> None:
    case.call_and_validate(app=served_app)


@schema.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """Valid requests also keep the two rules the document states in words only: note ids
    unique within a request, and one patient per /v1/screen."""
    notes = case.body.get("notes") if isinstance(case.body, dict) else None
    if case.meta is None or not case.meta.generation.mode.is_positive or not isinstance(notes, list):
        return case
    for index, note in enumerate(notes):
        note["note_id"] = f"{note['note_id']}#{index}"
        if case.operation.path == "/v1/screen":
            note["patient_id"] = notes[0]["patient_id"]
    return case
