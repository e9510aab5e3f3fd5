"""Any string yields facts with valid, exact offsets, and never crashes the pipeline."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.language import Language

import extractor

CLINICAL = st.sampled_from([
    "SLE", "no h/o TB", "Hgb 9.6", "PLT 68K", "prednisone 10 mg PO daily", "mother with SLE",
    "r/o PE", "\r\n", "\n\n", "ANA 1:320", "eGFR >60", "3 months ago", " ", ".", ":", "1.", "(", "x2",
    "Medications:\n", "Family History:", "é", "\u200b", "\x00", "𝔘", "\ufeff", "14 yo F",
])


def _check(nlp: Language, text: str) -> None:
    facts = extractor.extract_text(text, note_date=dt.date(2025, 3, 1), nlp=nlp)
    for fact in facts:
        ev = fact.evidence
        assert 0 <= ev.char_start <= ev.char_end <= len(text)
        assert text[ev.char_start : ev.char_end] == ev.text
        if fact.lab and fact.lab.value_char_start is not None:
            assert 0 <= fact.lab.value_char_start <= fact.lab.value_char_end <= len(text)
        if fact.time and fact.time.char_start is not None:
            assert text[fact.time.char_start : fact.time.char_end] == fact.time.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(CLINICAL, st.text(max_size=12)), max_size=25).map("".join))
def test_any_text_has_exact_offsets(nlp: Language, text: str) -> None:
    _check(nlp, text)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_binary_junk_decoded_leniently(nlp: Language, data: bytes) -> None:
    _check(nlp, data.decode("utf-8", errors="replace"))


def test_empty_and_whitespace(nlp: Language) -> None:
    for text in ("", " ", "\n\n\r\n", "\t"):
        assert extractor.extract_text(text, nlp=nlp) == []


def test_one_megabyte_note(nlp: Language) -> None:
    prose = "The patient was seen in clinic today and is doing well overall.\r\n" * 15
    chunk = prose + "Pt with SLE, no h/o TB. Hgb 9.6 g/dL. prednisone 10 mg daily.\r\n"
    text = chunk * (1_000_000 // len(chunk) + 1)
    assert len(text) > 1_000_000
    facts = extractor.extract_text(text, nlp=nlp)
    assert len([f for f in facts if f.concept == "sle"]) == text.count("SLE")
    tb = [f for f in facts if f.concept == "tuberculosis"]
    assert tb and all(f.assertion.value == "absent" for f in tb)
    for fact in facts[:: max(1, len(facts) // 200)]:
        assert text[fact.evidence.char_start : fact.evidence.char_end] == fact.evidence.text
