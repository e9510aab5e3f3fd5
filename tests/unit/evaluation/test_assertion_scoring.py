"""Scoring the context rules on a tab-separated assertion test set (invented rows)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from extractor.evaluation.assertion import (
    evaluate_assertion,
    find_mention,
    predicted_labels,
    read_tsv,
)
from extractor.evaluation.errors import GoldError

SAMPLE = Path(__file__).parent / "data" / "assertion-sample.tsv"

# What a fake assert_mention answers, by the exact text it is pointed at.
ANSWERS: dict[str, dict[str, str]] = {
    "pneumonia": {"assertion": "absent", "experiencer": "patient", "temporality": "current"},
    "seizure": {"assertion": "present", "experiencer": "patient", "temporality": "current"},
    "Breast Cancer": {"assertion": "present", "experiencer": "family", "temporality": "current"},
    "pulmonary   embolism": {
        "assertion": "possible",
        "experiencer": "patient",
        "temporality": "current",
    },
    "fever": {"assertion": "hypothetical", "experiencer": "other", "temporality": "current"},
}


def fake_assert_mention(text: str, start: int, end: int) -> Mapping[str, Any]:
    return ANSWERS[text[start:end]]


def test_reads_rows_and_maps_labels_to_our_values() -> None:
    cases = read_tsv(SAMPLE)
    assert [case.line for case in cases] == [2, 3, 4, 5, 6, 7]
    assert cases[2].mention == "breast  cancer"
    assert cases[2].expected == {
        "negation": "present",
        "temporality": "current",
        "experiencer": "family",
    }
    assert cases[3].expected["negation"] == "possible"
    assert cases[4].expected["temporality"] == "hypothetical"


@pytest.mark.parametrize(
    ("mention", "sentence", "span"),
    [
        pytest.param("breast  cancer", "Mother with Breast Cancer.", (12, 25), id="case-space"),
        pytest.param("pulmonary embolism", "r/o pulmonary\n embolism", (4, 23), id="newline"),
        pytest.param("MI", "Prior MIs; MI in 2019.", (11, 13), id="whole-word-first"),
        pytest.param("MI", "Prior MIs.", (6, 8), id="inside-a-word-if-nothing-else"),
        pytest.param("cough", "Denies chest pain.", None, id="absent"),
        pytest.param("c++ (left)", "Note c++ (LEFT) here.", (5, 15), id="regex-chars"),
    ],
)
def test_find_mention_maps_back_to_exact_offsets(mention: str, sentence: str, span: tuple[int, int] | None) -> None:
    assert find_mention(mention, sentence) == span


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"assertion": "absent", "temporality": "historical", "experiencer": "family"},
            {"negation": "absent", "temporality": "historical", "experiencer": "family"},
        ),
        (
            {"assertion": "hypothetical", "temporality": "current", "experiencer": "patient"},
            {"negation": "present", "temporality": "hypothetical", "experiencer": "patient"},
        ),
    ],
)
def test_predicted_labels_move_hypothetical_into_temporality(answer: dict[str, str], expected: dict[str, str]) -> None:
    assert predicted_labels(answer) == expected


def test_scores_per_attribute_and_counts_mentions_not_found() -> None:
    result = evaluate_assertion(read_tsv(SAMPLE), fake_assert_mention)
    metrics = result.metrics()
    assert (metrics["mentions"], metrics["mentions_not_found"]) == (6, 1)
    assert metrics["negation.accuracy"] == 1.0
    assert metrics["negation.negated.f1"] == 1.0
    assert metrics["temporality.accuracy"] == pytest.approx(4 / 5)
    assert metrics["temporality.historical.recall"] == 0.0
    assert metrics["temporality.historical.precision"] is None  # never predicted
    assert metrics["temporality.hypothetical.f1"] == 1.0
    assert metrics["experiencer.accuracy"] == pytest.approx(4 / 5)
    assert metrics["experiencer.non_patient.precision"] == pytest.approx(1 / 2)
    assert metrics["experiencer.non_patient.recall"] == 1.0
    assert [(e["line"], e["attribute"], e["gold"], e["predicted"]) for e in result.errors] == [
        (3, "temporality", "historical", "current"),
        (6, "experiencer", "patient", "other"),
    ]
    assert [case.line for case in result.not_found] == [7]


def test_a_span_the_predictor_rejects_counts_as_not_found() -> None:
    def rejecting(text: str, start: int, end: int) -> Mapping[str, Any]:
        raise ValueError("span does not align")

    result = evaluate_assertion(read_tsv(SAMPLE)[:2], rejecting)
    assert len(result.not_found) == 2
    assert result.metrics()["negation.accuracy"] is None


def test_report_lists_not_found_rows_first() -> None:
    report = evaluate_assertion(read_tsv(SAMPLE), fake_assert_mention).to_report()
    per_attribute, errors = report.tables
    assert [(r["attribute"], r["positive"]) for r in per_attribute.rows] == [
        ("negation", "negated"),
        ("temporality", "historical"),
        ("temporality", "hypothetical"),
        ("experiencer", "non_patient"),
    ]
    assert [(r["line"], r["attribute"]) for r in errors.rows] == [
        (7, "(not found)"),
        (3, "temporality"),
        (6, "experiencer"),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("h\n1\tfever\tA fever.\tAffirmed\tRecent\n", "line 2: expected 6", id="fields"),
        pytest.param(
            "h\n1\tfever\tA fever.\tDenied\tRecent\tPatient\n",
            "line 2: negation label 'Denied' is not one of",
            id="label",
        ),
        pytest.param("\n\n", "the file is empty", id="empty"),
    ],
)
def test_tsv_faults_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "set.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GoldError) as info:
        read_tsv(path)
    assert message in str(info.value)
