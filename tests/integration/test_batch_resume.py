"""A run stopped at any point and restarted with the same command ends exactly like a clean
run: every note once, the same facts, verdicts, errors and counts."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from spacy.language import Language
from test_batch_inputs import archive_records, write_jsonl

from extractor.batch import run_batch, runner, work
from extractor.store import Store

TRIAL = "blinatumomab-sle"
EXTRACTOR = Path(sys.executable).parent / "extractor"


FILLER = (
    "Review of systems: no fever, chills or night sweats; no chest pain; no dyspnea on exertion; "
    "no abdominal pain, nausea or diarrhea; joints stiff in the morning for 30 minutes.\n"
)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """40 notes of 8 patients (long enough for a kill to land mid-run), a corrupted line and
    a duplicate id."""
    records = archive_records(patients=8, per_patient=5)
    for record in records:
        record["text"] += FILLER * 8
    duplicate = json.dumps({**records[3], "text": "another note under an id already read"})
    return write_jsonl(tmp_path / "notes.jsonl", records, extra_lines={7: "{corrupted", 20: duplicate})


def snapshot(store: Path) -> dict[str, Any]:
    """Everything a run leaves, without times and run ids (a catalog opened as the commands open it)."""
    with Store.open(store, read_only=True) as opened:
        con = opened.con

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return con.execute(sql).fetchall()

        return {
            "notes": rows("SELECT note_id, patient_id, status, content_hash, fact_count FROM notes ORDER BY note_id"),
            "facts": rows("SELECT note_id, seq, CAST(fact AS VARCHAR) FROM facts ORDER BY note_id, seq"),
            "verdicts": rows("SELECT patient_id, trial, CAST(verdict AS VARCHAR) FROM verdicts ORDER BY patient_id"),
            "errors": rows("SELECT stage, level, line, note_id, reason FROM errors ORDER BY stage, line"),
            "counts": rows(
                "SELECT notes_read, processed, skipped, failed, rejected, patients_screened, status FROM runs"
            ),
        }


def reference_run(tmp_path: Path, source: Path) -> dict[str, Any]:
    """The snapshot of one single-process run of ``source``: what every other run must equal."""
    store = tmp_path / "reference.duckdb"
    run_batch(source, store, TRIAL, workers=0)
    return snapshot(store)


@pytest.fixture
def reference(tmp_path: Path, source: Path, inline: Language) -> dict[str, Any]:
    expected = reference_run(tmp_path, source)
    assert expected["counts"] == [(42, 40, 0, 0, 2, 8, "finished")]
    assert len(expected["facts"]) > 100
    return expected


class Stop(BaseException):
    """Stands for a kill: nothing after it runs, nothing catches it."""


def stopping_after(calls: int, function: Any) -> Any:
    count = 0

    def wrapper(*args: Any) -> Any:
        nonlocal count
        count += 1
        if count > calls:
            raise Stop
        return function(*args)

    return wrapper


def test_a_run_stopped_during_extraction_resumes_exactly(
    tmp_path: Path, source: Path, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store.duckdb"
    monkeypatch.setattr(runner, "COMMIT_NOTES", 3)
    with monkeypatch.context() as patch:
        patch.setattr(runner, "extract_batch", stopping_after(5, work.extract_batch))
        with pytest.raises(Stop):
            run_batch(source, store, TRIAL, workers=0, batch_size=2)
    assert 0 < len(snapshot(store)["notes"]) < 40
    summary = run_batch(source, store, TRIAL, workers=0, batch_size=2)
    assert summary.resumed and summary.attempts == 2
    assert snapshot(store) == reference


def test_a_run_stopped_during_screening_resumes_exactly(
    tmp_path: Path, source: Path, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store.duckdb"
    monkeypatch.setattr(runner, "SCREEN_CHUNK", 2)
    monkeypatch.setattr(runner, "COMMIT_SECONDS", 0.0)
    with monkeypatch.context() as patch:
        patch.setattr(runner, "screen_batch", stopping_after(2, work.screen_batch))
        with pytest.raises(Stop):
            run_batch(source, store, TRIAL, workers=0)
    assert len(snapshot(store)["verdicts"]) == 4
    summary = run_batch(source, store, TRIAL, workers=0)
    assert summary.resumed and summary.patients_screened == 8
    assert snapshot(store) == reference


@pytest.mark.parametrize(("workers", "seed"), [(0, 11), (1, 12)])
def test_a_killed_process_resumes_exactly(
    tmp_path: Path, source: Path, reference: dict[str, Any], workers: int, seed: int
) -> None:
    """kill -9 of the main process after a random number of notes were processed, then the
    same command again. Its worker processes end by themselves."""
    store = tmp_path / "store.duckdb"
    command = [
        str(EXTRACTOR), "batch", str(source), "--trial", TRIAL, "--store", str(store),
        "--workers", str(workers), "--batch-size", "2", "--log-every", "0.05",
    ]
    target = random.Random(seed).randint(2, 30)
    log = tmp_path / "first.log"
    with log.open("w") as stderr:
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 240
        while first.poll() is None and time.monotonic() < deadline and _processed(log) < target:
            time.sleep(0.05)
        assert first.poll() is None, log.read_text()
        children = psutil.Process(first.pid).children(recursive=True)
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert target <= _processed(log) < 40, log.read_text()
    assert len(children) >= workers
    _, alive = psutil.wait_procs(children, timeout=60)  # a worker still importing notices late
    assert alive == []
    second = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert second.returncode == 1, second.stderr  # exit 1: the source has two rejected lines
    assert "(resumed, attempt 2)" in second.stderr
    assert "notes read: 42  processed: 40  skipped: 0  failed: 0  rejected: 2  patients screened: 8" in second.stderr
    assert snapshot(store) == reference


def _processed(log: Path) -> int:
    """The latest 'processed N' count in a progress log."""
    counts = [int(part.split()[1]) for part in log.read_text().split("  ") if part.startswith("processed ")]
    return counts[-1] if counts else 0
