"""Shared fixtures: the pipeline is loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from spacy.language import Language

import extractor

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def nlp() -> Language:
    return extractor.load()


@pytest.fixture(scope="session")
def sample_notes_path() -> Path:
    return ROOT / "corpora" / "sample" / "notes.jsonl"
