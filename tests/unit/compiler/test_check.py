"""``unexpressed`` semantics and the trial linter."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from extractor.compiler.check import lint, possible, silence_status
from extractor.screening import evaluate_criterion
from extractor.screening.errors import TrialError
from extractor.screening.language import load_trial_file
from extractor.screening.outcome import Status
from extractor.screening.patient import PatientRecord
from extractor.screening.predicates import Context

HEADER = """schema: trial/v1
name: t
title: t
description: t
version: 1
source: t
license: t
criteria:
"""


def _trial(tmp_path: Path, criteria: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "t.yaml"
    path.write_text(HEADER + criteria, encoding="utf-8")
    return load_trial_file(path)


def _empty() -> Context:
    return Context(PatientRecord([], [], dt.date(2025, 1, 1)))


@pytest.mark.parametrize(
    ("rule", "absent", "expected"),
    [
        # silence decides the expressed part (not met): the unexpressed part cannot rescue it
        ("{all: [{present: {concept: seizure}}, {unexpressed: severe}]}", "not_met", Status.NOT_MET),
        # open world: silence is unknown, so the criterion is unknown
        ("{all: [{present: {concept: seizure}}, {unexpressed: severe}]}", "unknown", Status.UNKNOWN),
        # any: nothing expressed holds, the unexpressed part might
        ("{any: [{present: {concept: seizure}}, {unexpressed: other disease}]}", "not_met", Status.UNKNOWN),
        # alone: never decided from the chart, never silent
        ("{unexpressed: investigator judgement}", "not_met", Status.UNKNOWN),
    ],
)
def test_unexpressed_is_unknown_unless_the_rest_decides(
    tmp_path: Path, rule: str, absent: str, expected: Status
) -> None:
    trial = _trial(tmp_path, f"  - id: c\n    type: exclusion\n    text: x\n    absent: {absent}\n    rule: {rule}\n")
    result = evaluate_criterion(trial.criteria[0], _empty())
    assert result.status is expected
    assert result.evidence == ()


def test_unexpressed_needs_words(tmp_path: Path) -> None:
    with pytest.raises(TrialError, match="unexpressed takes the words"):
        _trial(tmp_path, "  - id: c\n    type: exclusion\n    text: x\n    absent: unknown\n"
                         "    rule: {unexpressed: ' '}\n")


def test_lint_finds_never_met_and_silence(tmp_path: Path) -> None:
    trial = _trial(tmp_path, """  - id: never
    type: inclusion
    text: x
    absent: unknown
    rule: {lab: {concept: hemoglobin, compare: [">= 12 g/dL", "< 9 g/dL"]}}
  - id: partial
    type: inclusion
    text: x
    absent: unknown
    rule: {all: [{present: {concept: seizure}}, {unexpressed: severe}]}
  - id: silence-passes
    type: inclusion
    text: x
    absent: met
    rule: {present: {concept: seizure}}
""")
    found = {(p.criterion, p.level, p.message.split(" (")[0].split(":")[0]) for p in lint(trial)}
    assert ("never", "error", "can never be met") in found
    assert any(c == "partial" and level == "warning" for c, level, _ in found)
    assert ("silence-passes", "warning", "silence passes it") in found
    assert Status.MET not in possible(trial.criteria[1].rule)  # type: ignore[arg-type]
    assert silence_status(trial.criteria[2]) is Status.MET


def test_bundled_trials_lint_without_errors() -> None:
    from extractor.screening import load_trial

    for name in ("blinatumomab-sle", "n2c2-2018"):
        assert [p for p in lint(load_trial(name)) if p.level == "error"] == []
