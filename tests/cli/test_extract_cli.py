"""The extract, assert and package commands, through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import spacy
from typer.testing import CliRunner

from extractor.cli.app import app

runner = CliRunner()


def test_extract_sample_chart(tmp_path: Path, sample_notes_path: Path) -> None:
    out = tmp_path / "facts.jsonl"
    result = runner.invoke(app, ["extract", str(sample_notes_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    facts = [json.loads(line) for line in out.read_text().splitlines()]
    records = [json.loads(line) for line in sample_notes_path.read_text().splitlines()]
    texts = {record["note_id"]: record["text"] for record in records}
    assert {f["concept"] for f in facts} >= {"sle", "prednisone", "hemoglobin"}
    for fact in facts:
        ev = fact["evidence"]
        assert texts[ev["note_id"]][ev["char_start"] : ev["char_end"]] == ev["text"]
    assert "notes read: 3  processed: 3  rejected: 0  failed: 0" in result.output


def test_extract_reports_bad_lines_and_goes_on(tmp_path: Path) -> None:
    notes = tmp_path / "notes.jsonl"
    notes.write_text(
        '{"patient_id": "P", "note_id": "A", "text": "SLE"}\nnot json\n{"patient_id": "P", "note_id": "B"}\n'
        '{"patient_id": "P", "note_id": "C", "text": "no h/o TB"}\n'
    )
    out = tmp_path / "facts.jsonl"
    result = runner.invoke(app, ["extract", str(notes), "-o", str(out)])
    assert result.exit_code == 1  # two lines rejected
    assert "notes read: 4  processed: 2  rejected: 2  failed: 0" in result.output
    assert "line 2" in result.output and "line 3" in result.output
    assert {json.loads(line)["evidence"]["note_id"] for line in out.read_text().splitlines()} == {"A", "C"}


def test_assert_command() -> None:
    text = "Mother with breast cancer."
    result = runner.invoke(app, ["assert", text, "--start", "12", "--end", "25"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["experiencer"] == "family"
    bad = runner.invoke(app, ["assert", text, "--start", "20", "--end", "99"])
    assert bad.exit_code != 0


def test_package_round_trips_through_spacy_load(tmp_path: Path) -> None:
    target = tmp_path / "extractor_pipeline"
    result = runner.invoke(app, ["package", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert (target / "config.cfg").exists() and (target / "extractor_context" / "context.yaml").exists()
    loaded = spacy.load(target)
    doc = loaded("No h/o TB. Mother with SLE.")
    facts = {f.concept: f for f in doc._.facts}
    assert facts["tuberculosis"].assertion.value == "absent"
    assert facts["sle"].experiencer.value == "family"
