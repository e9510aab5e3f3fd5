"""``extractor batch`` and ``extractor export`` through typer's CliRunner (in this process)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from fhir.resources.R4B.bundle import Bundle
from spacy.language import Language
from typer.testing import CliRunner

from extractor.batch import work
from extractor.cli.app import app
from extractor.evaluation.screen import parse_verdict

runner = CliRunner()
TRIAL = "blinatumomab-sle"

NOTES = [
    {"patient_id": "P1", "note_id": "P1-N1", "date": "2025-01-10", "sex": "F", "birth_date": "2012-05-01",
     "text": "12 yo F with SLE. Meds: prednisone 25 mg daily. Hgb 9.1 g/dL. No h/o TB."},
    {"patient_id": "P1", "note_id": "P1-N2", "date": "2025-02-10",
     "text": "Follow-up. eGFR 28 mL/min/1.73m2. ANA 1:640. Mother with breast cancer."},
    {"patient_id": "P2", "note_id": "P2-N1", "date": "2025-01-20",
     "text": "16 yo M with lupus nephritis class IV on mycophenolate mofetil 1000 mg bid. Plt 150 K/uL."},
]


@pytest.fixture
def archive(tmp_path: Path, nlp: Language, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The notes plus one corrupted line; --workers 0 runs use the session's pipeline."""
    monkeypatch.setattr(work._local, "nlp", nlp, raising=False)
    lines = [json.dumps(NOTES[0]), "{broken", *(json.dumps(n) for n in NOTES[1:])]
    path = tmp_path / "notes.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path: Path, archive: Path) -> Path:
    path = tmp_path / "results.duckdb"
    result = runner.invoke(app, ["batch", str(archive), "--trial", TRIAL, "--store", str(path), "--workers", "0"])
    assert result.exit_code == 1, result.output  # a line was rejected
    assert "notes read: 4  processed: 3  skipped: 0  failed: 0  rejected: 1  patients screened: 2" in result.output
    assert "read rejected: [E010] line 2: not valid JSON" in result.output
    assert re.search(r"extract: 4/4 at [0-9.]+/s", result.output)  # a plain progress line: not a terminal
    return path


def test_batch_then_rerun_skips_everything(archive: Path, store: Path) -> None:
    again = runner.invoke(
        app, ["batch", str(archive), "--trial", TRIAL, "--store", str(store), "--workers", "0", "--max-failures", "1"]
    )
    assert again.exit_code == 0, again.output
    assert "run 2 finished" in again.output
    assert "notes read: 4  processed: 0  skipped: 3  failed: 0  rejected: 1  patients screened: 0" in again.output
    assert "Hgb" not in again.output and "prednisone" not in again.output  # no note text in logs


def test_export_jsonl_gives_extract_facts_and_contract_verdicts(tmp_path: Path, store: Path, archive: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(store), "--format", "jsonl", "-o", str(out)])
    assert result.exit_code == 0, result.output
    extracted = tmp_path / "facts.jsonl"
    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(json.dumps(n) + "\n" for n in NOTES), encoding="utf-8")
    assert runner.invoke(app, ["extract", str(plain), "-o", str(extracted)]).exit_code == 0
    exported = [json.loads(line) for line in (out / "facts.jsonl").read_text().splitlines()]
    assert exported == [json.loads(line) for line in extracted.read_text().splitlines()]
    lines = (out / "verdicts.jsonl").read_text().splitlines()
    verdicts = [parse_verdict(json.loads(line), "verdicts.jsonl") for line in lines]
    assert [v.patient_id for v in verdicts] == ["P1", "P2"]
    notes = [json.loads(line) for line in (out / "notes.jsonl").read_text().splitlines()]
    assert [n["note_id"] for n in notes] == ["P1-N1", "P1-N2", "P2-N1"] and "text" not in notes[0]
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [(e["stage"], e["line"]) for e in errors] == [("read", 2)]


