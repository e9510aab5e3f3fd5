"""Nothing a user sends ends an ``extract`` or ``screen`` run: each bad note is reported
(line, note id, reason, never its text), the rest go on, the exit code says so."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from spacy.language import Language
from typer.testing import CliRunner

import extractor
from extractor.cli.app import app
from extractor.isolation import extract_isolated
from extractor.notes import Note, ReadReport

SECRET = "Patient-text-XYZZY"  # must never appear in any message


@pytest.fixture
def shared_pipeline(nlp: Language, monkeypatch: pytest.MonkeyPatch) -> Language:
    """Commands use the session's pipeline instead of loading their own."""
    monkeypatch.setattr(extractor, "load", lambda *args, **kwargs: nlp)
    return nlp


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def note_line(note_id: str, text: str, date: str | None = "2025-01-10", **extra: str) -> str:
    record = {"patient_id": "P1", "note_id": note_id, "text": text, **extra}
    if date is not None:
        record["date"] = date
    return json.dumps(record)


def invoke(*args: str, **kwargs: object) -> object:
    return CliRunner().invoke(app, list(args), **kwargs)


def test_a_lone_surrogate_is_one_rejected_note_not_a_crash(tmp_path: Path, shared_pipeline: Language) -> None:
    notes = write_lines(tmp_path / "n.jsonl", [
        '{"patient_id": "P1", "note_id": "A", "date": "2025-01-10", "text": "SLE \\ud800 ' + SECRET + '"}',
        '{"patient_id": "P\\udfff", "note_id": "B", "date": "2025-01-10", "text": "SLE"}',
        note_line("C", "History of SLE."),
    ])
    out = tmp_path / "facts.jsonl"
    result = invoke("extract", str(notes), "-o", str(out))
    assert result.exit_code == 1, result.output
    assert "notes read: 3  processed: 1  rejected: 2  failed: 0" in result.stderr
    assert "[E024] line 1: field 'text'" in result.stderr and "[E024] line 2: field 'patient_id'" in result.stderr
    assert SECRET not in result.stderr
    assert {json.loads(line)["evidence"]["note_id"] for line in out.read_text().splitlines()} == {"C"}
    allowed = invoke("extract", str(notes), "-o", str(out), "--allow-failures")
    assert allowed.exit_code == 0
    assert invoke("extract", str(notes), "-o", str(out), "--max-failures", "2").exit_code == 0
    assert invoke("extract", str(notes), "-o", str(out), "--max-failures", "1").exit_code == 1


def test_a_note_over_the_pipeline_limit_is_refused_with_its_reason(
    tmp_path: Path, shared_pipeline: Language, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_pipeline, "max_length", 200)
    notes = write_lines(tmp_path / "n.jsonl", [note_line("LONG", SECRET + " SLE. " * 60), note_line("OK", "SLE.")])
    out = tmp_path / "facts.jsonl"
    result = invoke("extract", str(notes), "-o", str(out))
    assert result.exit_code == 1
    assert "processed: 1  rejected: 0  failed: 1" in result.stderr
    assert "[E028] line 1: note 'LONG' has 378 characters, over the pipeline's limit of 200." in result.stderr
    assert SECRET not in result.stderr
    assert {json.loads(line)["evidence"]["note_id"] for line in out.read_text().splitlines()} == {"OK"}


@Language.component("test_boom")
def _boom(doc: object) -> object:
    if "BOOM" in doc.text:  # type: ignore[attr-defined]
        raise RuntimeError(f"cannot read {doc.text}")  # type: ignore[attr-defined]  # a message quoting the note
    return doc


def test_a_stage_raising_on_one_note_fails_that_note_alone() -> None:
    nlp = extractor.load(disable=extractor.PIPELINE[:-1])  # extractor_facts only: fast
    nlp.add_pipe("test_boom", first=True)
    notes = [Note(patient_id="P", note_id=n, text=t) for n, t in (("A", "fine"), ("B", f"BOOM {SECRET}"), ("C", "ok"))]
    report = ReadReport()
    done = [note.note_id for note, _ in extract_isolated(enumerate(notes, start=1), nlp, report)]
    assert done == ["A", "C"]
    ((line, message),) = report.failed
    assert line == 2 and message.startswith("[E029] line 2: note 'B' failed in the pipeline (RuntimeError in test_boom")
    assert SECRET not in message


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31"])
def test_extreme_dates_are_warned_and_never_crash(tmp_path: Path, shared_pipeline: Language, date: str) -> None:
    notes = write_lines(tmp_path / "n.jsonl", [
        note_line("A", "Seizure 3 months ago. SLE.", date=date, birth_date="1980-05-01"),
    ])
    result = invoke("extract", str(notes))
    assert result.exit_code == 0, result.output
    assert f"[E013] line 1: date '{date}' is not an ISO 8601 date (YYYY-MM-DD or a date-time) from 1800 to 2999" in (
        result.stderr
    )


@pytest.mark.parametrize(("date", "text"), [
    (dt.date(1, 1, 1), "Seizure 3 months ago."),  # year 0 does not exist
    (dt.date(1, 1, 3), "Seizure 2 weeks ago."),
    (dt.date(1, 1, 5), "Seizure last year."),
])
def test_relative_times_off_the_calendar_stay_unresolved(nlp: Language, date: dt.date, text: str) -> None:
    doc = nlp(extractor.make_doc(nlp, text, "n", date))
    assert [e["precision"] for e in doc._.time_expressions] == ["unresolved"]
    seizure = next(f for f in doc._.facts if f.concept == "seizure")
    assert seizure.time is None  # an unresolved time is no time, as on an undated note


def test_stdin_is_read_with_a_dash(shared_pipeline: Language) -> None:
    result = invoke("extract", "-", input=note_line("A", "History of SLE.") + "\n")
    assert result.exit_code == 0, result.output
    assert "notes read: 1  processed: 1" in result.stderr
    assert {json.loads(line)["concept"] for line in result.stdout.splitlines()} >= {"sle"}


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("extractor 0.")


def test_messages_are_not_wrapped_when_stderr_is_not_a_terminal(tmp_path: Path, shared_pipeline: Language) -> None:
    long_id = "N-" + "x" * 120
    notes = write_lines(tmp_path / "n.jsonl", [note_line(long_id, "SLE", date=None)])
    result = invoke("extract", str(notes))
    warning = next(line for line in result.stderr.splitlines() if "[E026]" in line)
    assert len(warning) > 120 and warning.endswith("Give each note a date.")  # one line, not 80-column pieces


def lines_of(stream: str) -> Iterator[dict[str, object]]:
    return (json.loads(line) for line in stream.splitlines())


def facts_stage_only() -> Language:
    """A pipeline of the facts stage alone, refusing notes over 50 characters (cheap to load in workers)."""
    nlp = extractor.load(disable=extractor.PIPELINE[:-1])
    nlp.max_length = 50
    return nlp


def test_worker_processes_isolate_notes_and_keep_the_order() -> None:
    notes = [Note(patient_id="P", note_id=n, text=t) for n, t in (("A", "short"), ("B", "x" * 80), ("C", "ok"))]
    report = ReadReport()
    done = extract_isolated(enumerate(notes, start=1), facts_stage_only(), report, n_process=2, load=facts_stage_only)
    assert [note.note_id for note, _ in done] == ["A", "C"]
    assert report.failed == [(2, "[E028] line 2: note 'B' has 80 characters, over the pipeline's limit of 50. "
                                 "Split it into smaller notes. The note was skipped.")]
