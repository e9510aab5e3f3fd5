"""A sharded batch run: workers write Parquet under a run directory; the main process only
schedules and counts.

Phase 1, extraction: the input is cut into shards by position (``shards``); a task reads
its shard, extracts every note and writes the shard's notes, facts and errors as three
Parquet files, then commits them (``dataset``). Phase 2, after note ids read twice are
found (a query over the ``note_id`` column only): patients are partitioned by a hash of
their id into ``BUCKETS`` buckets, written with every note and fact row; a screening
task reads its buckets' notes and facts from the dataset, screens each patient and
writes and commits their verdicts. A killed run, rerun with the same command, skips the
committed tasks; the note text and facts never pass through the main process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import resource
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from extractor.batch.dataset import Rows, RunDir, connect, parquet_list, refuse_credentials, release_memory
from extractor.batch.dispatch import Dispatcher
from extractor.batch.executors import WORKER_MEMORY_MB, WorkersUnavailable, open_executor
from extractor.batch.progress import Counts, Reporter, Silent
from extractor.batch.runner import RunSummary, content_hash, pipeline_fingerprint, trial_file
from extractor.batch.shards import Shard, input_kind, plan, read_shard
from extractor.batch.work import Limits, WorkerStats, extract_note, pipeline, screen_one, task_started, worker_stats
from extractor.errors import Errors
from extractor.notes import ReadReport
from extractor.screening import load_trial
from extractor.store import (
    ERROR_SCHEMA,
    FACT_SCHEMA,
    MEMORY_LIMIT_MB,
    NOTE_SCHEMA,
    VERDICT_SCHEMA,
    RunKey,
    Store,
    StoreError,
    arrow_rows,
    now,
)

RUN_ID = 1  # a run directory holds one run
BUCKETS = 256  # patients' hash buckets; a screening task takes a range of them
SHARD_MB = 8.0  # input bytes per extraction task (about 2,000 notes of 4 kB)
SCREEN_PARTITIONS = 64  # at most this many screening tasks (bucket ranges) by default
SHARDS_PER_PARTITION = 4  # ... and about one per this many shards (each task reads every shard's footer)
PARTITIONS_PER_WORKER = 4  # ... and at least this many per worker (short tasks: short idle tails)
LOST_SHARD = "the worker died twice on this shard"
# rows per Parquet row group, so that a screening task's bucket filter skips most of a
# shard's (sorted by bucket: about 2,000 notes and 20,000 facts of a shard of 8 MB span all
# 256 buckets, so a group holds a few buckets' rows)
NOTE_ROW_GROUP = 128
FACT_ROW_GROUP = 1024
NOTE_ORDER = ("bucket", "patient_id", "note_id")
FACT_ORDER = ("bucket", "patient_id", "note_id", "seq")
SCREEN_FETCH_ROWS = 2048  # rows a screening task takes from DuckDB at a time
VERDICT_ROW_GROUP = 256  # verdicts written at a time

# what workers add to the store's columns: where a row came from, and its patient's bucket
SHARD_COLUMNS = [("shard", pa.int32()), ("rel_line", pa.int64()), ("bucket", pa.int16())]
SHARD_NOTE_SCHEMA = pa.schema([*NOTE_SCHEMA, *(pa.field(n, t) for n, t in SHARD_COLUMNS)])
SHARD_FACT_SCHEMA = pa.schema([*FACT_SCHEMA, pa.field("shard", pa.int32()), pa.field("bucket", pa.int16())])
SHARD_ERROR_SCHEMA = pa.schema([*ERROR_SCHEMA, pa.field("shard", pa.int32())])
DUPLICATE_SCHEMA = pa.schema([("note_id", pa.string()), ("shard", pa.int32()), ("rel_line", pa.int64())])


def bucket_of(patient_id: str) -> int:
    """The patient's bucket: the same on every worker and every run (crc32, not ``hash()``)."""
    return zlib.crc32(patient_id.encode("utf-8")) % BUCKETS


