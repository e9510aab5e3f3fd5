"""Clinical-phrase regression suite: every case in ``cases/*.yaml`` run by one parametrised test.

Rules are data and change often; these cases pin what a phrase means clinically (negation,
family history, dates against the note's date, lab units, doses) so a rule edit that breaks
a meaning fails here by name. Expected values are clinical truth, not the pipeline's
current output: a case the pipeline cannot meet yet stays, listed in ``KNOWN_FAILURES``
with the reason, and is run as a strict xfail so a fix is noticed.

Case kinds (``api``):
- ``facts`` (default): ``extractor.extract_text``; the fact whose evidence is exactly the
  ``occurrence``-th ``mention`` in ``text`` must carry every ``expect`` key (floats within
  a tolerance, lists as sets); ``no_fact: true`` says no fact may overlap the mention.
- ``assert_mention``: ``extractor.assert_mention`` on the mention's offsets.
- ``sentences``: the ``extractor_sentences`` stage alone; ``expect.sentences`` lists the
  sentence texts in order (surrounding whitespace ignored).
Every fact of every ``facts`` case must also cite its evidence exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from spacy.language import Language

import extractor
from extractor.facts import Fact

CASES_DIR = Path(__file__).parent / "cases"
FLOAT_REL = 5e-3  # unit conversions use rounded molar masses and factors
FLOAT_ABS = 1e-6

FACT_KEYS = {
    "concept",
    "kind",
    "assertion",
    "experiencer",
    "temporality",
    "infection_state",
    "time",
    "lab",
    "medication",
    "attrs",
    "section",
    "no_fact",
}
ASSERT_KEYS = {"assertion", "experiencer", "temporality", "section"}

_SINCE = (
    "pipeline/temporal.py resolves 'since X' to X alone and an old date makes the condition historical; "
    "'since X' should be an interval open to the note date"
)
# case id -> why the pipeline cannot meet it yet (a code bug or a rule beyond data).
KNOWN_FAILURES: dict[str, str] = {
    "hist-seizures-since-year-ongoing": _SINCE,
    "time-since-month-long-ago-is-ongoing": _SINCE,
    "hyp-acyclovir-prophylaxis-drug": (
        "pipeline/context.py: rule groups cannot exclude target kinds (medspaCy's excluded_types), "
        "so 'prophylaxis' right after a drug makes the drug hypothetical"
    ),
    "unc-suspected-keeps-drug": (
        "pipeline/context.py: rule groups cannot exclude target kinds, so 'suspected' makes the drug "
        "given for the suspected disease possible (a 'started' terminator would cut family scopes)"
    ),
    "inf-latent-tb-treated": (
        "pipeline/infections.py: a cue inside the mention ('latent' in 'Latent TB') wins at distance 0 "
        "over the sentence's treatment cue"
    ),
    "lab-ppd-positive": (
        "labs.yaml's PPD pattern puts the result word inside the concept span and pipeline/labs.py reads "
        "only after the span, so the result is lost"
    ),
    "sec-labs": (
        "pipeline/sections.py accepts a header only before ':', '-' or a line end; 'Labs (01/08/2025):' is missed"
    ),
    "exp-lives-with-mother-who-smokes": (
        "beyond ConText rules: the relative clause 'who smokes' belongs to the mother, but 'who' "
        "terminates the family trigger's scope"
    ),
}


class PhraseCase(BaseModel):
    """One phrase and what the pipeline must say about one mention in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    text: str = Field(min_length=1)
    note_date: dt.date | None = None
    api: Literal["facts", "assert_mention", "sentences"] = "facts"
    mention: str | None = None
    occurrence: int = Field(default=0, ge=0)
    why: str = ""
    expect: dict[str, Any]

    @model_validator(mode="after")
    def _consistent(self) -> PhraseCase:
        allowed = {"facts": FACT_KEYS, "assert_mention": ASSERT_KEYS, "sentences": {"sentences"}}[self.api]
        unknown = set(self.expect) - allowed
        if unknown:
            raise ValueError(f"case {self.id}: unknown expect keys {sorted(unknown)} for api {self.api}")
        if self.api != "sentences":
            if not self.mention:
                raise ValueError(f"case {self.id}: a mention is required")
            self.span()  # raises when the mention is not in the text often enough
        return self

    def span(self) -> tuple[int, int]:
        """Character offsets of the ``occurrence``-th ``mention`` in ``text``."""
        assert self.mention is not None
        start = -1
        for _ in range(self.occurrence + 1):
            start = self.text.find(self.mention, start + 1)
            if start < 0:
                raise ValueError(f"case {self.id}: mention #{self.occurrence} {self.mention!r} not in text")
        return start, start + len(self.mention)


