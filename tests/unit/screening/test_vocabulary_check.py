"""Trial files checked against the vocabulary at load (T011), and the hierarchy in screening."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from extractor.facts import Evidence, Fact, Kind
from extractor.screening import load_trial
from extractor.screening.errors import TrialError
from extractor.screening.patient import PatientRecord

HEADER = """schema: trial/v1
name: tiny
title: A tiny trial
description: For tests.
version: 1
source: Written for tests.
license: Apache-2.0
criteria:
"""


def _trial(tmp_path: Path, rule: str) -> Path:
    path = tmp_path / "tiny.yaml"
    body = f"  - id: exc-1\n    type: exclusion\n    text: t\n    absent: not_met\n    rule:\n      {rule}\n"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("present: {concept: seizur, window: 60 days}", r"unknown concept 'seizur'\. Did you mean seizure"),
        ("medication: {classes: [calcium_channel_blockers]}", r"unknown class 'calcium_channel_blockers'\. "
         r"Did you mean calcium_channel_blocker"),
        ("lab: {concept: hemoglobn, compare: '>= 80 g/L'}", r"unknown concept 'hemoglobn'\. Did you mean hemoglobin"),
        ("lab: {concept: sle, compare: '>= 80 g/L'}", r"unknown lab 'sle'"),
        ("present: {concept: sle, exclude: [lupus_nephritsi]}", r"unknown concept or class 'lupus_nephritsi'"),
    ],
)
def test_an_unknown_id_fails_the_load_naming_file_line_and_criterion(
    tmp_path: Path, rule: str, message: str
) -> None:
    path = _trial(tmp_path, rule)
    with pytest.raises(TrialError, match=r"\[T011\] .*tiny\.yaml, line 14, criterion 'exc-1': " + message):
        load_trial(path)


@pytest.mark.parametrize(
    "rule",
    [
        "present: {concept: smoking}",  # an alias of tobacco_use
        "present: {concept: [cardiomyopathy, chronic_liver_disease, autoimmune_disease, malignancy]}",
        "medication: {classes: [strong_cyp3a4_inhibitor, qt_prolonging, tnf_inhibitor]}",
        "lab: {concept: [potassium, hematocrit, cd4_count, pao2], compare: '> 1'}",
        "lab: {concept: [ecog, blood_pressure], compare: '> 1'}",
    ],
)
def test_known_ids_aliases_and_classes_load(tmp_path: Path, rule: str) -> None:
    assert load_trial(_trial(tmp_path, rule)).criteria[0].rule is not None


@pytest.mark.parametrize("name", ["blinatumomab-sle", "n2c2-2018"])
def test_bundled_trials_still_load(name: str) -> None:
    assert load_trial(name).criteria


def _fact(concept: str, kind: Kind = Kind.CONDITION) -> Fact:
    return Fact(
        kind=kind, concept=concept, label=concept, note_date=dt.date(2025, 1, 1),
        evidence=Evidence(note_id="N1", char_start=0, char_end=len(concept), text=concept),
    )


@pytest.mark.parametrize(
    ("asked", "charted"),
    [
        ("malignancy", "breast_cancer"),
        ("malignancy", "prostate_cancer"),
        ("cardiomyopathy", "dilated_cardiomyopathy"),
        ("chronic_liver_disease", "cirrhosis"),
        ("autoimmune_disease", "kawasaki_disease"),  # through vasculitis
        ("surgery", "cabg"),  # through major_surgery, cardiac_surgery
        ("implanted_device", "pacemaker"),
        ("smoking", "tobacco_use"),  # an alias
    ],
)
def test_a_criterion_on_a_category_finds_its_descendants(asked: str, charted: str) -> None:
    record = PatientRecord([], [_fact(charted)])
    assert [m.fact.concept for m in record.find([asked])] == [charted]


def test_a_category_does_not_find_its_parent_or_siblings() -> None:
    record = PatientRecord([], [_fact("malignancy"), _fact("lung_cancer")])
    assert [m.fact.concept for m in record.find(["breast_cancer"])] == []
