"""Service fixtures: one loaded pipeline for the session (tests/conftest.py), one client per module."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from spacy.language import Language

from extractor.service import ServiceSettings, create_app

DATA = Path(__file__).parent / "data"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def five_notes() -> list[dict[str, Any]]:
    """A typical patient: five notes of one SLE patient, written for these tests."""
    return read_jsonl(DATA / "five_notes.jsonl")


@pytest.fixture(scope="session")
def sample_notes(sample_notes_path: Path) -> list[dict[str, Any]]:
    return read_jsonl(sample_notes_path)


Serve = Callable[..., AbstractContextManager[TestClient]]


@pytest.fixture(scope="session")
def serve(nlp: Language) -> Serve:
    """``with serve(token=...) as client``: a service with these settings, sharing the loaded pipeline."""

    @contextmanager
    def serving(**settings: Any) -> Iterator[TestClient]:
        with TestClient(create_app(ServiceSettings(**settings), [nlp])) as client:
            yield client

    return serving


@pytest.fixture(scope="module")
def client(serve: Serve) -> Iterator[TestClient]:
    """A service with the default settings."""
    with serve() as test_client:
        yield test_client
