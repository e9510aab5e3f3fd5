"""Batch runs in this process (workers=0): the store holds exactly what extraction and
screening give, reruns redo only what changed, and faults stay with their note."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from spacy.language import Language
from spacy.tokens import Doc
from test_batch_inputs import archive_records, write_jsonl

import extractor
from extractor.batch import Limits, run_batch
from extractor.notes import Note
from extractor.screening import load_trial, screen
from extractor.store import Store

TRIAL = "blinatumomab-sle"
README = Path(__file__).resolve().parents[2] / "README.md"


@Language.component("batch_test_faults")
def batch_test_faults(doc: Doc) -> Doc:
    """Misbehaves on purpose for notes holding a marker word."""
    if "RAISE-ME" in doc.text:
        raise RuntimeError(f"cannot handle: {doc.text}")  # the message holds note text
    if "SLOW-ME" in doc.text:
        time.sleep(5)
    return doc


def notes_of(records: list[dict[str, Any]]) -> list[Note]:
    return [Note.model_validate(record) for record in records]


def query(store: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on a store or a catalog (opened as the commands open it: a catalog of a run
    on object storage reads it through fsspec)."""
    with Store.open(store, read_only=True) as opened:
        return opened.con.execute(sql, params or []).fetchall()


def stored_facts(store: Path) -> dict[str, list[dict[str, Any]]]:
    facts: dict[str, list[dict[str, Any]]] = {}
    for note_id, fact in query(store, "SELECT note_id, CAST(fact AS VARCHAR) FROM facts ORDER BY note_id, seq"):
        facts.setdefault(note_id, []).append(json.loads(fact))
    return facts


def stored_verdicts(store: Path) -> dict[str, dict[str, Any]]:
    rows = query(store, "SELECT patient_id, CAST(verdict AS VARCHAR) FROM verdicts WHERE trial = ?", [TRIAL])
    return {patient_id: json.loads(verdict) for patient_id, verdict in rows}


@pytest.fixture
def first_run(tmp_path: Path, inline: Language) -> tuple[Path, Path, list[dict[str, Any]]]:
    records = archive_records()
    source = write_jsonl(tmp_path / "notes.jsonl", records)
    store = tmp_path / "store.duckdb"
    summary = run_batch(source, store, TRIAL, workers=0)
    assert (summary.notes_read, summary.processed, summary.skipped, summary.failed, summary.rejected) == (
        30, 30, 0, 0, 0
    )
    assert summary.patients_screened == 6 and not summary.resumed
    return source, store, records


def test_the_store_holds_what_extract_and_screen_give(
    first_run: tuple[Path, Path, list[dict[str, Any]]], nlp: Language
) -> None:
    _, store, records = first_run
    notes = notes_of(records)
    expected = {
        note.note_id: [fact.to_json_dict() for fact in facts] for note, facts in extractor.extract_notes(notes, nlp)
    }
    facts = stored_facts(store)
    assert {k: v for k, v in expected.items() if v} == facts
    texts = {r["note_id"]: r["text"] for r in records}
    for note_id, own in facts.items():
        for fact in own:
            ev = fact["evidence"]
            assert texts[note_id][ev["char_start"] : ev["char_end"]] == ev["text"]
    screened = {v.patient_id: v.to_contract_dict() for v in screen(notes, load_trial(TRIAL), nlp=nlp)}
    assert stored_verdicts(store) == json.loads(json.dumps(screened))
    rows = query(store, "SELECT count(*), count(DISTINCT note_id), min(status), max(status) FROM notes")
    assert rows == [(30, 30, "done", "done")]


