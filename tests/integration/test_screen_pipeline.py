"""Screening through the real pipeline: notes in, verdicts out, evidence exact."""

from __future__ import annotations

import datetime as dt

import pytest
from spacy.language import Language

from extractor.notes import Note
from extractor.screening import PatientVerdict, load_trial, screen

NOTE_1 = (
    "14 yo F with SLE diagnosed 2022.\n"
    "Meds: prednisone 10 mg daily, hydroxychloroquine 200 mg bid.\n"
    "Labs: Hgb 7.2 g/dL, Plt 180 K/uL.\n"
)
NOTE_2 = (
    "Follow-up.\n"
    "Labs 2025-02-14: Hgb 9.6 g/dL, ALC 0.9 x10^9/L, IgG 9.8 g/L.\n"
    "No seizures. Mother has breast cancer. Denies depression.\n"
    "ANA 1:640 speckled.\n"
)


@pytest.fixture(scope="module")
def verdict(nlp: Language) -> PatientVerdict:
    notes = [
        Note(patient_id="P1", note_id="P1-N1", text=NOTE_1, date=dt.date(2024, 11, 5), sex="F",
             birth_date=dt.date(2010, 6, 2)),
        Note(patient_id="P1", note_id="P1-N2", text=NOTE_2, date=dt.date(2025, 2, 14)),
    ]
    (result,) = screen(notes, load_trial("blinatumomab-sle"), nlp=nlp)
    return result


def test_every_criterion_is_judged_with_exact_evidence(verdict: PatientVerdict) -> None:
    texts = {"P1-N1": NOTE_1, "P1-N2": NOTE_2}
    assert [c.id for c in verdict.criteria] == [c.id for c in load_trial("blinatumomab-sle").criteria]
    for criterion in verdict.criteria:
        for ev in criterion.evidence:
            assert texts[ev.note_id][ev.char_start : ev.char_end] == ev.text
    assert verdict.screening_date == dt.date(2025, 2, 14)


def test_latest_result_wins_and_is_cited_alone(verdict: PatientVerdict) -> None:
    """The latest sure result decides and is what a reviewer checks; the older one it
    supersedes is not cited (GUIDELINES section 11, fifth pass: "the latest lab decides alone")."""
    hemoglobin = verdict.result("inc-hemoglobin")
    assert hemoglobin.status.value == "met"
    assert [e.note_id for e in hemoglobin.evidence] == ["P1-N2"]
    assert "96 g/L" in hemoglobin.reason


def test_family_history_and_negations_do_not_count_as_the_patients(verdict: PatientVerdict) -> None:
    assert verdict.result("exc-malignancy").status.value == "not_met"
    assert verdict.result("exc-malignancy").evidence == ()
    assert verdict.result("exc-cns-lupus").status.value == "not_met"
    assert verdict.result("exc-depression-suicidality").status.value == "not_met"


def test_values_from_the_notes_decide(verdict: PatientVerdict) -> None:
    assert verdict.result("inc-age").status.value == "met"
    assert verdict.result("inc-sle-diagnosis").status.value == "met"
    assert verdict.result("exc-low-igg").status.value == "not_met"
    assert verdict.result("inc-autoantibody").status.value == "met"
    assert verdict.overall.value == "needs_review"
