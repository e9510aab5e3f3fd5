"""Whole patients screened end to end (facts in, CONTRACT verdicts out) against golden files.

Each patient of ``screen/patients.yaml`` is screened against its trials and must give
exactly the verdict line in ``screen/<trial>.verdicts.jsonl``. To accept a deliberate
change, run with ``UPDATE_GOLDEN=1`` and review the diff of the golden files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import load_module

from extractor.screening import load_trial, screen_patient

HERE = Path(__file__).parent / "screen"
TRIALS = ("blinatumomab-sle", "n2c2-2018")


def _chart_builder() -> Any:
    """The unit tests' chart builder (tests/unit/screening/screening_chart.py)."""
    path = Path(__file__).parents[1] / "unit" / "screening" / "screening_chart.py"
    return load_module(path, "screening_chart").build_chart


build_chart = _chart_builder()
PATIENTS = yaml.safe_load((HERE / "patients.yaml").read_text(encoding="utf-8"))


def verdicts(trial_name: str) -> list[dict[str, Any]]:
    trial = load_trial(trial_name)
    lines = []
    for patient in PATIENTS:
        if trial_name in patient["trials"]:
            notes, facts = build_chart(patient, patient["patient_id"])
            lines.append(screen_patient(notes, facts, trial).to_contract_dict())
    return lines


@pytest.mark.parametrize("trial_name", TRIALS)
def test_golden_verdicts(trial_name: str) -> None:
    golden = HERE / f"{trial_name}.verdicts.jsonl"
    produced = verdicts(trial_name)
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text("".join(json.dumps(v, ensure_ascii=False) + "\n" for v in produced), encoding="utf-8")
    expected = [json.loads(line) for line in golden.read_text(encoding="utf-8").splitlines()]
    assert [v["patient_id"] for v in produced] == [v["patient_id"] for v in expected]
    for got, want in zip(produced, expected, strict=True):
        assert got["overall"] == want["overall"], got["patient_id"]
        for got_c, want_c in zip(got["criteria"], want["criteria"], strict=True):
            assert got_c == want_c, f"{got['patient_id']} {got_c['id']}"
        assert got == want


def test_golden_evidence_is_exact() -> None:
    texts = {
        note_id: spec["text"] for patient in PATIENTS for note_id, spec in patient["notes"].items()
    }
    for trial_name in TRIALS:
        golden = HERE / f"{trial_name}.verdicts.jsonl"
        for line in golden.read_text(encoding="utf-8").splitlines():
            for criterion in json.loads(line)["criteria"]:
                for ev in criterion["evidence"]:
                    assert texts[ev["note_id"]][ev["start"] : ev["end"]] == ev["text"]