def test_a_rerun_processes_only_changed_notes_and_rescreens_their_patients(
    first_run: tuple[Path, Path, list[dict[str, Any]]], nlp: Language
) -> None:
    source, store, records = first_run
    changed = next(r for r in records if r["note_id"] == "P2-N1")
    changed["text"] = "Labs: Hgb 6.1 g/dL. Started rituximab."
    records.append({"patient_id": "P3", "note_id": "P3-N9", "date": "2025-05-30", "text": "Seizure last week."})
    write_jsonl(source, records)
    summary = run_batch(source, store, TRIAL, workers=0)
    assert (summary.processed, summary.skipped, summary.failed, summary.patients_screened) == (2, 29, 0, 2)
    ((_, facts),) = extractor.extract_notes(notes_of([changed]), nlp)
    assert stored_facts(store)["P2-N1"] == [fact.to_json_dict() for fact in facts]
    assert query(store, "SELECT count(*) FROM facts WHERE note_id = 'P2-N1'") == [(len(facts),)]
    runs = dict(query(store, "SELECT patient_id, run_id FROM verdicts ORDER BY patient_id"))
    assert runs == {"P0": 1, "P1": 1, "P2": 2, "P3": 2, "P4": 1, "P5": 1}
    assert stored_verdicts(store)["P2"]["criteria"][0]["id"] == "inc-age"

    again = run_batch(source, store, TRIAL, workers=0)
    assert (again.processed, again.skipped, again.patients_screened) == (0, 31, 0)


def test_faults_are_recorded_with_their_reason_and_the_run_goes_on(
    tmp_path: Path, inline: Language
) -> None:
    records = archive_records(patients=2, per_patient=5)
    records[1]["text"] = "RAISE-ME secret words"
    records[2]["text"] = "SLOW-ME secret words"
    records[3]["text"] = "x" * 5000 + " secret words"
    duplicate = {**records[4], "text": "a second copy of P0-N4"}
    source = write_jsonl(
        tmp_path / "notes.jsonl",
        [*records, duplicate],
        extra_lines={5: "{not json, secret words", 7: json.dumps({"patient_id": "P1", "text": "no id"})},
    )
    store = tmp_path / "store.duckdb"
    inline.add_pipe("batch_test_faults", after="extractor_sentences")
    try:
        summary = run_batch(source, store, TRIAL, workers=0, limits=Limits(max_chars=4000, seconds=1.0))
    finally:
        inline.remove_pipe("batch_test_faults")
    assert (summary.notes_read, summary.processed, summary.failed, summary.rejected) == (13, 7, 3, 3)
    errors = query(store, "SELECT stage, level, line, note_id, reason FROM errors ORDER BY line")
    assert [(stage, level, line, note_id) for stage, level, line, note_id, _ in errors] == [
        ("extract", "failed", 2, "P0-N1"),
        ("extract", "failed", 3, "P0-N2"),
        ("extract", "failed", 4, "P0-N3"),
        ("read", "rejected", 6, None),
        ("read", "rejected", 9, None),
        ("read", "rejected", 13, None),
    ]
    reasons = [reason for *_, reason in errors]
    assert reasons[0].startswith("RuntimeError in batch_test_faults at ")
    assert reasons[1].startswith("time limit exceeded: over 1 s (in batch_test_faults)")
    assert reasons[2] == "note too large: 5013 characters, limit 4000"
    assert "[E010]" in reasons[3] and "[E011]" in reasons[4] and "[E016]" in reasons[5]
    assert all("secret" not in reason for reason in reasons)
    statuses = dict(query(store, "SELECT note_id, status FROM notes"))
    assert statuses["P0-N1"] == "failed" and statuses["P0-N4"] == "done" and len(statuses) == 10
    assert stored_facts(store).get("P0-N1") is None
    assert query(store, "SELECT text FROM facts WHERE note_id = 'P0-N4' LIMIT 1") != []


def readme_queries() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## Batch screening", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


def test_the_readme_sql_examples_run_on_a_store(first_run: tuple[Path, Path, list[dict[str, Any]]]) -> None:
    _, store, _ = first_run
    queries = readme_queries()
    assert len(queries) >= 4
    with duckdb.connect(str(store), read_only=True) as con:  # "today" is 2025-04-20 for the test
        results = [con.execute(sql.replace("current_date", "DATE '2025-04-20'")).fetchall() for sql in queries]
    assert results[0] == [("P0",)]  # eGFR below 30 in the last 3 months


def test_a_store_opened_for_writing_checkpoints_its_log_past_64_mib(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        assert store.con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0] == "64.0 MiB"
