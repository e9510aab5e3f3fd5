"""The overall verdict and the CONTRACT JSON of a patient's verdict."""

from __future__ import annotations

import datetime as dt

import pytest
from screening_chart import build_chart

from extractor.facts import Evidence
from extractor.screening import load_trial, screen_patient
from extractor.screening.outcome import Status
from extractor.screening.verdict import CriterionResult, Overall, PatientVerdict, overall_of

MET, NOT, UNK = Status.MET, Status.NOT_MET, Status.UNKNOWN


def result(cid: str, kind: str, status: Status, person_only: bool = False) -> CriterionResult:
    return CriterionResult(cid, kind, status, "r", person_only=person_only)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([result("i", "inclusion", MET), result("e", "exclusion", NOT)], Overall.CANDIDATE),
        ([result("i", "inclusion", NOT), result("e", "exclusion", NOT)], Overall.INELIGIBLE),
        ([result("i", "inclusion", MET), result("e", "exclusion", MET)], Overall.INELIGIBLE),
        ([result("i", "inclusion", UNK), result("e", "exclusion", MET)], Overall.INELIGIBLE),
        ([result("i", "inclusion", UNK), result("e", "exclusion", NOT)], Overall.NEEDS_REVIEW),
        ([result("i", "inclusion", MET), result("c", "inclusion", UNK, person_only=True)], Overall.CANDIDATE),
        ([result("i", "inclusion", MET), result("e", "exclusion", UNK)], Overall.NEEDS_REVIEW),
    ],
)
def test_overall(results: list[CriterionResult], expected: Overall) -> None:
    assert overall_of(tuple(results)) is expected


def test_contract_dict_shape() -> None:
    evidence = Evidence(note_id="P1-N2", char_start=812, char_end=824, text="Hgb 9.6 g/dL", section="labs")
    verdict = PatientVerdict(
        "P1", "blinatumomab-sle", dt.date(2025, 3, 1),
        (CriterionResult("inc-hemoglobin", "inclusion", MET, "Hemoglobin 96 g/L", (evidence,)),),
    )
    assert verdict.to_contract_dict() == {
        "patient_id": "P1",
        "trial": "blinatumomab-sle",
        "screening_date": "2025-03-01",
        "overall": "candidate",
        "criteria": [{
            "id": "inc-hemoglobin", "type": "inclusion", "status": "met", "reason": "Hemoglobin 96 g/L",
            "evidence": [{"note_id": "P1-N2", "start": 812, "end": 824, "text": "Hgb 9.6 g/dL", "section": "labs"}],
        }],
    }


def test_every_criterion_is_in_the_verdict_in_trial_order() -> None:
    trial = load_trial("blinatumomab-sle")
    notes, facts = build_chart({"facts": [{"kind": "condition", "concept": "sle", "text": "SLE"}]})
    out = screen_patient(notes, facts, trial).to_contract_dict()
    assert [c["id"] for c in out["criteria"]] == [c.id for c in trial.criteria]
    assert out["overall"] == "needs_review"
    assert {c["status"] for c in out["criteria"] if c["id"] in ("inc-consent", "exc-investigator-judgement")} == {
        "unknown"
    }


def test_undated_chart_has_no_screening_date_and_windows_stay_open() -> None:
    notes, facts = build_chart({
        "notes": {"N1": None},
        "facts": [
            {"kind": "condition", "concept": "sle", "text": "SLE"},
            {"kind": "condition", "concept": "seizure", "text": "seizure"},
        ],
    })
    verdict = screen_patient(notes, facts, load_trial("blinatumomab-sle"))
    assert verdict.screening_date is None
    assert verdict.to_contract_dict()["screening_date"] is None
    assert verdict.result("inc-sle-diagnosis").status is MET
    cns = verdict.result("exc-cns-lupus")
    assert (cns.status, cns.evidence[0].text) == (UNK, "seizure")
    assert "no screening date" in cns.reason
