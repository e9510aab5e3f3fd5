"""Scoring verdict lines against gold: statuses, overall verdicts, evidence, cited spans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from extractor.evaluation.errors import GoldError
from extractor.evaluation.screen import (
    VerdictLine,
    check_gold_evidence,
    evaluate_screen,
    read_verdicts,
)

NOTES = {
    "P1-N1": "Hgb 9.6 g/dL on 2025-02-14. SLE since 2019.",
    "P2-N1": "No seizures. Hgb 7.1 g/dL.",
}


def cite(note_id: str, phrase: str, shift: int = 0) -> dict[str, Any]:
    start = NOTES[note_id].index(phrase) + shift
    return {"note_id": note_id, "start": start, "end": start + len(phrase), "text": phrase}


def verdict(patient: str, overall: str, **criteria: tuple[str, list[dict[str, Any]]]) -> VerdictLine:
    return VerdictLine.model_validate(
        {
            "patient_id": patient,
            "trial": "t",
            "screening_date": "2025-03-01",
            "overall": overall,
            "criteria": [
                {
                    "id": cid.replace("_", "-"),
                    "type": "inclusion",
                    "status": status,
                    "reason": "r",
                    "evidence": evidence,
                }
                for cid, (status, evidence) in criteria.items()
            ],
        }
    )


GOLD = [
    verdict(
        "P1",
        "needs_review",
        inc_hemoglobin=("met", [cite("P1-N1", "Hgb 9.6 g/dL")]),
        inc_sle=("met", [cite("P1-N1", "SLE")]),
        inc_consent=("unknown", []),
    ),
    verdict(
        "P2",
        "ineligible",
        inc_hemoglobin=("not_met", [cite("P2-N1", "Hgb 7.1 g/dL")]),
        inc_sle=("unknown", []),
        inc_consent=("unknown", []),
    ),
]


def test_perfect_prediction() -> None:
    result = evaluate_screen(GOLD, GOLD, NOTES)
    metrics = result.metrics()
    assert metrics["criterion_accuracy"] == 1.0
    assert metrics["overall_accuracy"] == 1.0
    assert (metrics["evidence_precision"], metrics["evidence_recall"]) == (1.0, 1.0)
    assert (metrics["cited_spans_checked"], metrics["cited_spans_mismatched"]) == (3, 0)
    assert result.errors == []


def test_eligible_patients_called_ineligible_are_counted() -> None:
    """A false exclusion is the costliest error: its share is a metric of its own."""
    gold = [GOLD[0], verdict("P3", "candidate", inc_consent=("unknown", []))]
    predicted = [
        verdict("P1", "ineligible", inc_hemoglobin=("not_met", []), inc_sle=("met", []), inc_consent=("unknown", [])),
        verdict("P3", "candidate", inc_consent=("unknown", [])),
    ]
    metrics = evaluate_screen(gold, predicted, {**NOTES, "P3-N1": ""}).metrics()
    assert metrics["eligible_kept"] == pytest.approx(1 / 2)
    assert metrics["candidates_found"] == 1.0
    assert evaluate_screen(GOLD, GOLD, NOTES).metrics()["candidates_found"] is None  # no gold candidate


def test_statuses_confusion_overall_and_evidence_overlap() -> None:
    predicted = [
        verdict(
            "P1",
            "needs_review",
            inc_hemoglobin=("met", [cite("P1-N1", "Hgb")]),  # overlaps the gold span
            inc_sle=("unknown", []),
            inc_consent=("unknown", [cite("P1-N1", "2025-02-14")]),  # cites something else
        ),
        # P2 not predicted at all
    ]
    result = evaluate_screen(GOLD, predicted, NOTES)
    metrics = result.metrics()
    assert metrics["criterion_accuracy"] == pytest.approx(2 / 6)
    assert metrics["overall_accuracy"] == pytest.approx(1 / 2)
    assert metrics["missing_patients"] == 1
    assert metrics["evidence_precision"] == pytest.approx(1 / 2)
    assert metrics["evidence_recall"] == pytest.approx(1 / 3)
    assert metrics["criterion.inc-hemoglobin.accuracy"] == pytest.approx(1 / 2)
    assert result.confusion[("met", "unknown")] == 1
    assert result.confusion[("not_met", "missing")] == 1
    assert result.overall_confusion[("ineligible", "missing")] == 1
    assert [(e["patient_id"], e["criterion"], e["gold"], e["predicted"]) for e in result.errors] == [
        ("P1", "inc-sle", "met", "unknown"),
        ("P2", "(overall)", "ineligible", "missing"),
        ("P2", "inc-hemoglobin", "not_met", "missing"),
        ("P2", "inc-sle", "unknown", "missing"),
        ("P2", "inc-consent", "unknown", "missing"),
    ]


@pytest.mark.parametrize(
    ("span", "problem"),
    [
        pytest.param(cite("P1-N1", "Hgb", shift=1), "does not equal the note text", id="shifted"),
        pytest.param({"note_id": "P1-N1", "start": 40, "end": 90, "text": "x" * 50}, "outside", id="outside"),
        pytest.param({**cite("P1-N1", "SLE"), "note_id": "P7-N1"}, "not in the notes", id="note"),
    ],
)
def test_every_cited_span_is_checked_against_the_note(span: dict[str, Any], problem: str) -> None:
    predicted = [verdict("P1", "needs_review", inc_sle=("met", [span]))]
    result = evaluate_screen(GOLD[:1], predicted, NOTES)
    (found,) = result.cited_problems
    assert problem in found["problem"]
    assert (found["patient_id"], found["criterion"]) == ("P1", "inc-sle")


def test_report_tables_carry_the_per_criterion_rows_and_confusion() -> None:
    report = evaluate_screen(GOLD, GOLD[:1], NOTES).to_report()
    per_criterion, statuses, overall, spans, errors, misses = report.tables
    assert [row["criterion"] for row in per_criterion.rows] == [
        "inc-hemoglobin",
        "inc-sle",
        "inc-consent",
    ]
    assert per_criterion.rows[0]["gold_not_met"] == 1
    assert [row["gold"] for row in statuses.rows] == ["met", "not_met", "unknown"]
    assert statuses.rows[2] == {
        "gold": "unknown",
        "met": 0,
        "not_met": 0,
        "unknown": 1,
        "missing": 2,
        "total": 3,
    }
    assert overall.rows[0]["missing"] == 1
    assert spans.rows == ()
    assert len(errors.rows) == 4
    # P2 is missing: its one gold span (Hgb 7.1) is uncited by a criterion citing nothing
    assert [(row["patient_id"], row["kind"]) for row in misses.rows] == [("P2", "none cited")]


def _write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _dump(line: VerdictLine, **changes: Any) -> str:
    return json.dumps(line.model_dump(mode="json") | changes)


def test_reads_verdict_lines_with_line_numbers_ignoring_extra_fields(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "v.jsonl", _dump(GOLD[0], reviewer="ab"), "", _dump(GOLD[1]))
    assert [(where, v.patient_id) for where, v in read_verdicts(path)] == [
        (f"{path}, line 1", "P1"),
        (f"{path}, line 3", "P2"),
    ]


def test_reads_a_directory_of_one_patient_json_files_and_filters_by_trial(tmp_path: Path) -> None:
    (tmp_path / "P1.t.json").write_text(json.dumps(GOLD[0].model_dump(mode="json"), indent=2))
    (tmp_path / "P1.other.json").write_text(_dump(GOLD[0], trial="other"))
    (tmp_path / "P2.t.json").write_text(_dump(GOLD[1]))
    (tmp_path / "notes.txt").write_text("not a verdict")
    assert [(v.patient_id, v.trial) for _, v in read_verdicts(tmp_path)] == [
        ("P1", "other"),
        ("P1", "t"),
        ("P2", "t"),
    ]
    assert [(where, v.patient_id) for where, v in read_verdicts(tmp_path, "t")] == [
        (str(tmp_path / "P1.t.json"), "P1"),
        (str(tmp_path / "P2.t.json"), "P2"),
    ]
    with pytest.raises(GoldError, match="no verdicts of trial nope found"):
        read_verdicts(tmp_path, "nope")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param("{not json", "line 1: not valid JSON", id="json"),
        pytest.param(_dump(GOLD[0], overall="eligible"), "line 1: overall: Input should be", id="overall"),
        pytest.param(
            _dump(GOLD[0], criteria=[GOLD[0].criteria[0].model_dump()] * 2),
            "criteria listed more than once: inc-hemoglobin",
            id="twice",
        ),
        pytest.param("\n", "no verdicts found", id="empty"),
    ],
)
def test_verdict_faults_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = _write_lines(tmp_path / "v.jsonl", line)
    with pytest.raises(GoldError) as info:
        read_verdicts(path)
    assert message in str(info.value)


def test_same_patient_twice_is_an_error(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "v.jsonl", _dump(GOLD[0]), _dump(GOLD[0]))
    with pytest.raises(GoldError, match=r"line 2: patient 'P1' of trial 't' appears twice"):
        read_verdicts(path)


def test_gold_evidence_must_be_exact() -> None:
    bad = verdict("P1", "needs_review", inc_sle=("met", [cite("P1-N1", "SLE", shift=2)]))
    check_gold_evidence([("g.jsonl, line 1", GOLD[0])], NOTES)
    with pytest.raises(GoldError, match=r"g.jsonl, line 4: evidence P1-N1 .* of criterion inc-sle does not"):
        check_gold_evidence([("g.jsonl, line 4", bad)], NOTES)


def test_evidence_misses_are_listed_by_kind() -> None:
    """Each unmatched span is listed with what it needs: a status, a citation, another copy."""
    predicted = [
        verdict(
            "P1",
            "needs_review",
            inc_hemoglobin=("met", [cite("P1-N1", "2025-02-14")]),
            inc_sle=("unknown", []),
            inc_consent=("unknown", [cite("P1-N1", "SLE since")]),
        ),
        verdict(
            "P2",
            "ineligible",
            inc_hemoglobin=("not_met", [cite("P1-N1", "Hgb 9.6")]),
            inc_sle=("unknown", []),
            inc_consent=("unknown", []),
        ),
    ]
    result = evaluate_screen(GOLD, predicted, NOTES)
    misses = {(m["patient_id"], m["criterion"], m["side"], m["kind"], m["text"]) for m in result.evidence_misses}
    assert misses == {
        ("P1", "inc-hemoglobin", "cited, not gold", "status right", "2025-02-14"),
        ("P1", "inc-hemoglobin", "gold, not cited", "same note", "Hgb 9.6 g/dL"),
        ("P1", "inc-sle", "gold, not cited", "none cited", "SLE"),
        ("P1", "inc-consent", "cited, not gold", "status right", "SLE since"),
        ("P2", "inc-hemoglobin", "cited, not gold", "status right", "Hgb 9.6"),
        ("P2", "inc-hemoglobin", "gold, not cited", "other note", "Hgb 7.1 g/dL"),
    }
    report_lines = result.to_report().lines
    assert any("gold, not cited (none cited) 1" in line for line in report_lines)
