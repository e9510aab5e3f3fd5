"""A damaged store or a verdict of the wrong shape is a clear message and exit code 2, not a
traceback, in every command that reads it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.cli.app import app
from extractor.store import Store


@pytest.fixture
def truncated_store(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    with Store.open(path):
        pass
    with path.open("r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)
    return path


@pytest.mark.parametrize("command", [
    ["export", "{store}", "-o", "{tmp}/out"],
    ["report", "--store", "{store}", "-o", "{tmp}/r.html"],
    ["batch", "{notes}", "--trial", "blinatumomab-sle", "--store", "{store}", "--workers", "0"],
])
def test_a_truncated_store_is_a_clear_error(
    truncated_store: Path, tmp_path: Path, sample_notes_path: Path, command: list[str]
) -> None:
    args = [part.format(store=truncated_store, tmp=tmp_path, notes=sample_notes_path) for part in command]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "cannot be read or written (IOException): it may be truncated or damaged" in result.stderr
    assert "Traceback" not in result.output


def test_a_verdict_with_a_string_offset_is_a_clear_error(tmp_path: Path) -> None:
    evidence = {"note_id": "N1", "start": "0", "end": 3, "text": "SLE", "section": None}
    verdict = {"patient_id": "P", "trial": "blinatumomab-sle", "screening_date": "2025-03-01", "overall": "candidate",
               "criteria": [{"id": "c", "type": "inclusion", "status": "met", "reason": "r", "evidence": [evidence]}]}
    verdicts, notes = tmp_path / "v.jsonl", tmp_path / "n.jsonl"
    verdicts.write_text(json.dumps(verdict) + "\n")
    notes.write_text(json.dumps({"patient_id": "P", "note_id": "N1", "text": "SLE here", "date": "2025-01-01"}) + "\n")
    result = CliRunner().invoke(app, ["report", str(verdicts), "--notes", str(notes), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "[E031] verdict 1: criteria.0.evidence.0.start: Input should be a valid integer." in result.stderr
