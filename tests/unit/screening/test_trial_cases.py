"""Every criterion of each bundled trial, judged on small charts (cases/<trial>.yaml)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from screening_chart import build_chart

from extractor.screening import Trial, load_trial, screen_patient

CASES = Path(__file__).parent / "cases"
TRIALS = ("blinatumomab-sle", "n2c2-2018")


@functools.cache
def trial(name: str) -> Trial:
    return load_trial(name)


def cases(name: str) -> list[Any]:
    items = yaml.safe_load((CASES / f"{name}.yaml").read_text(encoding="utf-8"))
    return [
        pytest.param(name, item, id=f"{name}:{item['criterion']}:{item['name']}") for item in items
    ]


@pytest.mark.parametrize(("trial_name", "case"), [p for t in TRIALS for p in cases(t)])
def test_criterion_case(trial_name: str, case: dict[str, Any]) -> None:
    notes, facts = build_chart(case)
    verdict = screen_patient(notes, facts, trial(trial_name), case.get("screening"))
    result = verdict.result(case["criterion"])
    assert result.status.value == case["expect"], result.reason
    for words in case.get("reason", []):
        assert words in result.reason
    if "cites" in case:
        assert sorted(e.text for e in result.evidence) == sorted(case["cites"]), result.reason
    texts = {note.note_id: note.text for note in notes}
    for evidence in result.evidence:
        assert texts[evidence.note_id][evidence.char_start : evidence.char_end] == evidence.text


@pytest.mark.parametrize("trial_name", TRIALS)
def test_every_status_is_covered(trial_name: str) -> None:
    """Each criterion judged from the chart has a met, a not_met and an unknown case."""
    seen: dict[str, set[str]] = {}
    for param in cases(trial_name):
        case = param.values[1]
        seen.setdefault(case["criterion"], set()).add(case["expect"])
    for criterion in trial(trial_name).criteria:
        wanted = {"unknown"} if criterion.person_only else {"met", "not_met", "unknown"}
        assert wanted <= seen.get(criterion.id, set()), criterion.id