class CaseFile(BaseModel):
    """A file of cases for one area (negation, labs, medications...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    cases: tuple[PhraseCase, ...]


def load_cases() -> list[tuple[str, PhraseCase]]:
    """Every case of every file, as (file stem, case); ids are unique across files."""
    loaded: list[tuple[str, PhraseCase]] = []
    seen: dict[str, str] = {}
    for path in sorted(CASES_DIR.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            case_file = CaseFile.model_validate(yaml.safe_load(handle))
        for case in case_file.cases:
            if case.id in seen:
                raise ValueError(f"case id {case.id!r} in {path.name} already used in {seen[case.id]}")
            seen[case.id] = path.name
            loaded.append((path.stem, case))
    return loaded


CASES = load_cases()


def _params() -> Iterator[Any]:
    for stem, case in CASES:
        marks = []
        if case.id in KNOWN_FAILURES:
            marks.append(pytest.mark.xfail(reason=KNOWN_FAILURES[case.id], strict=True))
        yield pytest.param(case, id=f"{stem}:{case.id}", marks=marks)


@pytest.fixture(scope="module")
def nlp() -> Language:
    """The full pipeline, built once: loading is the slow part."""
    return extractor.load()


def mismatches(expected: Any, actual: Any, path: str) -> list[str]:
    """Where ``actual`` differs from ``expected``; only the keys ``expected`` names are read."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        found: list[str] = []
        for key, value in expected.items():
            if key not in actual:  # a misspelt key must not pass as "expected null"
                found.append(f"{path}.{key}: no such field")
            else:
                found += mismatches(value, actual[key], f"{path}.{key}")
        return found
    if isinstance(expected, dt.date):
        expected = expected.isoformat()
    if isinstance(expected, list) and any(isinstance(item, dict) for item in expected):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        found = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found += mismatches(want, got, f"{path}[{index}]")
        return found
    if isinstance(expected, list):
        same = isinstance(actual, list) and sorted(map(str, expected)) == sorted(map(str, actual))
    elif isinstance(expected, float | int) and not isinstance(expected, bool):
        same = (
            isinstance(actual, float | int)
            and not isinstance(actual, bool)
            and actual == pytest.approx(expected, rel=FLOAT_REL, abs=FLOAT_ABS)
        )
    else:
        same = expected == actual
    return [] if same else [f"{path}: expected {expected!r}, got {actual!r}"]


def _describe(facts: list[Fact]) -> str:
    return "; ".join(f"{f.evidence.text!r}@{f.evidence.char_start}={f.concept}" for f in facts) or "none"


def _check_facts(case: PhraseCase, nlp: Language) -> None:
    facts = extractor.extract_text(case.text, note_date=case.note_date, nlp=nlp)
    for fact in facts:
        evidence = fact.evidence
        assert case.text[evidence.char_start : evidence.char_end] == evidence.text, (
            f"{fact.concept}: evidence {evidence.text!r} is not the text at its offsets"
        )
    start, end = case.span()
    expect = dict(case.expect)
    if expect.pop("no_fact", False):
        overlapping = [f for f in facts if f.evidence.char_start < end and start < f.evidence.char_end]
        assert not overlapping, f"expected no fact on {case.mention!r}, found {_describe(overlapping)}"
        return
    at_mention = [f for f in facts if (f.evidence.char_start, f.evidence.char_end) == (start, end)]
    assert at_mention, f"no fact on {case.mention!r} at {start}:{end}; facts: {_describe(facts)}"
    fact = at_mention[0]
    actual = fact.model_dump(mode="json")
    actual["section"] = fact.evidence.section
    problems = mismatches(expect, actual, fact.concept)
    assert not problems, "; ".join(problems)


def _check_assertion(case: PhraseCase, nlp: Language) -> None:
    start, end = case.span()
    result = extractor.assert_mention(case.text, start, end, nlp=nlp, note_date=case.note_date)
    problems = mismatches(case.expect, result, case.mention or "")
    assert not problems, "; ".join(problems)


def _check_sentences(case: PhraseCase, nlp: Language) -> None:
    doc = nlp.get_pipe("extractor_sentences")(nlp.make_doc(case.text))
    sentences = [s.text.strip() for s in doc.sents if s.text.strip()]
    assert sentences == case.expect["sentences"]


CHECKS = {"facts": _check_facts, "assert_mention": _check_assertion, "sentences": _check_sentences}


@pytest.mark.parametrize("case", list(_params()))
def test_phrase_case(case: PhraseCase, nlp: Language) -> None:
    """The pipeline says what the phrase means."""
    CHECKS[case.api](case, nlp)


def test_known_failures_name_real_cases() -> None:
    """A stale entry would hide nothing and mislead; every listed id must be a case."""
    ids = {case.id for _, case in CASES}
    assert set(KNOWN_FAILURES) <= ids, sorted(set(KNOWN_FAILURES) - ids)
