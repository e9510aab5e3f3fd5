"""Medication cue phrases found fast are the matches the plain case-insensitive regex finds."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from extractor.pipeline.medications import _CuePhrases, _SentenceMatches
from extractor.pipeline.sentence_index import SentenceBounds

PHRASES = ("stopped", "d/c'd", "d/c", "no longer on", "on hold", "held", "since", "all", "all with", "flares <")
CUE = _CuePhrases(PHRASES)
PIECES = st.sampled_from([
    *PHRASES, "STOPPED", "Held", "upheld", "x/held", "held/x", "_held", "since2019", "No Longer On", " ", ", ", "\n",
    "\xa0", "K", "ſince", "İ", "é", "stopped.", "(held)", "all with", "ALL", "d/c'd;", "flares <5",
])


def _spans(matches: list[re.Match[str]]) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in matches]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=25).map("".join), st.data())
def test_same_matches_as_the_plain_regex(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    found = _SentenceMatches(text).within(CUE, SentenceBounds(start, end), start, end)
    assert _spans(found) == _spans(list(CUE.regex.finditer(text, start, end)))


def test_case_and_word_edges() -> None:
    text = "Upheld. MMF HELD 2024; no longer on HCQ, x/held"
    found = _SentenceMatches(text).within(CUE, SentenceBounds(0, len(text)), 0, len(text))
    assert [text[m.start() : m.end()] for m in found] == ["HELD", "no longer on"]


def test_text_whose_lower_case_differs_uses_the_plain_regex() -> None:
    # the Kelvin sign equals "k" ignoring case; "İ" lower-cases to two characters
    for text in ("K held", "İ Held since"):
        found = _SentenceMatches(text).within(CUE, SentenceBounds(0, len(text)), 0, len(text))
        assert _spans(found) == _spans(list(CUE.regex.finditer(text)))
