"""``extractor screen`` and ``extractor trials`` through the CLI, with a stand-in pipeline."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

import extractor
from extractor import isolation
from extractor.cli.app import app
from extractor.facts import Evidence, Fact, LabResult
from extractor.notes import Note
from extractor.screening import load_trial

# What the stand-in pipeline finds: a phrase and the fact it stands for.
PHRASES: dict[str, dict[str, Any]] = {
    "SLE": {"kind": "condition", "concept": "sle"},
    "Hgb 7.5 g/dL": {
        "kind": "lab", "concept": "hemoglobin",
        "lab": LabResult(value=7.5, unit="g/dL", canonical_value=75, canonical_unit="g/L"),
    },
    "Hgb 9.6 g/dL": {
        "kind": "lab", "concept": "hemoglobin",
        "lab": LabResult(value=9.6, unit="g/dL", canonical_value=96, canonical_unit="g/L"),
    },
}

NOTES = [
    {"patient_id": "P1", "note_id": "P1-N1", "date": "2025-01-10", "text": "Follow-up. SLE. Hgb 7.5 g/dL."},
    {"patient_id": "P2", "note_id": "P2-N1", "date": "2025-02-01", "text": "New visit, SLE, Hgb 9.6 g/dL", "sex": "M"},
    {"patient_id": "P1", "note_id": "P1-N2", "date": "2025-03-01", "text": "Labs: Hgb 9.6 g/dL. SLE stable."},
]


def fake_extract(notes: Iterable[Note], nlp: object = None, **_: object) -> Iterator[tuple[Note, list[Fact]]]:
    for note in notes:
        facts = []
        for phrase, spec in PHRASES.items():
            start = note.text.find(phrase)
            if start >= 0:
                evidence = Evidence(note_id=note.note_id, char_start=start, char_end=start + len(phrase), text=phrase)
                facts.append(Fact(label=spec["concept"], evidence=evidence, note_date=note.date, **spec))
        yield note, facts


@pytest.fixture
def notes_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(extractor, "extract_notes", fake_extract)
    monkeypatch.setattr(isolation, "run_pipeline", lambda nlp, note, cancelled=None: next(fake_extract([note]))[1])
    monkeypatch.setattr(extractor, "load", lambda *args, **kwargs: SimpleNamespace(max_length=5_000_000))
    path = tmp_path / "notes.jsonl"
    lines = [json.dumps(n) for n in NOTES[:2]] + ["{not json", json.dumps(NOTES[2])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_screen_writes_one_contract_line_per_patient(notes_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "verdicts.jsonl"
    result = run("screen", str(notes_file), "--trial", "blinatumomab-sle", "-o", str(out))
    assert result.exit_code == 1, result.output  # a line was rejected
    assert "notes read: 4  processed: 3  rejected: 1  failed: 0  patients: 2" in result.stderr
    assert "line 3" in result.stderr
    verdicts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [v["patient_id"] for v in verdicts] == ["P1", "P2"]
    ids = [c.id for c in load_trial("blinatumomab-sle").criteria]
    texts = {n["note_id"]: n["text"] for n in NOTES}
    for verdict in verdicts:
        assert set(verdict) == {"patient_id", "trial", "screening_date", "overall", "criteria"}
        assert [c["id"] for c in verdict["criteria"]] == ids
        assert verdict["overall"] in {"ineligible", "candidate", "needs_review"}
        for criterion in verdict["criteria"]:
            assert set(criterion) == {"id", "type", "status", "reason", "evidence"}
            for ev in criterion["evidence"]:
                assert texts[ev["note_id"]][ev["start"] : ev["end"]] == ev["text"]
    p1 = {c["id"]: c for c in verdicts[0]["criteria"]}
    assert verdicts[0]["screening_date"] == "2025-03-01"
    assert p1["inc-hemoglobin"]["status"] == "met"
    assert p1["inc-hemoglobin"]["evidence"][0]["note_id"] == "P1-N2"
    p2 = {c["id"]: c for c in verdicts[1]["criteria"]}
    assert p2["inc-contraception"]["status"] == "met"  # male


def test_screening_date_leaves_later_notes_unread(notes_file: Path) -> None:
    result = run(
        "screen", str(notes_file), "--trial", "blinatumomab-sle", "--screening-date", "2025-02-01",
        "--max-failures", "1",
    )
    assert result.exit_code == 0, result.output
    p1 = json.loads(result.stdout.splitlines()[0])
    assert p1["screening_date"] == "2025-02-01"
    assert p1["notes_after_screening_date"] == ["P1-N2"]  # named in the verdict, counted in the summary
    assert "notes after the screening date (not read): 1" in result.stderr
    hemoglobin = next(c for c in p1["criteria"] if c["id"] == "inc-hemoglobin")
    assert (hemoglobin["status"], hemoglobin["evidence"][0]["text"]) == ("not_met", "Hgb 7.5 g/dL")


def test_trial_given_as_a_path(notes_file: Path, tmp_path: Path) -> None:
    trial = tmp_path / "mini.yaml"
    trial.write_text(
        "schema: trial/v1\nname: mini\ntitle: t\ndescription: d\nversion: 1\nsource: s\nlicense: l\n"
        "criteria:\n  - {id: hgb, type: inclusion, text: t, absent: unknown,"
        " rule: {lab: {concept: hemoglobin, compare: '>= 9 g/dL'}}}\n",
        encoding="utf-8",
    )
    result = run("screen", str(notes_file), "--trial", str(trial), "--allow-failures")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(v["trial"], v["criteria"][0]["status"], v["overall"]) for v in lines] == [
        ("mini", "met", "candidate"), ("mini", "met", "candidate")
    ]


def test_unknown_trial_exits_with_the_bundled_list(notes_file: Path) -> None:
    result = run("screen", str(notes_file), "--trial", "no-such-trial")
    assert result.exit_code == 2
    assert (
        "[T004] No bundled trial 'no-such-trial'. Bundled trials: blinatumomab-sle, n2c2-2018, nct04344444"
        in result.stderr
    )


def test_trials_lists_the_bundled_trials() -> None:
    result = run("trials")
    assert result.exit_code == 0
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(r[0], r[1]) for r in rows] == [
        ("blinatumomab-sle", "17 inclusion, 25 exclusion"),
        ("n2c2-2018", "13 inclusion, 0 exclusion"),
        ("nct04344444", "5 inclusion, 6 exclusion"),
        ("nct04344951", "6 inclusion, 6 exclusion"),
        ("nct04346355", "6 inclusion, 14 exclusion"),
    ]


def test_a_future_dated_note_is_warned_and_not_the_screening_date(tmp_path: Path, notes_file: Path) -> None:
    typo = {"patient_id": "P1", "note_id": "P1-N9", "date": "2099-03-01", "text": "Hgb 9.6 g/dL."}
    path = tmp_path / "typo.jsonl"
    path.write_text("\n".join(json.dumps(n) for n in [NOTES[0], typo]) + "\n", encoding="utf-8")
    result = run("screen", str(path), "--trial", "blinatumomab-sle")
    assert result.exit_code == 0, result.output
    assert "[E030] line 2: note 'P1-N9' is dated 2099-03-01, after today" in result.stderr
    assert "notes after the screening date (not read): 1" in result.stderr
    (verdict,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert verdict["screening_date"] == "2025-01-10"
    assert verdict["notes_after_screening_date"] == ["P1-N9"]
    hemoglobin = next(c for c in verdict["criteria"] if c["id"] == "inc-hemoglobin")
    assert hemoglobin["status"] == "not_met"  # from the 2025 note; the 2099 one is not read
    chosen = run("screen", str(path), "--trial", "blinatumomab-sle", "--screening-date", "2099-03-01")
    (verdict,) = [json.loads(line) for line in chosen.stdout.splitlines()]
    assert "notes_after_screening_date" not in verdict
    assert next(c for c in verdict["criteria"] if c["id"] == "inc-hemoglobin")["status"] == "met"


def test_a_patient_whose_screening_fails_is_reported_and_the_others_go_on(
    notes_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from extractor.cli import screen as screen_module

    real = screen_module.screen_patient

    def fragile(notes: Any, facts: Any, trial: Any, day: Any) -> Any:
        if notes[0].patient_id == "P1":
            raise ZeroDivisionError("a message quoting Hgb 7.5 g/dL")
        return real(notes, facts, trial, day)

    monkeypatch.setattr(screen_module, "screen_patient", fragile)
    result = run("screen", str(notes_file), "--trial", "blinatumomab-sle", "--max-failures", "1")
    assert result.exit_code == 1  # one rejected line and one failed patient: over the one allowed
    assert [json.loads(line)["patient_id"] for line in result.stdout.splitlines()] == ["P2"]
    assert "[E032] patient 'P1': screening failed (ZeroDivisionError at test_screen.py:" in result.stderr
    assert "Hgb" not in result.stderr