def shard_files(number: int) -> dict[str, str]:
    return {table: f"{table}/shard-{number:06d}.parquet" for table in ("notes", "facts", "errors")}


def partition_files(number: int) -> dict[str, str]:
    return {"verdicts": f"verdicts/part-{number:04d}.parquet", "errors": f"screen-errors/part-{number:04d}.parquet"}


@dataclass(frozen=True)
class ShardResult:
    """What a task tells the main process: counts, never notes or facts."""

    shard: int
    counts: dict[str, int]
    stats: WorkerStats


# ---------------------------------------------------------------------- extraction (worker)
def extract_shard(shard: Shard, run: RunDir, pipeline_id: str, limits: Limits) -> ShardResult:
    """Extract every note of ``shard`` and commit its notes, facts and errors to ``run``."""
    began = time.time()
    nlp = pipeline()
    loaded = time.time() - began  # the pipeline's loading, on a worker's first task
    start = task_started()
    report = ReadReport()
    at = now()
    notes, facts = Rows(SHARD_NOTE_SCHEMA, NOTE_ROW_GROUP), Rows(SHARD_FACT_SCHEMA, FACT_ROW_GROUP)
    errors: list[tuple[Any, ...]] = []
    first_line: dict[str, int] = {}
    processed = failed = 0
    for line, note in read_shard(shard, report):
        if note.note_id in first_line:
            report.rejected.append((line, Errors.E016.format(line=line, note_id=note.note_id)))
            continue
        first_line[note.note_id] = line
        try:
            digest = content_hash(note)
        except UnicodeEncodeError:
            report.rejected.append((line, Errors.E019.format(line=line)))
            continue
        date = note.date.isoformat() if note.date else None
        result = extract_note(nlp, (note.note_id, note.patient_id, date, note.text), limits)
        bucket = bucket_of(note.patient_id)
        notes.append((
            note.note_id, note.patient_id, note.date, note.type, note.sex, note.birth_date,
            json.dumps(note.extra, ensure_ascii=True, default=str) if note.extra else None,
            note.text, digest, pipeline_id, "done" if result.failure is None else "failed",
            RUN_ID, line, RUN_ID, at, len(result.facts), result.milliseconds, shard.number, line, bucket,
        ))
        facts.extend((*row, shard.number, bucket) for row in result.facts)
        if result.failure is None:
            processed += 1
        else:
            failed += 1
            errors.append((RUN_ID, "extract", "failed", line, note.note_id, note.patient_id, result.failure, at,
                           shard.number))
    for level, messages in (("rejected", report.rejected), ("warning", report.warnings)):
        errors.extend(
            (RUN_ID, "read", level, line, None, None, message, at, shard.number) for line, message in messages
        )
    counts = {
        "lines": report.size, "read": report.read, "processed": processed, "failed": failed,
        "rejected": len(report.rejected), "facts": len(facts),
    }
    # sorted by bucket: a screening task's reads skip the row groups of other buckets
    files = shard_files(shard.number)
    run.write_table(files["notes"], notes.table(), NOTE_ROW_GROUP, NOTE_ORDER)
    run.write_table(files["facts"], facts.table(), FACT_ROW_GROUP, FACT_ORDER)
    run.write_table(files["errors"], arrow_rows(SHARD_ERROR_SCHEMA, errors))
    release_memory()
    stats = worker_stats(start)
    run.commit(f"extract-{shard.number:06d}", {
        "shard": shard.number, "start": shard.start, "end": shard.end, "pipeline": pipeline_id,
        "files": files, "counts": counts, "worker": stats.worker, "peak_rss_mb": round(stats.peak_rss_mb, 1),
        **_timing(began, loaded),
    })
    return ShardResult(shard.number, counts, stats)


