"""Phrase cases: short clinical phrases and what they must mean, scored per file (per class).

A case file (``tests/regression/cases/*.yaml``) holds the cases of one area or one error
class of issue 14 (lab rows, trial talk, negation scope...). Each case names a phrase, the
mention in it and the fact attributes the pipeline must give it. The regression suite runs
every case as a test; ``extractor evaluate cases`` reports how many pass per file, so a
class's state is one number a coordinator can read.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from extractor.evaluation.report import Column, Report, Table

FLOAT_REL = 5e-3  # unit conversions use rounded molar masses and factors
FLOAT_ABS = 1e-6
FACT_KEYS = {
    "concept", "kind", "assertion", "experiencer", "temporality", "infection_state", "time", "lab",
    "medication", "attrs", "section", "no_fact",
}
ASSERT_KEYS = {"assertion", "experiencer", "temporality", "section"}


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
    """A file of cases for one area (negation, labs, medications...) or one error class."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    cases: tuple[PhraseCase, ...]


def load_cases(directory: Path) -> list[tuple[str, PhraseCase]]:
    """Every case of every file, as (file stem, case); ids are unique across files."""
    loaded: list[tuple[str, PhraseCase]] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            case_file = CaseFile.model_validate(yaml.safe_load(handle))
        for case in case_file.cases:
            if case.id in seen:
                raise ValueError(f"case id {case.id!r} in {path.name} already used in {seen[case.id]}")
            seen[case.id] = path.name
            loaded.append((path.stem, case))
    return loaded


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
            and abs(actual - expected) <= max(FLOAT_REL * abs(expected), FLOAT_ABS)
            and math.isfinite(actual)
        )
    else:
        same = expected == actual
    return [] if same else [f"{path}: expected {expected!r}, got {actual!r}"]


def _describe(facts: list[Any]) -> str:
    return "; ".join(f"{f.evidence.text!r}@{f.evidence.char_start}={f.concept}" for f in facts) or "none"


def _check_facts(case: PhraseCase, nlp: Any) -> list[str]:
    import extractor

    facts = extractor.extract_text(case.text, note_date=case.note_date, nlp=nlp)
    for fact in facts:
        evidence = fact.evidence
        if case.text[evidence.char_start : evidence.char_end] != evidence.text:
            return [f"{fact.concept}: evidence {evidence.text!r} is not the text at its offsets"]
    start, end = case.span()
    expect = dict(case.expect)
    if expect.pop("no_fact", False):
        overlapping = [f for f in facts if f.evidence.char_start < end and start < f.evidence.char_end]
        return [f"expected no fact on {case.mention!r}, found {_describe(overlapping)}"] if overlapping else []
    at_mention = [f for f in facts if (f.evidence.char_start, f.evidence.char_end) == (start, end)]
    if not at_mention:
        return [f"no fact on {case.mention!r} at {start}:{end}; facts: {_describe(facts)}"]
    fact = at_mention[0]
    actual = fact.model_dump(mode="json")
    actual["section"] = fact.evidence.section
    return mismatches(expect, actual, fact.concept)


def _check_assertion(case: PhraseCase, nlp: Any) -> list[str]:
    import extractor

    start, end = case.span()
    result = extractor.assert_mention(case.text, start, end, nlp=nlp, note_date=case.note_date)
    return mismatches(case.expect, result, case.mention or "")


def _check_sentences(case: PhraseCase, nlp: Any) -> list[str]:
    doc = nlp.get_pipe("extractor_sentences")(nlp.make_doc(case.text))
    sentences = [s.text.strip() for s in doc.sents if s.text.strip()]
    wanted = case.expect["sentences"]
    return [] if sentences == wanted else [f"sentences: expected {wanted!r}, got {sentences!r}"]


CHECKS: dict[str, Callable[[PhraseCase, Any], list[str]]] = {
    "facts": _check_facts,
    "assert_mention": _check_assertion,
    "sentences": _check_sentences,
}


def check_case(case: PhraseCase, nlp: Any) -> list[str]:
    """What the pipeline gets wrong about the case's mention; empty when it is right."""
    return CHECKS[case.api](case, nlp)


def evaluate_cases(directory: Path, nlp: Any) -> Report:
    """Cases passed per file: one row per area or error class, failures listed by id."""
    per_file: dict[str, list[tuple[str, list[str]]]] = {}
    for stem, case in load_cases(directory):
        per_file.setdefault(stem, []).append((case.id, check_case(case, nlp)))
    rows = []
    metrics: dict[str, float | int | None] = {}
    failures = []
    for stem, results in per_file.items():
        passed = sum(1 for _, problems in results if not problems)
        rows.append({"file": stem, "cases": len(results), "passed": passed, "pass_rate": passed / len(results)})
        metrics[f"class.{stem}.pass_rate"] = passed / len(results)
        failures += [{"file": stem, "case": cid, "problem": "; ".join(p)[:200]} for cid, p in results if p]
    total = sum(r["cases"] for r in rows)
    passed_all = sum(r["passed"] for r in rows)
    metrics["cases"] = total
    metrics["pass_rate"] = passed_all / total if total else None
    return Report(
        title="Phrase cases against the pipeline",
        metrics=metrics,
        lines=(f"{passed_all} of {total} cases pass in {len(rows)} files",),
        tables=(
            Table(
                "Per file (area or error class)",
                (Column("file", "file"), Column("cases", "cases"), Column("passed", "passed"),
                 Column("pass_rate", "pass rate", ratio=True)),
                tuple(rows),
            ),
            Table(
                "Failing cases",
                (Column("file", "file"), Column("case", "case"), Column("problem", "problem")),
                tuple(failures),
                caption="known failures of the suite (strict xfail) are listed here too",
            ),
        ),
    )
