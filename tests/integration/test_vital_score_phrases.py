"""Vital signs, scores, symptoms and the broad lexicons through the full rules pipeline (phrase cases as data)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from spacy.language import Language

import extractor

CASES = yaml.safe_load((Path(__file__).parent / "data" / "vital_score_phrases.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def nlp() -> Language:
    return extractor.load()


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c['mention']}: {c['text'][:40]}") for c in CASES])
def test_phrase_case(nlp: Language, case: dict[str, Any]) -> None:
    text = case["text"]
    start = text.index(case["mention"])
    facts = extractor.extract_text(text, note_date=dt.date(2025, 3, 1), nlp=nlp)
    at = [f for f in facts if f.evidence.char_start == start]
    if case.get("no_fact"):
        assert at == []
        return
    assert len(at) == 1, [(f.evidence.text, f.concept) for f in facts]
    fact = at[0]
    assert fact.evidence.text == case["mention"]
    assert (fact.kind.value, fact.concept) == (case["kind"], case["concept"])
    if "assertion" in case:
        assert fact.assertion.value == case["assertion"]
    for name in ("value", "diastolic", "canonical_unit"):
        if name in case:
            assert fact.lab is not None and getattr(fact.lab, name) == case[name], name
    if "canonical_value" in case:
        assert fact.lab is not None and fact.lab.canonical_value == pytest.approx(case["canonical_value"], abs=1e-3)