# ---------------------------------------------------------------------- screening (worker)
def screen_partition(
    part: tuple[int, tuple[int, int]], run: RunDir, tables: dict[str, Any], trial: Any,
    screening_date: dt.date | None, basis_suffix: str,
) -> ShardResult:
    """Screen every patient of partition ``(number, (lo, hi))``, buckets ``lo`` to ``hi - 1``,
    from the dataset's committed files (``tables``); commit their verdicts.

    Patients stream through one at a time: their notes and facts come sorted by patient
    from DuckDB (which sorts within its memory limit, spilling to a temporary directory
    beyond it) and verdicts are written a row group at a time, so a task's memory does
    not grow with its partition."""
    began = time.time()
    start = task_started()
    number, (lo, hi) = part
    files = partition_files(number)
    errors: list[tuple[Any, ...]] = []
    screened = 0
    verdicts = Rows(VERDICT_SCHEMA, VERDICT_ROW_GROUP)
    with (
        tempfile.TemporaryDirectory(prefix="extractor-screen-") as spill,
        connect(run, temp_directory=spill) as con,
        run.table_writer(files["verdicts"], VERDICT_SCHEMA) as writer,
    ):
        for patient_id, keys, notes, facts in _patients(con, run, tables, lo, hi):
            # the basis a single store computes (``Store.patients_to_screen``): notes in id order
            basis = hashlib.md5((",".join(keys) + basis_suffix).encode(), usedforsecurity=False).hexdigest()
            result = screen_one(patient_id, notes, facts, trial, screening_date) if notes else None
            failure = "no note of this patient could be processed" if result is None else result.failure
            verdict_date = dt.date.fromisoformat(result.screening_date) if result and result.screening_date else None
            verdicts.append((
                patient_id, trial.name, verdict_date, result.overall if result else None, basis, RUN_ID,
                result.verdict if result else None,
            ))
            if failure is None:
                screened += 1
            else:
                errors.append((RUN_ID, "screen", "failed", None, None, patient_id, failure, now(), None))
            if len(verdicts) >= VERDICT_ROW_GROUP:
                writer.write_table(verdicts.table())
        if len(verdicts):
            writer.write_table(verdicts.table())
    run.write_table(files["errors"], arrow_rows(SHARD_ERROR_SCHEMA, errors))
    release_memory()
    counts = {"screened": screened, "screen_failed": len(errors)}
    stats = worker_stats(start)
    run.commit(f"screen-{number:04d}", {
        "partition": number, "buckets": [lo, hi], "files": files, "counts": counts, "worker": stats.worker,
        "peak_rss_mb": round(stats.peak_rss_mb, 1), **_timing(began),
    })
    return ShardResult(number, counts, stats)


def _patients(
    con: Any, run: RunDir, tables: dict[str, Any], lo: int, hi: int
) -> Iterator[tuple[str, list[str], list[dict[str, Any]], list[str]]]:
    """Each patient of buckets ``[lo, hi)`` in id order: the keys of all their notes (for the
    basis), their processed notes (``Note`` fields) and their facts (JSON), in note and fact
    order. One query: notes then facts of each patient, fetched a few thousand rows at a time."""
    dup = f"read_parquet({parquet_list(run, tables['duplicates'])})"
    kept = (
        f"ANTI JOIN {dup} d ON d.note_id = t.note_id AND d.shard = t.shard WHERE t.bucket >= {lo} AND t.bucket < {hi}"
    )
    cursor = con.execute(
        "SELECT t.patient_id, 0 AS part, t.note_id, NULL::INTEGER AS seq, t.text, t.date, t.type, t.sex, "
        "t.birth_date, t.status, t.content_hash, t.pipeline, NULL::VARCHAR AS fact "
        f"FROM read_parquet({parquet_list(run, tables['notes'])}) t {kept} "
        "UNION ALL SELECT t.patient_id, 1, t.note_id, t.seq, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, t.fact "
        f"FROM read_parquet({parquet_list(run, tables['facts'])}) t {kept} "
        "ORDER BY patient_id, part, note_id, seq"
    )
    fields = ("patient_id", "note_id", "text", "date", "type", "sex", "birth_date")
    patient: str | None = None
    keys: list[str] = []
    notes: list[dict[str, Any]] = []
    facts: list[str] = []
    while rows := cursor.fetchmany(SCREEN_FETCH_ROWS):
        for row in rows:
            if row[0] != patient:
                if patient is not None:
                    yield patient, keys, notes, facts
                patient, keys, notes, facts = row[0], [], [], []
            if row[1] == 0:
                keys.append(f"{row[2]}:{row[10]}:{row[11]}:{row[9]}")
                if row[9] == "done":
                    notes.append(dict(zip(fields, (row[0], row[2], *row[4:9]), strict=True)))
            else:
                facts.append(row[12])
    if patient is not None:
        yield patient, keys, notes, facts


