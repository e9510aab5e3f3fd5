"""Time rules match case-insensitively through the lower-cased note, with the note's own offsets."""

from __future__ import annotations

import datetime as dt

import pytest
import spacy
from pydantic import ValidationError

from extractor.pipeline.temporal import TimeNormalizer, TimeRule

NOTE_DATE = dt.date(2025, 3, 1)


@pytest.fixture(scope="module")
def normalizer() -> TimeNormalizer:
    return TimeNormalizer(spacy.blank("en"))


@pytest.mark.parametrize(
    ("text", "found", "expected"),
    [
        ("Seen in MARCH 2024.", "MARCH 2024", {"start": "2024-03-01", "end": "2024-03-31"}),
        ("Dx 3 Months Ago", "3 Months Ago", {"date": "2024-12-01"}),
        # "İ" lower-cases to two characters: the rules then run on the text itself
        ("İstanbul trip 3 MONTHS AGO", "3 MONTHS AGO", {"date": "2024-12-01"}),
        ("İİ Yesterday", "Yesterday", {"date": "2025-02-28"}),
    ],
)
def test_any_case_keeps_note_offsets(normalizer: TimeNormalizer, text: str, found: str, expected: dict) -> None:
    [expression] = normalizer.find(text, NOTE_DATE)
    assert expression["text"] == found == text[expression["char_start"] : expression["char_end"]]
    assert expected.items() <= expression.items()


def test_rules_must_be_lower_case() -> None:
    with pytest.raises(ValidationError, match="lower case"):
        TimeRule(name="shout", resolve="relative_day", regex=r"\b(?P<word>Yesterday)\b")
    TimeRule(name="ok", resolve="relative_day", regex=r"\b(?P<word>yesterday)\S*\d\b")
