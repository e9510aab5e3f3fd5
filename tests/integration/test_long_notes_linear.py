"""A long note costs time in proportion to its length: no stage has a step that grows with
(length x length). Four stages had one (abbreviation parentheses, section titles, time
expressions per sentence, dates before each lab); each is now a bisection or a bounded match."""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

import pytest
from scispacy.abbreviation import AbbreviationDetector
from spacy.language import Language

import extractor

ROOT = Path(__file__).resolve().parents[2]


def chart_of(characters: int) -> str:
    """The sample chart's notes, repeated to ``characters`` (a long admission's worth)."""
    notes = [json.loads(line)["text"] for line in (ROOT / "corpora/sample/notes.jsonl").read_text().splitlines()]
    base = "\n\n".join(notes)
    return (base + "\n\n") * (characters // (len(base) + 2) + 1)


def stage_seconds(nlp: Language, text: str, runs: int) -> dict[str, float]:
    """Each stage's time on ``text``, the best of ``runs`` (the machine is shared)."""
    best: dict[str, float] = {}
    for _ in range(runs):
        doc = extractor.make_doc(nlp, text, "long", None)
        gc.collect()
        gc.disable()  # a collection landing in one stage would be timed as that stage's
        try:
            for name, component in nlp.pipeline:
                started = time.perf_counter()
                doc = component(doc)
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - started)
        finally:
            gc.enable()
    return best


def test_each_stage_costs_time_in_proportion_to_the_note(nlp: Language) -> None:
    short, long = chart_of(8_000)[:8_000], chart_of(64_000)[:64_000]
    small, large = stage_seconds(nlp, short, runs=5), stage_seconds(nlp, long, runs=3)
    for name, seconds in large.items():
        if seconds < 0.08:
            continue  # too quick to time on a shared machine (the quadratic steps took 0.1 to 0.3 s here)
        growth = seconds / max(small[name], 1e-4)
        # 8 times the text: linear work is ~8 times slower, a quadratic step ~64 times (scispaCy's
        # parenthesis matcher measured 75 times before it was bounded); the margin is for a busy machine
        assert growth < 40, f"{name}: {growth:.0f} times slower on 8 times the text"


def test_the_parenthesis_matcher_finds_what_scispacy_keeps_in_linear_count(nlp: Language) -> None:
    text = "Systemic lupus erythematosus (SLE) on hydroxychloroquine (HCQ). " + "(" + " word ) (x" * 400 + ")"
    doc = nlp.make_doc(text)
    bounded = nlp.get_pipe("extractor_abbreviations")
    unbounded = AbbreviationDetector(nlp)
    ours, theirs = bounded.matcher(doc), unbounded.matcher(doc)
    kept = {(start, end) for _, start, end in theirs if end - start - 2 <= 8}
    assert {(start, end) for _, start, end in ours} == kept
    assert len(ours) < 4 * 400 < len(theirs)  # scispaCy's own: every "(" with every later ")"


@pytest.mark.parametrize("chars", [3_000, 30_000])
def test_abbreviations_are_the_same_as_scispacys(nlp: Language, chars: int) -> None:
    text = chart_of(chars)[:chars] + " Chronic kidney disease (CKD) stage 3; CKD stable. (a (b) c) (d"
    doc = extractor.make_doc(nlp, text, "n", None)
    for name, component in nlp.pipeline:
        if name == "extractor_abbreviations":
            break
        doc = component(doc)
    ours = nlp.get_pipe("extractor_abbreviations")(doc.copy())
    theirs = AbbreviationDetector(nlp)(doc.copy())

    def found(d: object) -> set[tuple[int, int, str]]:
        return {(a.start, a.end, str(a._.long_form)) for a in d._.abbreviations}  # type: ignore[attr-defined]

    assert found(ours) == found(theirs) and found(ours)