def partition_count(shards: int, workers: int) -> int:
    """How many screening tasks: about one per ``SHARDS_PER_PARTITION`` shards, at least
    ``PARTITIONS_PER_WORKER`` per worker, at most ``SCREEN_PARTITIONS``; and a multiple of
    the workers where that bound allows, so the last round of tasks keeps every worker busy
    (9 tasks on 2 workers take 5 rounds, where 9 take 9 on one: 1.8x at best)."""
    wanted = max(PARTITIONS_PER_WORKER * workers, -(-shards // SHARDS_PER_PARTITION))
    rounded = -(-wanted // workers) * workers
    if rounded <= SCREEN_PARTITIONS:
        return rounded
    return SCREEN_PARTITIONS // workers * workers or SCREEN_PARTITIONS


def _timing(began: float, load_seconds: float = 0.0) -> dict[str, float]:
    """When a task began (seconds since the epoch, the worker's clock), how long it ran and how
    much of that loading the pipeline took: what ``scripts/bench_batch.py`` splits a run's time by."""
    return {"began": round(began, 3), "seconds": round(time.time() - began, 3), "load_seconds": round(load_seconds, 3)}


def partitions(count: int) -> list[tuple[int, int]]:
    """``count`` contiguous bucket ranges covering every bucket."""
    count = max(1, min(count, BUCKETS))
    edges = [round(i * BUCKETS / count) for i in range(count + 1)]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


# ---------------------------------------------------------------------- the main process
def dataset_tables(run: RunDir) -> dict[str, Any]:
    """The committed files of a run by table, and each shard's line count, from the commit records."""
    extract = run.committed("extract-")
    screened = run.committed("screen-")
    duplicates = run.committed("duplicates")
    return {
        "notes": [record["files"]["notes"] for record in extract.values()],
        "facts": [record["files"]["facts"] for record in extract.values()],
        "errors": [record["files"]["errors"] for record in extract.values()]
        + [record["files"]["errors"] for record in screened.values()],
        "verdicts": [record["files"]["verdicts"] for record in screened.values()],
        "duplicates": ["duplicates.parquet"] if duplicates else [],
        "lines": {record["shard"]: record["counts"]["lines"] for record in extract.values()},
    }


def find_duplicates(run: RunDir, memory_mb: float) -> None:
    """Commit ``duplicates.parquet``: each note id read in several shards, all copies but the
    first (reads the ``note_id``, ``shard`` and ``rel_line`` columns only)."""
    notes = dataset_tables(run)["notes"]
    rows: list[tuple[Any, ...]] = []
    if notes:
        with connect(run, memory_mb) as con:
            rows = con.execute(
                f"SELECT note_id, shard, rel_line FROM read_parquet({parquet_list(run, notes)}) "
                "QUALIFY row_number() OVER (PARTITION BY note_id ORDER BY shard, rel_line) > 1 "
                "ORDER BY shard, rel_line"
            ).fetchall()
    run.write_table("duplicates.parquet", arrow_rows(DUPLICATE_SCHEMA, rows))
    run.commit("duplicates", {"files": {"duplicates": "duplicates.parquet"}, "count": len(rows)})


def _begin(run: RunDir, key: RunKey, settings: dict[str, Any], executor: str, workers: int) -> dict[str, Any]:
    """Start the run recorded in ``run.json``, or resume it; refuse a directory of another run."""
    if run.exists("run.json"):
        state = run.read_json("run.json")
        if state["run_key"] != key.digest:
            raise StoreError(
                f"the run directory {run.url} holds a run of another input, trial or screening date; "
                "use a new directory"
            )
        state.update(attempts=state["attempts"] + 1, executor=executor, workers=workers)
    else:
        state = {
            "run_id": RUN_ID, "run_key": key.digest, "input": key.input, "trial": key.trial,
            "screening_date": key.screening_date.isoformat() if key.screening_date else None,
            "status": "started", "attempts": 1, "started_at": now().isoformat(),
            "executor": executor, "workers": workers, **settings,
        }
    run.write_json("run.json", state)
    return state


def _source_url(source: str | Path) -> str:
    """The input as every worker can open it: an absolute path, or a URL."""
    text = str(source)
    refuse_credentials(text)
    return text if "://" in text else str(Path(text).resolve())


def run_sharded(
    source: str | Path,
    run_dir: str | Path,
    trial: str | Path,
    *,
    catalog: Path | None = None,
    workers: int = 1,
    dask: str | Any | None = None,
    shard_mb: float = SHARD_MB,
    screen_partitions: int | None = None,
    worker_memory_mb: float = WORKER_MEMORY_MB,
    limits: Limits | None = None,
    screening_date: dt.date | None = None,
    reporter: Reporter | None = None,
    memory_mb: float = MEMORY_LIMIT_MB,
) -> RunSummary:
    """Extract ``source`` (JSON Lines or Parquet, a path or URL every worker can read) into
    the run directory ``run_dir`` (a path or fsspec URL), then screen every patient for
    ``trial``; then write ``catalog`` (default ``run_dir/results.duckdb`` for a local
    directory), a DuckDB file whose views show the run as the store's tables.

    Rerun the same command after a kill: committed shards and partitions are not run again.
    ``shard_mb`` and ``screen_partitions`` (default: one per 4 shards, at least 2 per worker,
    at most 64) are fixed by a run's first attempt.
    """
    from extractor.batch.views import attach

    started = time.monotonic()
    started_epoch = time.time()
    reporter = reporter or Silent()
    run = RunDir(str(run_dir))
    if catalog is None:
        if not run.is_local:
            raise StoreError("a run directory on object storage needs a local catalog file: give --store")
        catalog = Path(run.path("results.duckdb"))
    url = _source_url(source)
    trial_path = trial_file(trial)
    counts = Counts()
    peaks: dict[str, float] = {}
    try:
        # the workers start first and load the pipeline while this process reads the trial
        # and plans the shards (``warm``): set-up time that a run would otherwise add before
        # its first note, the same for 1 worker as for 16, so it caps the speed-up
        with open_executor(workers, dask, worker_memory_mb, warm=True) as executor:
            loaded_trial = load_trial(trial)
            trial_digest = hashlib.sha256(trial_path.read_bytes()).hexdigest()
            fs_signature = _signature(input_kind(url)[1])  # of a directory: its manifest
            key = RunKey(url, fs_signature, loaded_trial.name, screening_date)
            pipeline_id = pipeline_fingerprint()
            basis_suffix = f"|{trial_digest}|{screening_date.isoformat() if screening_date else 'latest-note'}"
            state = _begin(run, key, {"shard_bytes": max(int(shard_mb * 2**20), 1),
                                      "partitions": screen_partitions}, executor.name, executor.workers)
            shards, size = plan(url, state["shard_bytes"])
            if state["partitions"] is None:
                state["partitions"] = partition_count(len(shards), executor.workers)
                run.write_json("run.json", state)
            setup = resource.getrusage(resource.RUSAGE_SELF)  # imports, trial, rules digest, workers started
            setup_seconds = time.monotonic() - started
            done = set()
            for record in run.committed("extract-").values():
                if record["pipeline"] == pipeline_id:  # a shard written with other rules is run again
                    done.add(record["shard"])
                    _add(counts, record["counts"])
            if len(done) < len(shards):  # what rests on the notes (duplicates, verdicts) is redone after them
                run.uncommit("duplicates")
                run.uncommit("screen-")
            lost: list[int] = []
            position = sum(s.end - s.start for s in shards if s.number in done)

            def delivered(pairs: list[tuple[Shard, ShardResult | None]]) -> None:
                nonlocal position
                for shard, result in pairs:
                    if result is None:
                        lost.append(shard.number)
                        continue
                    position += shard.end - shard.start
                    _add(counts, result.counts)

            def tick() -> None:
                total = round(counts.read * size / position) if position else None
                reporter.update(counts, counts.notes_done, total)

            reporter.phase("extract", None)
            extraction: Dispatcher[Shard, ShardResult | None] = Dispatcher(
                executor, extract_shard, (run, pipeline_id, limits or Limits()), lambda items: items[0],
                lambda result: [result], lambda shard: None, delivered, tick,
            )
            for shard in shards:
                if shard.number not in done:
                    extraction.put([shard])
            extraction.finish()
            tick()
            peaks.update(extraction.peaks)
            if lost:
                raise WorkersUnavailable(
                    f"{len(lost)} shard(s) lost their worker twice ({LOST_SHARD}; shards "
                    f"{', '.join(map(str, lost[:10]))}): rerun the same command to retry them"
                )
            extracted = time.monotonic()
            ranges = partitions(state["partitions"])
            screened = {record["partition"] for record in run.committed("screen-").values()}
            if len(screened) < len(ranges):
                executor.refresh()  # screening on fresh workers, started while duplicates are found
            if not run.committed("duplicates"):
                find_duplicates(run, memory_mb)
            tables = dataset_tables(run)
            between_seconds = time.monotonic() - extracted
            reporter.phase("screen", len(ranges))

            def screened_part(pairs: list[tuple[int, ShardResult | None]]) -> None:
                for number, result in pairs:
                    if result is None:
                        lost.append(number)
                    else:
                        _add(counts, result.counts)

            screening: Dispatcher[int, ShardResult | None] = Dispatcher(
                executor, screen_partition,
                (run, executor.share(tables), executor.share(loaded_trial), screening_date, basis_suffix),
                lambda items: (items[0], ranges[items[0]]), lambda result: [result], lambda number: None,
                screened_part,
                lambda: reporter.update(counts, counts.screened + counts.screen_failed, None),
            )
            for number in range(len(ranges)):
                if number not in screened:
                    screening.put([number])
            screening.finish()
            peaks.update(screening.peaks)
            if lost:
                raise WorkersUnavailable(f"{len(lost)} screening partition(s) lost their worker twice: rerun")
    finally:
        reporter.close()
    main = worker_stats()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    measures = {
        "seconds": time.monotonic() - started,
        "extract_seconds": extracted - started,
        "screen_seconds": time.monotonic() - extracted,
        "worker_peak_rss_mb": max(peaks.values(), default=None),
        "main_peak_rss_mb": main.peak_rss_mb,
        "main_cpu_seconds": usage.ru_utime + usage.ru_stime,
        "main_cpu_start_seconds": setup.ru_utime + setup.ru_stime,
        "started_epoch": started_epoch,
        "setup_seconds": setup_seconds,
        "between_seconds": between_seconds,
    }
    run.write_json("run.json", {**state, **measures, "status": "finished", "finished_at": now().isoformat(),
                                "notes_read": counts.read, "pipeline": pipeline_id})
    run.clear_temporary()
    attach(run, catalog, memory_mb)
    with Store.open(catalog, read_only=True, memory_mb=memory_mb) as store:
        return RunSummary.from_store(
            store, store.run_row(RUN_ID), run_id=RUN_ID, resumed=state["attempts"] > 1, attempts=state["attempts"]
        )


def _signature(url: str) -> str:
    """Size and modification time of the input, as its filesystem gives them."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    info = fs.info(path)
    return f"{info.get('size')}:{info.get('mtime') or info.get('LastModified') or info.get('created')}"


def _add(counts: Counts, found: dict[str, int]) -> None:
    for name in ("read", "processed", "failed", "rejected", "screened", "screen_failed"):
        setattr(counts, name, getattr(counts, name) + found.get(name, 0))

