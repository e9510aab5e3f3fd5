"""Time rules match case-insensitively through the lower-cased note, with the note's own offsets."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from extractor.pipeline.temporal import TimeNormalizer, TimeRule, _CueRegions

NOTE_DATE = dt.date(2025, 3, 1)
ROOT = Path(__file__).resolve().parents[2]


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


# --------------------------------------------------------------- cues: rules run only on lines holding them
FRAGMENTS = [
    "03/2024", "2019-2021", "2015-present", "12/01/2024", "3/4", "march 5, 2023", "5 march 2023", "since march",
    "3 months ago", "two weeks prior", "in the past 6 months", "last year", "earlier this year", "yesterday",
    "at age 12", "1998", "2023-04-05", "10 mg", "120/80", "HIV 1/2", "DOB", "\n", "\n\n", " ", ", ", "; ", " - ",
    "to", "Mar", "age", "this", "back", "2030", "1/2 tab", "(2020)", "Pt", "seen", "x",
]


@pytest.fixture(scope="module")
def without_cues() -> TimeNormalizer:
    """The same rules with no cues: each runs on the whole note."""
    plain = TimeNormalizer(spacy.blank("en"))
    plain._compiled = [(rule.model_copy(update={"cue": None}), a, b) for rule, a, b in plain._compiled]
    return plain


def test_no_rule_can_match_a_line_break(normalizer: TimeNormalizer) -> None:
    for rule in normalizer.rules.rules:
        bare = re.sub(r"\\.", "", rule.regex)  # escaped characters (\\d, \\.) take no newline
        assert r"\s" not in rule.regex and "[^" not in bare, rule.name
        assert "." not in re.sub(r"\[[^\]]*\]", "", bare), rule.name  # a "." in a class is a full stop


def test_every_match_holds_its_cue(normalizer: TimeNormalizer) -> None:
    texts = [json.loads(line)["text"] for line in (ROOT / "corpora/dev/notes.jsonl").read_text().splitlines()]
    texts.append(" ".join(FRAGMENTS))
    for rule, on_lower, _ in normalizer._compiled:
        assert rule.cue, rule.name
        for text in texts:
            for match in on_lower.finditer(text.lower()):
                assert re.search(rule.cue, match.group()), (rule.name, match.group())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30))
def test_cued_lines_find_what_the_whole_note_finds(
    normalizer: TimeNormalizer, without_cues: TimeNormalizer, parts: list[str]
) -> None:
    text = "".join(parts)
    assert normalizer.find(text, NOTE_DATE) == without_cues.find(text, NOTE_DATE)


def _naive_regions(lower: str, cue: re.Pattern[str]) -> list[tuple[int, int]]:
    """Every line holding a match of ``cue``, consecutive lines merged: the definition."""
    lines = lower.split("\n")
    starts = [sum(len(line) + 1 for line in lines[:i]) for i in range(len(lines))]
    regions: list[tuple[int, int]] = []
    for i, line_start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(lower)
        held = any(line_start <= m.start() < end for m in cue.finditer(lower))
        if held and regions and regions[-1][1] == line_start:
            regions[-1] = (regions[-1][0], end)
        elif held:
            regions.append((line_start, end))
    return regions


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["mar", "ked", " ", "\n", "2019", "1/2", "x"]), max_size=30).map("".join))
def test_cue_regions_hold_every_line_with_a_cue(text: str) -> None:
    """The regions skip to the next line after a hit; they are still every line with a hit."""
    cues = {"month": re.compile("jan|mar|dec"), "year": re.compile(r"(?:19|20)\d\d"), "slash": re.compile(r"\d/\d")}
    regions = _CueRegions(text, cues)
    for name, cue in cues.items():
        assert regions.of(name) == _naive_regions(text, cue), name
