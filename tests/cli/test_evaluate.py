"""``extractor evaluate``: the three commands end to end, the pipeline replaced by fakes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import extractor
import extractor.screening
from extractor.cli.app import app
from extractor.facts import Assertion, Evidence, Fact, Kind
from extractor.notes import Note

runner = CliRunner()

TEXT = "Seen today. No seizures. Hgb 9.6 g/dL."
ANN = (
    "T1\tCondition 15 23\tseizures\nA1\tAssertion T1 absent\n#1\tAnnotatorNotes T1\tconcept=seizure\n"
    "T2\tLab 25 28\tHgb\n#2\tAnnotatorNotes T2\tconcept=hemoglobin; date=2025-02-14\n"
)
SAMPLE_TSV = Path(__file__).parents[1] / "unit" / "evaluation" / "data" / "assertion-sample.tsv"


def _cite(phrase: str) -> Evidence:
    start = TEXT.index(phrase)
    return Evidence(note_id="P1-N1", char_start=start, char_end=start + len(phrase), text=phrase)


def _seizure_fact(assertion: Assertion = Assertion.ABSENT) -> Fact:
    return Fact(
        kind=Kind.CONDITION, concept="seizure", label="seizures", assertion=assertion, evidence=_cite("seizures")
    )


@pytest.fixture
def gold_dir(tmp_path: Path) -> Path:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "P1-N1.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "notes" / "P1-N1.ann").write_text(ANN, encoding="utf-8")
    (tmp_path / "patients").mkdir()
    (tmp_path / "patients" / "P1.yaml").write_text(
        "patient_id: P1\nsex: F\nnotes: [{note_id: P1-N1, date: 2025-02-14}]\n", encoding="utf-8"
    )
    return tmp_path


def test_facts_scores_a_predicted_file_as_json(gold_dir: Path, tmp_path: Path) -> None:
    predicted = tmp_path / "facts.jsonl"
    predicted.write_text(json.dumps(_seizure_fact(Assertion.PRESENT).to_json_dict()) + "\n", encoding="utf-8")
    result = runner.invoke(
        app, ["evaluate", "facts", "--gold", str(gold_dir), "--predicted", str(predicted), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["overlap.all.recall"] == 0.5
    assert metrics["overlap.condition.f1"] == 1.0
    assert metrics["attribute.assertion.accuracy"] == 0.0


def test_facts_runs_the_pipeline_with_each_notes_date_and_patient(
    gold_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Note] = []

    def fake_extract(notes: Iterable[Note], nlp: Any = None) -> Iterator[tuple[Note, list[Fact]]]:
        assert nlp == "loaded pipeline"
        for note in notes:
            seen.append(note)
            yield note, [_seizure_fact()]

    monkeypatch.setattr(extractor, "load", lambda: "loaded pipeline")
    monkeypatch.setattr(extractor, "extract_notes", fake_extract)
    result = runner.invoke(app, ["evaluate", "facts", "--gold", str(gold_dir), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert [(n.note_id, n.patient_id, n.date, n.sex) for n in seen] == [("P1-N1", "P1", dt.date(2025, 2, 14), "F")]
    assert "| condition | 1 | 1 | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 |" in result.stdout
    assert "| P1-N1 | lab | missed | 25-28 | Hgb |" in result.stdout


def test_bad_gold_exits_2_naming_file_and_line_without_note_text(gold_dir: Path, tmp_path: Path) -> None:
    (gold_dir / "notes" / "P1-N1.ann").write_text("T1\tCondition 15 23\tseizure!\n", encoding="utf-8")
    no_facts = tmp_path / "facts.jsonl"
    no_facts.write_text("", encoding="utf-8")
    result = runner.invoke(app, ["evaluate", "facts", "--gold", str(gold_dir), "--predicted", str(no_facts)])
    assert result.exit_code == 2
    assert "[E303]" in result.stderr
    assert "P1-N1.ann, line 1" in result.stderr
    assert "seizure" not in result.stderr


def _verdict(patient: str, status: str, overall: str, evidence: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "patient_id": patient,
            "trial": "blinatumomab-sle",
            "screening_date": "2025-03-01",
            "overall": overall,
            "criteria": [{"id": "exc-cns-lupus", "type": "exclusion", "status": status, "evidence": evidence}],
        }
    )


@pytest.fixture
def screen_files(tmp_path: Path) -> dict[str, Path]:
    notes = tmp_path / "notes.jsonl"
    notes.write_text(json.dumps({"patient_id": "P1", "note_id": "P1-N1", "date": "2025-02-14", "text": TEXT}) + "\n")
    cited = {"note_id": "P1-N1", "start": 15, "end": 23, "text": "seizures"}
    gold = tmp_path / "gold.jsonl"
    gold.write_text(_verdict("P1", "not_met", "needs_review", [cited]) + "\n")
    predicted = tmp_path / "predicted.jsonl"
    shifted = {"note_id": "P1-N1", "start": 16, "end": 24, "text": "seizures"}
    predicted.write_text(_verdict("P1", "met", "ineligible", [shifted]) + "\n")
    return {"notes": notes, "gold": gold, "predicted": predicted}


def test_screen_scores_a_predicted_file_and_checks_cited_spans(screen_files: dict[str, Path]) -> None:
    args = ["evaluate", "screen", "--gold", str(screen_files["gold"]), "--notes", str(screen_files["notes"])]
    result = runner.invoke(app, [*args, "--predicted", str(screen_files["predicted"]), "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["metrics"]["criterion_accuracy"] == 0.0
    assert payload["metrics"]["evidence_precision"] == 1.0  # overlaps the gold span...
    assert payload["metrics"]["cited_spans_mismatched"] == 1  # ...but is not the note's text
    confusion = next(t for t in payload["tables"] if t["title"].startswith("Criterion status"))
    assert confusion["rows"][1] == {"gold": "not_met", "met": 1, "not_met": 0, "unknown": 0, "missing": 0, "total": 1}


def test_screen_runs_screening_per_patient_at_the_gold_screening_date(
    screen_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[list[str], str, dt.date | None]] = []

    class FakeVerdict:
        def to_contract_dict(self) -> dict[str, Any]:
            return json.loads(_verdict("P1", "not_met", "needs_review", []))

    def fake_screen(notes: list[Note], trial: str, screening_date: dt.date | None = None, nlp: Any = None):
        calls.append(([n.note_id for n in notes], trial, screening_date))
        return iter([FakeVerdict()])

    monkeypatch.setattr(extractor, "load", lambda: None)
    monkeypatch.setattr(extractor.screening, "load_trial", lambda trial_id: f"trial {trial_id}", raising=False)
    monkeypatch.setattr(extractor.screening, "screen", fake_screen, raising=False)
    args = ["evaluate", "screen", "--gold", str(screen_files["gold"]), "--notes", str(screen_files["notes"])]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert calls == [(["P1-N1"], "trial blinatumomab-sle", dt.date(2025, 3, 1))]
    metrics = json.loads(result.stdout)["metrics"]
    assert (metrics["criterion_accuracy"], metrics["overall_accuracy"], metrics["evidence_recall"]) == (1.0, 1.0, 0.0)


def test_an_unknown_trial_in_the_gold_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(_verdict("P1", "met", "ineligible", []).replace("blinatumomab-sle", "no-such-trial") + "\n")
    notes = tmp_path / "notes.jsonl"
    notes.write_text(json.dumps({"patient_id": "P1", "note_id": "P1-N1", "text": TEXT}) + "\n")
    monkeypatch.setattr(extractor, "load", lambda: None)
    result = runner.invoke(app, ["evaluate", "screen", "--gold", str(gold), "--notes", str(notes)])
    assert result.exit_code == 2
    assert "no-such-trial" in result.stderr


def test_assertion_scores_the_test_set_with_assert_mention(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_assert_mention(text: str, start: int, end: int, nlp: Any = None) -> dict[str, str]:
        negated = text.lower().startswith(("chest film", "denies"))
        return {"assertion": "absent" if negated else "present", "experiencer": "patient", "temporality": "current"}

    monkeypatch.setattr(extractor, "load", lambda: None)
    monkeypatch.setattr(extractor, "assert_mention", fake_assert_mention)
    result = runner.invoke(app, ["evaluate", "assertion", "--tsv", str(SAMPLE_TSV)])
    assert result.exit_code == 0, result.output
    assert "Assertion test set" in result.stdout
    assert "6 rows, 1 mentions not found" in result.stdout
    json_result = runner.invoke(app, ["evaluate", "assertion", "--tsv", str(SAMPLE_TSV), "--format", "json"])
    metrics = json.loads(json_result.stdout)["metrics"]
    assert metrics["negation.negated.f1"] == 1.0
    assert metrics["experiencer.non_patient.recall"] == 0.0


def test_cases_reports_pass_rates_per_class_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each case file is a row; a case the pipeline gets wrong is listed with its id."""
    (tmp_path / "negation_scope.yaml").write_text(
        "description: negation\ncases:\n"
        "  - {id: neg-ok, text: 'No seizures.', mention: seizures, expect: {assertion: absent}}\n"
        "  - {id: neg-wrong, text: 'No seizures.', mention: seizures, expect: {assertion: present}}\n",
        encoding="utf-8",
    )

    def fake_extract_text(text: str, note_date: Any = None, nlp: Any = None) -> list[Fact]:
        assert nlp == "loaded pipeline"
        start = text.index("seizures")
        evidence = Evidence(note_id="N", char_start=start, char_end=start + 8, text="seizures")
        fact = Fact(
            kind=Kind.CONDITION, concept="seizure", label="seizures", assertion=Assertion.ABSENT, evidence=evidence
        )
        return [fact]

    monkeypatch.setattr(extractor, "load", lambda: "loaded pipeline")
    monkeypatch.setattr(extractor, "extract_text", fake_extract_text)
    result = runner.invoke(app, ["evaluate", "cases", "--cases", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["metrics"]["class.negation_scope.pass_rate"] == 0.5
    assert report["metrics"]["cases"] == 2
    failing = report["tables"][1]["rows"]
    assert [row["case"] for row in failing] == ["neg-wrong"]
    assert "expected 'present', got 'absent'" in failing[0]["problem"]