def test_export_parquet_writes_every_table(tmp_path: Path, store: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(store), "--format", "parquet", "-o", str(out), "--with-text"])
    assert result.exit_code == 0, result.output
    rows = {path.stem: pq.read_table(path) for path in out.glob("*.parquet")}
    assert set(rows) == {"runs", "notes", "facts", "verdicts", "criteria", "errors"}
    assert rows["notes"].num_rows == 3 and rows["notes"].column("text").to_pylist()[0] == NOTES[0]["text"]
    assert rows["verdicts"].num_rows == 2 and rows["runs"].column("processed").to_pylist() == [3]
    assert rows["criteria"].num_rows == 2 * len(json.loads(rows["verdicts"].column("verdict")[0].as_py())["criteria"])


def test_export_fhir_bundles_are_valid_and_keep_the_verdict(tmp_path: Path, store: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(store), "--format", "fhir", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(store), read_only=True) as con:
        verdicts = dict(con.execute("SELECT patient_id, overall FROM verdicts").fetchall())
    bundles = [json.loads(line) for line in (out / "bundles.ndjson").read_text().splitlines()]
    assert len(bundles) == 2
    for bundle in bundles:
        Bundle.model_validate(bundle)
        resources = [entry["resource"] for entry in bundle["entry"]]
        patient_id = resources[0]["identifier"][0]["value"]
        overall = next(
            r for r in resources if r["resourceType"] == "Observation" and r["code"]["text"] == TRIAL
        )
        assert overall["valueCodeableConcept"]["coding"][0]["code"] == verdicts[patient_id]
        assert any(r["resourceType"] == "Condition" for r in resources)


def test_usage_errors_exit_2_with_a_message(tmp_path: Path, archive: Path) -> None:
    store = tmp_path / "results.duckdb"
    unknown = runner.invoke(app, ["batch", str(archive), "--trial", "no-such-trial", "--store", str(store)])
    assert unknown.exit_code == 2 and "[T004]" in unknown.output
    note = tmp_path / "one.txt"
    note.write_text("SLE", encoding="utf-8")
    single = runner.invoke(app, ["batch", str(note), "--trial", TRIAL, "--store", str(store)])
    assert single.exit_code == 2 and "extractor extract" in single.output
    not_a_store = tmp_path / "junk.duckdb"
    not_a_store.write_text("junk", encoding="utf-8")
    export = runner.invoke(app, ["export", str(not_a_store), "-o", str(tmp_path / "out")])
    assert export.exit_code == 2 and "cannot open the store" in export.output


def test_worker_memory_reaches_the_run_and_is_checked(
    tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import extractor.batch

    seen: dict[str, Any] = {}

    def stop_at_once(*args: Any, **kwargs: Any) -> None:  # what the command passed, then Ctrl-C
        seen.update(kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(extractor.batch, "run_batch", stop_at_once)
    store = tmp_path / "results.duckdb"
    args = ["batch", str(archive), "--trial", TRIAL, "--store", str(store)]
    assert runner.invoke(app, [*args, "--worker-memory", "250"]).exit_code == 130
    assert seen["worker_memory_mb"] == 250.0
    too_small = runner.invoke(app, [*args, "--worker-memory", "0.5"])
    assert too_small.exit_code == 2 and "--worker-memory" in too_small.output


def test_notes_after_the_screening_date_are_named(
    tmp_path: Path, nlp: Language, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(work._local, "nlp", nlp, raising=False)
    typo = {"patient_id": "P1", "note_id": "P1-N9", "date": "2099-03-01", "text": "Seizure yesterday."}
    path = tmp_path / "notes.jsonl"
    path.write_text("".join(json.dumps(n) + "\n" for n in [*NOTES, typo]), encoding="utf-8")
    result = runner.invoke(
        app, ["batch", str(path), "--trial", TRIAL, "--store", str(tmp_path / "s.duckdb"), "--workers", "0"]
    )
    assert result.exit_code == 0, result.output  # warnings, not failures
    assert "[E030] line 4: note 'P1-N9' is dated 2099-03-01, after today" in result.output
    assert (
        "screen warning: patient P1: [E033] 1 note(s) dated after the screening date 2025-02-10 were not read: P1-N9."
        in result.output
    )
