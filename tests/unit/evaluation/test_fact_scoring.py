"""Scoring facts against brat gold, on hand-built facts: spans, attributes, errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from extractor.evaluation.brat import parse_ann
from extractor.evaluation.facts import evaluate_facts, match, within_tolerance
from extractor.evaluation.gold import GoldNote
from extractor.facts import (
    Assertion,
    Evidence,
    Fact,
    Kind,
    LabResult,
    MedicationDetails,
    MedStatus,
    TimeRef,
)

TEXT = "Hgb 9.6 g/dL on 2025-02-10. No lupus nephritis. Mother with breast cancer. Prednisone 10 mg daily, stopped."
NOTE_DATE = dt.date(2025, 2, 14)


def _span(phrase: str) -> tuple[int, int]:
    start = TEXT.index(phrase)
    return start, start + len(phrase)


def _t_line(ref: str, entity_type: str, phrase: str) -> str:
    start, end = _span(phrase)
    return f"{ref}\t{entity_type} {start} {end}\t{phrase}"


GOLD_ANN = "\n".join(
    [
        _t_line("T1", "Lab", "Hgb"),
        _t_line("T2", "Condition", "lupus nephritis"),
        _t_line("T3", "Condition", "breast cancer"),
        _t_line("T4", "Medication", "Prednisone"),
        "A1\tAssertion T2 absent",
        "A2\tExperiencer T3 family",
        "A3\tMedStatus T4 stopped",
        "#1\tAnnotatorNotes T1\tconcept=hemoglobin; value=9.6; unit=g/dL; canonical_value=96; "
        "canonical_unit=g/L; date=2025-02-10",
        "#2\tAnnotatorNotes T2\tconcept=lupus_nephritis",
        "#3\tAnnotatorNotes T3\tconcept=breast_cancer",
        "#4\tAnnotatorNotes T4\tconcept=prednisone",
    ]
)


def gold_note() -> GoldNote:
    return GoldNote(
        note_id="n1",
        text=TEXT,
        entities=tuple(parse_ann(GOLD_ANN, TEXT, "n1.ann")),
        patient_id="P1",
        date=NOTE_DATE,
    )


def fact(kind: Kind, concept: str, phrase: str, **fields: Any) -> Fact:
    start, end = _span(phrase)
    evidence = Evidence(note_id="n1", char_start=start, char_end=end, text=phrase)
    return Fact(
        kind=kind,
        concept=concept,
        label=concept,
        evidence=evidence,
        note_date=NOTE_DATE,
        **fields,
    )


def hemoglobin(phrase: str = "Hgb", canonical: float = 96.0, **fields: Any) -> Fact:
    lab = LabResult(value=9.6, unit="g/dL", canonical_value=canonical, canonical_unit="g/L")
    return fact(Kind.LAB, "hemoglobin", phrase, lab=lab, time=TimeRef(date=dt.date(2025, 2, 10)), **fields)


def prednisone(status: MedStatus = MedStatus.STOPPED) -> Fact:
    details = MedicationDetails(ingredient="prednisone", status=status)
    return fact(Kind.MEDICATION, "prednisone", "Prednisone", medication=details)


def perfect() -> list[Fact]:
    return [
        hemoglobin(),
        fact(Kind.CONDITION, "lupus_nephritis", "lupus nephritis", assertion=Assertion.ABSENT),
        fact(Kind.CONDITION, "breast_cancer", "breast cancer", experiencer="family"),
        prednisone(),
    ]


def test_perfect_prediction_scores_one_everywhere_and_lists_no_error() -> None:
    result = evaluate_facts([gold_note()], {"n1": perfect()})
    metrics = result.metrics()
    assert (metrics["exact.all.f1"], metrics["overlap.all.f1"]) == (1.0, 1.0)
    assert result.errors == []
    assert {name: (t.correct, t.total) for name, t in result.attributes.items()} == {
        "concept": (4, 4),
        "assertion": (4, 4),
        "experiencer": (4, 4),
        "temporality": (4, 4),
        "med_status": (1, 1),
        "response": (1, 1),
        "value": (1, 1),
        "canonical_value": (1, 1),
        "unit": (1, 1),
        "canonical_unit": (1, 1),
        "date": (1, 1),
    }


def test_a_wider_span_matches_by_overlap_only_and_is_listed_as_a_boundary_error() -> None:
    facts = [hemoglobin("Hgb 9.6 g/dL"), *perfect()[1:]]
    result = evaluate_facts([gold_note()], {"n1": facts})
    lab_exact, lab_overlap = result.exact[Kind.LAB], result.overlap[Kind.LAB]
    assert (lab_exact.tp, lab_exact.fp, lab_exact.fn) == (0, 1, 1)
    assert (lab_overlap.tp, lab_overlap.fp, lab_overlap.fn) == (1, 0, 0)
    assert result.metrics()["exact.all.precision"] == pytest.approx(3 / 4)
    assert [(e.error, e.gold_span, e.predicted_span) for e in result.errors] == [("boundary", "0-3", "0-12")]


def test_same_span_of_another_kind_is_both_missed_and_spurious() -> None:
    facts = [fact(Kind.PROCEDURE, "prednisone", "Prednisone"), *perfect()[:3]]
    result = evaluate_facts([gold_note()], {"n1": facts})
    assert (result.overlap[Kind.MEDICATION].fn, result.overlap[Kind.PROCEDURE].fp) == (1, 1)
    assert sorted(e.error for e in result.errors) == ["missed", "spurious"]
    assert result.metrics()["overlap.all.recall"] == pytest.approx(3 / 4)
    assert result.metrics()["overlap.procedure.precision"] == 0.0


def test_overlap_matching_is_one_to_one_largest_overlap_first() -> None:
    facts = [
        *perfect(),
        fact(Kind.CONDITION, "sle", "lupus"),  # overlaps the already-matched gold span
    ]
    result = evaluate_facts([gold_note()], {"n1": facts})
    condition = result.overlap[Kind.CONDITION]
    assert (condition.tp, condition.fp, condition.fn) == (2, 1, 0)
    assert [(e.error, e.predicted_text) for e in result.errors] == [("spurious", "lupus")]


def test_greedy_matching_gives_the_prediction_to_the_gold_it_overlaps_most() -> None:
    from extractor.evaluation.facts import _Item

    gold = [_Item("n", Kind.CONDITION, 0, 10, "a", 0), _Item("n", Kind.CONDITION, 8, 20, "b", 1)]
    predicted = [_Item("n", Kind.CONDITION, 5, 18, "a", 0)]
    assert match(gold, predicted, exact=False) == [(1, 0)]
    assert match(gold, predicted, exact=True) == []


@pytest.mark.parametrize(
    ("predicted", "agrees"),
    [(96.0, True), (97.9, True), (94.1, True), (98.0, False), (None, False)],
)
def test_normalised_values_agree_within_two_percent_of_gold(predicted: float | None, agrees: bool) -> None:
    assert within_tolerance(96.0, predicted) is agrees


@pytest.mark.parametrize(
    ("gold_date", "time", "note_date", "agrees"),
    [
        pytest.param("2025-02-10", TimeRef(date=dt.date(2025, 2, 10)), None, True, id="point"),
        pytest.param("2025-02-10", TimeRef(date=dt.date(2025, 2, 11)), None, False, id="other-point"),
        pytest.param(
            "2025-02-10",
            TimeRef(start=dt.date(2025, 2, 1), end=dt.date(2025, 2, 28)),
            None,
            True,
            id="interval",
        ),
        pytest.param("2025-02-10", TimeRef(start=dt.date(2025, 2, 11)), None, False, id="interval-after"),
        pytest.param("2025-02-10", TimeRef(end=dt.date(2025, 2, 11)), None, True, id="open-start"),
        pytest.param("2025-02-10", None, dt.date(2025, 2, 10), True, id="note-date"),
        pytest.param("2025-02-10", None, None, False, id="no-date-at-all"),
        pytest.param("2025-02-10", TimeRef(text="recently"), dt.date(2025, 2, 10), False, id="unresolved"),
        pytest.param("2025-02", TimeRef(date=dt.date(2025, 2, 27)), None, True, id="day-in-gold-month"),
        pytest.param("2025-02", TimeRef(date=dt.date(2025, 3, 1)), None, False, id="day-after-gold-month"),
        pytest.param(
            "2025",
            TimeRef(start=dt.date(2024, 12, 1), end=dt.date(2025, 1, 31)),
            None,
            True,
            id="interval-meets-gold-year",
        ),
    ],
)
def test_dates_agree_when_the_gold_day_month_or_year_meets_the_prediction(
    gold_date: str, time: TimeRef | None, note_date: dt.date | None, agrees: bool
) -> None:
    lab = LabResult(value=9.6, unit="g/dL", canonical_value=96.0, canonical_unit="g/L")
    start, end = _span("Hgb")
    hgb = Fact(
        kind=Kind.LAB,
        concept="hemoglobin",
        label="Hgb",
        lab=lab,
        time=time,
        note_date=note_date,
        evidence=Evidence(note_id="n1", char_start=start, char_end=end, text="Hgb"),
    )
    entities = parse_ann(GOLD_ANN.replace("date=2025-02-10", f"date={gold_date}"), TEXT)
    note = GoldNote(note_id="n1", text=TEXT, entities=tuple(entities), patient_id="P1")
    result = evaluate_facts([note], {"n1": [hgb, *perfect()[1:]]})
    assert result.attributes["date"].correct == int(agrees)


def test_attribute_disagreements_are_counted_and_listed_with_both_values() -> None:
    facts = [
        hemoglobin(canonical=99.0),
        fact(Kind.CONDITION, "lupus_nephritis", "lupus nephritis"),  # negation missed
        fact(Kind.CONDITION, "malignancy", "breast cancer", experiencer="family"),
        prednisone(MedStatus.CURRENT),
    ]
    result = evaluate_facts([gold_note()], {"n1": facts})
    assert result.metrics()["overlap.all.f1"] == 1.0
    assert result.attributes["assertion"].accuracy == pytest.approx(3 / 4)
    assert result.attributes["concept"].accuracy == pytest.approx(3 / 4)
    assert result.attributes["med_status"].accuracy == 0.0
    assert result.attributes["canonical_value"].accuracy == 0.0
    assert [(e.error, e.detail) for e in result.errors] == [
        ("canonical_value", "gold 96.0, predicted 99.0"),
        ("assertion", "gold absent, predicted present"),
        ("concept", "gold breast_cancer, predicted malignancy"),
        ("med_status", "gold stopped, predicted current"),
    ]


def test_a_note_without_predictions_counts_every_gold_fact_missed() -> None:
    result = evaluate_facts([gold_note()], {})
    assert result.metrics()["overlap.all.recall"] == 0.0
    assert result.metrics()["overlap.all.precision"] is None  # nothing predicted: undefined
    assert [e.error for e in result.errors] == ["missed"] * 4


def test_predicted_evidence_that_is_not_the_note_text_is_counted() -> None:
    start, end = _span("Hgb")
    forged = Fact(
        kind=Kind.LAB,
        concept="hemoglobin",
        label="Hgb",
        evidence=Evidence(note_id="n1", char_start=start, char_end=end, text="HGB"),
    )
    result = evaluate_facts([gold_note()], {"n1": [forged, *perfect()[1:]]})
    assert result.evidence_mismatched == 1


def test_report_shows_per_kind_rows_and_limits_the_error_list() -> None:
    result = evaluate_facts([gold_note()], {})
    report = result.to_report(max_errors=2)
    spans, attributes, errors = report.tables
    assert [row["kind"] for row in spans.rows] == ["condition", "medication", "lab", "all (micro)"]
    assert spans.rows[-1]["gold"] == 4
    assert attributes.rows == ()
    assert len(errors.rows) == 2
    assert errors.caption == "showing 2 of 4 errors"


def test_a_gold_scope_sets_aside_unmatched_facts_of_other_concepts() -> None:
    lone = Fact(  # the closing full stop: overlaps no gold fact
        kind=Kind.CONDITION, concept="chest_pain", label="chest pain",
        evidence=Evidence(note_id="n1", char_start=len(TEXT) - 1, char_end=len(TEXT), text=TEXT[-1]),
    )
    scope = frozenset(e.concept for e in gold_note().entities)
    unscoped = evaluate_facts([gold_note()], {"n1": [*perfect(), lone]})
    scoped = evaluate_facts([gold_note()], {"n1": [*perfect(), lone]}, scope)
    assert unscoped.overlap[Kind.CONDITION].fp == 1
    assert (scoped.overlap[Kind.CONDITION].fp, scoped.outside_gold) == (0, 1)


def test_a_gold_scope_does_not_judge_the_concept_of_an_outside_match() -> None:
    facts = [*perfect()]
    facts[1] = facts[1].model_copy(update={"concept": "glomerulonephritis"})
    scope = frozenset(e.concept for e in gold_note().entities)
    assert evaluate_facts([gold_note()], {"n1": facts}).attributes["concept"].accuracy < 1.0
    scoped = evaluate_facts([gold_note()], {"n1": facts}, scope)
    assert (scoped.attributes["concept"].accuracy, scoped.concept_outside_gold) == (1.0, 1)


def test_the_dev_corpus_declares_its_scope() -> None:
    from extractor.evaluation.facts import read_scope

    scope = read_scope(Path(__file__).parents[3] / "corpora" / "dev")
    assert scope is not None and {"sle", "hemoglobin", "age", "tobacco_use"} <= scope
    assert "chest_pain" not in scope
    assert read_scope(Path(__file__).parent) is None


@pytest.mark.parametrize(("predicted_high", "correct"), [(50.0, 1), (None, 0), (55.0, 0)])
def test_a_written_range_scores_its_upper_end_as_value_high(predicted_high: float | None, correct: int) -> None:
    text = "EF 45% to 50%."
    ann = "T1\tLab 0 2\tEF\n#1\tAnnotatorNotes T1\tconcept=lvef; value=45; value_high=50; unit=%"
    note = GoldNote(note_id="n1", text=text, entities=tuple(parse_ann(ann, text, "n1.ann")), patient_id="P1",
                    date=NOTE_DATE)
    evidence = Evidence(note_id="n1", char_start=0, char_end=2, text="EF")
    lab = LabResult(value=45.0, value_high=predicted_high, unit="%")
    predicted = Fact(kind=Kind.LAB, concept="lvef", label="lvef", evidence=evidence, note_date=NOTE_DATE, lab=lab)
    tally = evaluate_facts([note], {"n1": [predicted]}).attributes["value_high"]
    assert (tally.correct, tally.total) == (correct, 1)


def test_a_concept_alias_agrees_with_the_id_it_names() -> None:
    from extractor.evaluation.facts import canonical_concept
    from extractor.resources import load_concept_aliases

    alias, concept = next(iter(load_concept_aliases().aliases.items()))
    assert canonical_concept(alias) == canonical_concept(concept) == concept
    facts = [*perfect()]
    facts[1] = facts[1].model_copy(update={"concept": "glomerulonephritis"})
    assert evaluate_facts([gold_note()], {"n1": facts}).attributes["concept"].accuracy < 1.0
    text = "Prior radiotherapy."
    ann = f"T1\tProcedure 6 18\tradiotherapy\n#1\tAnnotatorNotes T1\tconcept={alias}"
    note = GoldNote(note_id="n2", text=text, entities=tuple(parse_ann(ann, text, "n2.ann")), patient_id="P1",
                    date=NOTE_DATE)
    fact = Fact(kind=Kind.PROCEDURE, concept=concept, label=concept,
                evidence=Evidence(note_id="n2", char_start=6, char_end=18, text="radiotherapy"))
    assert evaluate_facts([note], {"n2": [fact]}).attributes["concept"].accuracy == 1.0
