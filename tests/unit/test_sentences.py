"""Sentence boundaries on clinical layout: lists, tables, run-in headers, wrapped dictation."""

from __future__ import annotations

import pytest
import spacy

from extractor.pipeline.sentences import SentenceSplitter

CASES = [
    ("run-in header", "mother.The child has SLE.", ["mother.", "The child has SLE."]),
    ("abbreviation", "Seen by Dr. Smith today. She is well.", ["Seen by Dr. Smith today.", "She is well."]),
    (
        "numbered list",
        "Meds:\n1. prednisone 10 mg\n2. HCQ 200 mg p.o. daily",
        ["Meds:", "1. prednisone 10 mg", "2. HCQ 200 mg p.o. daily"],
    ),
    ("wrapped dictation", "The patient was seen\nin clinic today.", ["The patient was seen\nin clinic today."]),
    ("lower-case shorthand", "h/o TB. r/o PE", ["h/o TB.", "r/o PE"]),
    ("table rows", "Hgb  9.6  L\nPLT  68", ["Hgb  9.6  L", "PLT  68"]),
    ("decimal", "Creatinine 1.2 mg/dL is stable.", ["Creatinine 1.2 mg/dL is stable."]),
    ("blank line", "No fever\n\nplan as above", ["No fever", "plan as above"]),
    ("bullets", "ROS:\n- no fever\n- no rash", ["ROS:", "- no fever", "- no rash"]),
]


@pytest.fixture(scope="module")
def splitter_nlp() -> spacy.language.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("extractor_sentences")
    return nlp


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in CASES])
def test_sentence_boundaries(splitter_nlp: spacy.language.Language, text: str, expected: list[str]) -> None:
    doc = splitter_nlp(text)
    assert [s.text.strip() for s in doc.sents] == expected


def test_boundaries_never_move_text() -> None:
    nlp = spacy.blank("en")
    splitter = SentenceSplitter(nlp)
    text = "A.B. c. D\r\n\r\nE"
    for start in splitter.boundaries(text):
        assert 0 < start < len(text)
