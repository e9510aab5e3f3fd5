"""Fixtures shared by the batch integration tests."""

from __future__ import annotations

import pytest
from spacy.language import Language

from extractor.batch import work


@pytest.fixture
def inline(nlp: Language, monkeypatch: pytest.MonkeyPatch) -> Language:
    """Inline workers use the session's pipeline instead of loading their own."""
    monkeypatch.setattr(work._local, "nlp", nlp, raising=False)
    return nlp
