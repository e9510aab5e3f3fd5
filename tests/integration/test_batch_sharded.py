"""Sharded runs (``--run-dir``): workers write Parquet, committed shard by shard; the catalog's
views show exactly what a single-store run holds; a stopped run resumes without redoing
committed shards and never reads a half-written one."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import duckdb
import psutil
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.language import Language
from test_batch_inputs import archive_records, write_csv, write_jsonl, write_parquet
from test_batch_resume import EXTRACTOR, FILLER, TRIAL, Stop, reference_run, snapshot, stopping_after
from test_batch_store import query, readme_queries
from typer.testing import CliRunner

from extractor.batch import ExportFormat, export_store, run_batch, sharded
from extractor.batch.dataset import RunDir
from extractor.batch.shards import plan, read_shard
from extractor.batch.views import attach, compact
from extractor.cli.app import app
from extractor.notes import ReadReport, iter_csv
from extractor.report import build_views, material_from_store, reviews
from extractor.report.reviews import Decision, ReviewIn, Target
from extractor.store import Store, StoreError


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """24 notes of 6 patients over several shards, a corrupted line and a note id read twice
    (in two different shards)."""
    records = archive_records(patients=6, per_patient=4)
    for record in records:
        record["text"] += FILLER
    duplicate = json.dumps({**records[2], "text": "another note under an id already read"})
    return write_jsonl(tmp_path / "notes.jsonl", records, extra_lines={5: "{corrupted", 20: duplicate})


@pytest.fixture
def reference(tmp_path: Path, source: Path, inline: Language) -> dict[str, Any]:
    expected = reference_run(tmp_path, source)
    assert expected["counts"] == [(26, 24, 0, 0, 2, 6, "finished")]
    return expected


def sharded_run(source: Path | str, run_dir: Path | str, **options: Any) -> Any:
    return sharded.run_sharded(source, run_dir, TRIAL, **{"workers": 0, "shard_mb": 0.002, "screen_partitions": 3,
                                                            **options})


def test_a_sharded_run_shows_exactly_what_a_store_holds(
    tmp_path: Path, source: Path, reference: dict[str, Any]
) -> None:
    summary = sharded_run(source, tmp_path / "run")
    assert len(RunDir(str(tmp_path / "run")).committed("extract-")) >= 4  # several shards
    assert (summary.notes_read, summary.processed, summary.rejected, summary.patients_screened) == (26, 24, 2, 6)
    assert summary.main_peak_rss_mb is not None and summary.main_peak_rss_mb > 0
    catalog = tmp_path / "run" / "results.duckdb"
    assert snapshot(catalog) == reference  # lines, duplicates, verdicts and their basis included
    with duckdb.connect(str(catalog), read_only=True) as con:
        assert con.execute("SELECT seen_line FROM notes WHERE note_id = 'P0-N2'").fetchall() == [(3,)]
        assert con.execute("SELECT count(*) FROM criteria").fetchone()[0] > 6
    for name, store in (("single", tmp_path / "reference.duckdb"), ("sharded", catalog)):
        export_store(store, tmp_path / name, ExportFormat.JSONL)
    for name in ("facts.jsonl", "verdicts.jsonl"):
        assert (tmp_path / "sharded" / name).read_bytes() == (tmp_path / "single" / name).read_bytes()
    merged = tmp_path / "merged.duckdb"
    copied = compact(RunDir(str(tmp_path / "run")), merged)
    assert copied["notes"] == 24 and snapshot(merged) == reference
    later = run_batch(source, merged, TRIAL, workers=0)  # an ordinary store: a later run updates it
    assert (later.run_id, later.processed, later.skipped, later.patients_screened) == (2, 0, 24, 0)


def test_a_stopped_run_resumes_without_redoing_shards_or_reading_half_written_ones(
    tmp_path: Path, source: Path, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(sharded, "extract_shard", stopping_after(2, sharded.extract_shard))
        with pytest.raises(Stop):
            sharded_run(source, run_dir)
    run = RunDir(str(run_dir))
    committed = run.committed("extract-")
    assert len(committed) == 2
    # a task killed after writing a file but before its commit: the file is never read
    run.write_table("notes/shard-000002.parquet", sharded.arrow_rows(sharded.SHARD_NOTE_SCHEMA, []))
    attach(run, tmp_path / "mid-run.duckdb")  # what is committed so far, no verdict yet
    processed = sum(record["counts"]["processed"] for record in committed.values())
    assert query(tmp_path / "mid-run.duckdb", "SELECT count(*) FROM notes") == [(processed,)]
    assert query(tmp_path / "mid-run.duckdb", "SELECT count(*) FROM criteria") == [(0,)]
    calls: list[int] = []

    def counting(shard: Any, *args: Any) -> Any:
        calls.append(shard.number)
        return work_extract(shard, *args)

    work_extract = sharded.extract_shard
    monkeypatch.setattr(sharded, "extract_shard", counting)
    summary = sharded_run(source, run_dir)
    assert summary.resumed and summary.attempts == 2
    assert not set(calls) & {record["shard"] for record in committed.values()}
    assert snapshot(run_dir / "results.duckdb") == reference
    assert not (run_dir / "_tmp").exists()


def test_a_run_directory_url_and_a_parquet_input(tmp_path: Path, inline: Language) -> None:
    records = archive_records(patients=3, per_patient=4)
    source = write_parquet(tmp_path / "notes.parquet", records)  # row groups of 7: two shards at least
    with pytest.raises(StoreError, match="--store"):
        sharded_run(source, "memory://h20-run")
    summary = sharded_run(source, "memory://h20-run", catalog=tmp_path / "catalog.duckdb")
    assert (summary.processed, summary.patients_screened) == (12, 3)
    with Store.open(tmp_path / "catalog.duckdb", read_only=True) as store:  # registers the filesystem itself
        lines = store.con.execute("SELECT count(DISTINCT note_id), min(seen_line), max(seen_line) FROM notes")
        assert lines.fetchall() == [(12, 1, 12)]
    copied = compact(RunDir("memory://h20-run"), tmp_path / "merged.duckdb")
    assert (copied["notes"], copied["verdicts"]) == (12, 3)
    with pytest.raises(StoreError, match="another input"):
        sharded_run(tmp_path / "notes.parquet", "memory://h20-run", catalog=tmp_path / "c.duckdb",
                    screening_date=dt.date(2025, 1, 1))


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=0, max_value=90), min_size=1, max_size=40),
    shard_bytes=st.integers(min_value=1, max_value=400),
    last_newline=st.booleans(),
)
def test_shards_cover_every_line_once_and_count_lines(
    tmp_path_factory: pytest.TempPathFactory, lengths: list[int], shard_bytes: int, last_newline: bool
) -> None:
    path = tmp_path_factory.mktemp("plan") / "notes.jsonl"
    lines = [json.dumps({"patient_id": "P", "note_id": f"N{i}", "text": "x" * n}) if n % 7 else "" for i, n in
             enumerate(lengths)]
    text = "\n".join(lines) + ("\n" if last_newline else "")
    path.write_text(text, encoding="utf-8")
    shards, size = plan(str(path), shard_bytes)
    assert size == len(text.encode())
    if not text:
        assert shards == []
        return
    assert shards[0].start == 0 and shards[-1].end == size
    assert all(a.end == b.start for a, b in itertools.pairwise(shards))
    seen, total_lines = [], 0
    for shard in shards:
        report = ReadReport()
        seen.extend((total_lines + line + 1, note.note_id) for line, note in read_shard(shard, report))
        total_lines += report.size
    assert total_lines == text.count("\n") + (not text.endswith("\n"))
    assert seen == [(i + 1, f"N{i}") for i, n in enumerate(lengths) if n % 7]


CELLS = st.text(alphabet='ab ,"\n\r', max_size=30)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(CELLS, min_size=1, max_size=25), shard_bytes=st.integers(min_value=1, max_value=300))
def test_a_csv_is_cut_at_rows_and_read_as_a_whole_file_reads_it(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], shard_bytes: int
) -> None:
    # notes whose quoted text holds commas, quotes and line ends: a cut between two lines of
    # one note would split it
    path = write_csv(tmp_path_factory.mktemp("csv") / "notes.csv", [
        {"patient_id": "P", "note_id": f"N{i}", "text": text} for i, text in enumerate(texts)
    ])
    whole = ReadReport()
    expected = [(line, note.note_id, note.text) for line, note in iter_csv(path, whole)]
    shards, size = plan(str(path), shard_bytes)
    assert shards[0].start == 0 and shards[-1].end == size
    assert all(a.end == b.start for a, b in itertools.pairwise(shards))
    found, first_line = [], 1
    for shard in shards:
        report = ReadReport()
        found.extend((first_line + line, note.note_id, note.text) for line, note in read_shard(shard, report))
        assert not report.rejected
        first_line += report.size
    assert found == expected and not whole.rejected


def test_a_sharded_csv_run_holds_what_a_store_holds(tmp_path: Path, inline: Language) -> None:
    records = archive_records(patients=4, per_patient=3)
    for record in records:
        record["text"] += '\nSigned, "Dr. A"\n' + FILLER
    source = write_csv(tmp_path / "notes.csv", records)
    with source.open("a", encoding="utf-8") as handle:
        handle.write("P9,N-bad,2025-01-01\n")  # too few cells: rejected with its line
    store = tmp_path / "reference.duckdb"
    run_batch(source, store, TRIAL, workers=0)
    sharded_run(source, tmp_path / "run", shard_mb=0.001)
    assert len(RunDir(str(tmp_path / "run")).committed("extract-")) >= 4
    assert snapshot(tmp_path / "run" / "results.duckdb") == snapshot(store)
    assert query(store, "SELECT count(*) FROM errors WHERE level = 'rejected'") == [(1,)]


@pytest.mark.parametrize(
    ("shards", "workers", "count"),
    [
        (33, 1, 9),  # one per 4 shards
        (33, 2, 10),  # ... rounded up to a multiple of the workers: no lone task in the last round
        (1, 2, 8),  # at least 4 per worker
        (5000, 3, 63),  # at most 64, a multiple of the workers below it
        (5000, 100, 64),  # more workers than the bound: the bound
    ],
)
def test_screening_tasks_keep_every_worker_busy_to_the_end(shards: int, workers: int, count: int) -> None:
    assert sharded.partition_count(shards, workers) == count


def test_the_end_of_the_input_is_cut_in_smaller_shards(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "notes.jsonl", [
        {"patient_id": "P", "note_id": f"N{i}", "text": "x" * 90} for i in range(400)
    ])
    shards, size = plan(str(path), 4000)
    sizes = [shard.end - shard.start for shard in shards]
    assert max(sizes[-4:]) <= 1200 < min(sizes[:-10])  # quarter shards at the end, full ones before
    assert sum(sizes) == size


def test_buckets_are_stable_and_partitions_cover_them() -> None:
    assert [sharded.bucket_of(p) for p in ("P0", "P1", "BP0000001")] == [
        sharded.bucket_of(p) for p in ("P0", "P1", "BP0000001")
    ]
    assert sharded.bucket_of("P0") == zlib.crc32(b"P0") % sharded.BUCKETS
    for count in (1, 3, 64, 256, 1000):
        ranges = sharded.partitions(count)
        assert ranges[0][0] == 0 and ranges[-1][1] == sharded.BUCKETS
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))


def test_the_cli_runs_sharded_and_reports_memory(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "notes.jsonl", archive_records(patients=2, per_patient=3))
    command = [
        str(EXTRACTOR), "batch", str(source), "--trial", TRIAL, "--run-dir", str(tmp_path / "run"),
        "--workers", "0", "--shard-mb", "0.001", "--partitions", "2", "--memory-limit", "64",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "processed: 6" in done.stderr and "peak memory: main process " in done.stderr
    merged = tmp_path / "merged.duckdb"
    done = subprocess.run([str(EXTRACTOR), "compact", str(tmp_path / "run"), "-o", str(merged)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "notes 6" in done.stderr, done.stderr
    refused = subprocess.run([str(EXTRACTOR), "compact", str(tmp_path / "run"), "-o", str(merged)],
                             capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2 and "exists" in refused.stderr
    done = subprocess.run([str(EXTRACTOR), "attach", str(tmp_path / "run"), "--store", str(tmp_path / "c.duckdb")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert query(tmp_path / "c.duckdb", "SELECT count(*) FROM facts") == query(merged, "SELECT count(*) FROM facts")
    refused = subprocess.run([str(EXTRACTOR), "attach", str(tmp_path / "run"), "--store", str(merged)],
                             capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2 and "not the catalog of a sharded run" in refused.stderr


def test_the_store_holds_duckdb_to_its_memory_limit(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb", memory_mb=100) as store:
        assert store.con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "100.0 MiB"


def test_the_catalog_serves_the_readme_queries_the_report_and_keeps_reviews(
    tmp_path: Path, source: Path, inline: Language
) -> None:
    sharded_run(source, tmp_path / "run")
    catalog = tmp_path / "run" / "results.duckdb"
    with duckdb.connect(str(catalog), read_only=True) as con:
        answers = [con.execute(sql.replace("current_date", "DATE '2025-04-20'")).fetchall() for sql in readme_queries()]
    reference = tmp_path / "single.duckdb"
    run_batch(source, reference, TRIAL, workers=0)
    with duckdb.connect(str(reference), read_only=True) as con:
        expected = [
            con.execute(sql.replace("current_date", "DATE '2025-04-20'")).fetchall() for sql in readme_queries()
        ]
    assert answers == expected and answers[0] == [("P0",)]
    with Store.open(catalog, read_only=True) as store:
        material = material_from_store(store, TRIAL)
    assert len(build_views(material)) == 6
    review = ReviewIn(reviewer="ann", patient_id="P0", trial=TRIAL, target=Target.CRITERION, target_id="inc-age",
                      predicted="met", decision=Decision.CORRECT)
    with Store.open(catalog) as store:  # the review app opens it for writing
        reviews.ensure_table(store)
        reviews.save(store, review)
    attach(RunDir(str(tmp_path / "run")), catalog)  # rewritten: the views anew, the reviews kept
    with Store.open(catalog, read_only=True) as store:
        assert reviews.export(store, tmp_path / "reviews.jsonl") == 1
        assert store.con.execute("SELECT count(*) FROM notes").fetchone()[0] == 24
    with pytest.raises(StoreError, match="not the catalog"):
        attach(RunDir(str(tmp_path / "run")), reference)  # never over an ordinary store


def test_a_killed_main_process_resumes_exactly(tmp_path: Path, source: Path, reference: dict[str, Any]) -> None:
    """kill -9 of the main process once a shard is committed, with a local worker; the same
    command again finishes the run with every note once."""
    run_dir = tmp_path / "run"
    command = [
        str(EXTRACTOR), "batch", str(source), "--trial", TRIAL, "--run-dir", str(run_dir), "--workers", "1",
        "--shard-mb", "0.002", "--partitions", "3",
    ]
    run = RunDir(str(run_dir))
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not run.committed("extract-") and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None
    children = psutil.Process(first.pid).children(recursive=True)
    first.send_signal(signal.SIGKILL)
    first.wait()
    _, alive = psutil.wait_procs(children, timeout=60)
    assert alive == []
    committed = len(run.committed("extract-"))
    assert 0 < committed < 8
    second = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert second.returncode == 1, second.stderr  # exit 1: the source has two rejected lines
    assert "(resumed, attempt 2)" in second.stderr
    assert "notes read: 26  processed: 24  skipped: 0  failed: 0  rejected: 2  patients screened: 6" in second.stderr
    assert snapshot(run_dir / "results.duckdb") == reference


def test_shards_written_with_other_rules_are_run_again_and_screened_anew(
    tmp_path: Path, source: Path, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    sharded_run(source, run_dir)
    run = RunDir(str(run_dir))
    before = {name: record["pipeline"] for name, record in run.committed("extract-").items()}
    old_bases = dict(query(run_dir / "results.duckdb", "SELECT patient_id, basis FROM verdicts"))
    monkeypatch.setattr(sharded, "pipeline_fingerprint", lambda: "other-rules")
    summary = sharded_run(source, run_dir)
    assert summary.attempts == 2 and summary.processed == 24
    after = run.committed("extract-")
    assert set(after) == set(before) and {record["pipeline"] for record in after.values()} == {"other-rules"}
    assert query(run_dir / "results.duckdb", "SELECT DISTINCT pipeline FROM notes") == [("other-rules",)]
    new_bases = dict(query(run_dir / "results.duckdb", "SELECT patient_id, basis FROM verdicts"))
    assert new_bases.keys() == old_bases.keys() and not set(new_bases.values()) & set(old_bases.values())
    assert snapshot(run_dir / "results.duckdb") == reference


def test_a_directory_with_a_manifest_is_sharded_by_manifest_line(tmp_path: Path, inline: Language) -> None:
    records = archive_records(patients=3, per_patient=4)
    directory = tmp_path / "notes"
    directory.mkdir()
    with (directory / "manifest.jsonl").open("w", encoding="utf-8") as manifest:
        for record in records:
            (directory / f"{record['note_id']}.txt").write_bytes(record["text"].encode("utf-8"))
            entry = {k: v for k, v in record.items() if k != "text"}
            manifest.write(json.dumps({"file": f"{record['note_id']}.txt", **entry}) + "\n")
        manifest.write(json.dumps({"file": "missing.txt", "patient_id": "P9", "note_id": "X"}) + "\n")
    sharded_run(directory, tmp_path / "run", shard_mb=0.0005)
    run_batch(directory, tmp_path / "single.duckdb", TRIAL, workers=0)
    assert len(RunDir(str(tmp_path / "run")).committed("extract-")) >= 2
    assert snapshot(tmp_path / "run" / "results.duckdb") == snapshot(tmp_path / "single.duckdb")
    errors = query(tmp_path / "run" / "results.duckdb", "SELECT line, reason FROM errors")
    reason = "[E021] line 13: cannot read note file 'missing.txt' (FileNotFoundError). The note was skipped."
    assert errors == [(13, reason)]


def _start_two_worker_run(tmp_path: Path, source: Path, partitions: int) -> tuple[Path, RunDir, subprocess.Popen[str]]:
    """A sharded run of ``source`` on two local workers, started as its own process (to kill a part of)."""
    run_dir = tmp_path / "run"
    command = [
        str(EXTRACTOR), "batch", str(source), "--trial", TRIAL, "--run-dir", str(run_dir), "--workers", "2",
        "--shard-mb", "0.002", "--partitions", str(partitions), "--allow-failures",
    ]
    batch = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return run_dir, RunDir(str(run_dir)), batch


def test_a_local_worker_killed_mid_run_loses_no_note_and_repeats_none(
    tmp_path: Path, source: Path, reference: dict[str, Any]
) -> None:
    run_dir, run, batch = _start_two_worker_run(tmp_path, source, partitions=3)
    deadline = time.monotonic() + 240
    while not run.committed("extract-") and batch.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [
        child for child in psutil.Process(batch.pid).children()
        if any("spawn_main" in part for part in child.cmdline())
    ]
    assert batch.poll() is None and len(workers) == 2
    workers[0].send_signal(signal.SIGKILL)
    _, stderr = batch.communicate(timeout=300)
    assert batch.returncode == 0, stderr
    assert "notes read: 26  processed: 24  skipped: 0  failed: 0  rejected: 2  patients screened: 6" in stderr
    assert snapshot(run_dir / "results.duckdb") == reference
    # screening ran on fresh processes: extraction workers hold a pipeline it never uses
    extracted_by = {record["worker"] for record in run.committed("extract-").values()}
    screened_by = {record["worker"] for record in run.committed("screen-").values()}
    assert screened_by and not extracted_by & screened_by


def test_a_forked_screening_worker_killed_mid_run_loses_no_patient(
    tmp_path: Path, source: Path, reference: dict[str, Any]
) -> None:
    """Screening workers are forked from the main process (Linux): one killed once they are
    up, the run still ends with every patient screened once, the same verdicts."""
    run_dir, run, batch = _start_two_worker_run(tmp_path, source, partitions=4)
    main = psutil.Process(batch.pid)
    command_line = main.cmdline()

    def forked() -> list[psutil.Process]:  # children running the main's own command line: forked
        """Each child looked at on its own: an extraction worker that has just exited (a zombie
        until reaped) must not hide the forked screening workers started beside it."""
        try:
            children = main.children()
        except psutil.Error:
            return []
        found = []
        for child in children:
            try:
                if child.cmdline() == command_line:
                    found.append(child)
            except psutil.Error:
                continue
        return found

    deadline = time.monotonic() + 600  # a bound for a loaded machine, not a wait
    while not forked() and batch.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    victims = forked()
    if sys.platform == "linux":
        assert victims, "no forked screening worker seen"
    for victim in victims[:1]:
        victim.send_signal(signal.SIGKILL)
    _, stderr = batch.communicate(timeout=600)
    assert batch.returncode == 0, stderr
    assert snapshot(run_dir / "results.duckdb") == reference
    assert sum(record["counts"]["screened"] for record in run.committed("screen-").values()) == 6


def test_patients_stream_through_screening_across_fetches_and_row_groups(
    tmp_path: Path, source: Path, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a patient's notes and facts cut across fetches of 3 rows; verdicts written 2 at a time
    monkeypatch.setattr(sharded, "SCREEN_FETCH_ROWS", 3)
    monkeypatch.setattr(sharded, "VERDICT_ROW_GROUP", 2)
    sharded_run(source, tmp_path / "run", screen_partitions=1)
    assert snapshot(tmp_path / "run" / "results.duckdb") == reference
    verdicts = pq.ParquetFile(tmp_path / "run" / "verdicts" / "part-0000.parquet")
    assert [verdicts.metadata.row_group(i).num_rows for i in range(verdicts.metadata.num_row_groups)] == [2, 2, 2]


@pytest.mark.parametrize(
    ("input_name", "options", "message"),
    [
        ("notes.jsonl", [], "give --store (one DuckDB file) or --run-dir"),
        ("notes.csv", ["--run-dir", "RUN"], "the header has no column patient_id"),
        ("notes.txt", ["--run-dir", "RUN"], "a sharded run (--run-dir) reads JSON Lines, CSV"),
        ("notes", ["--run-dir", "RUN"], "manifest.jsonl"),
    ],
)
def test_sharded_usage_errors_exit_2(tmp_path: Path, input_name: str, options: list[str], message: str) -> None:
    source = tmp_path / input_name
    if input_name == "notes":
        source.mkdir()
        (source / "manifest.csv").write_text("file,patient_id,note_id\n", encoding="utf-8")
    else:
        source.write_text("", encoding="utf-8")
    arguments = [part.replace("RUN", str(tmp_path / "run")) for part in options]
    result = CliRunner().invoke(app, ["batch", str(source), "--trial", TRIAL, *arguments])
    assert result.exit_code == 2 and message in " ".join(result.output.split())
    assert not (tmp_path / "run").exists()


def test_a_relative_run_directory_means_the_same_directory_to_every_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert RunDir("runs/2026-12").url == str(tmp_path / "runs" / "2026-12")
    assert RunDir("s3://bucket/runs/2026-12").url == "s3://bucket/runs/2026-12"
    assert sharded._source_url("notes.jsonl") == str(tmp_path / "notes.jsonl")
