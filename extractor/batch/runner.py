"""A batch run: stream an archive into the store, extracting each changed note once, then
screen every patient whose verdict no longer matches their notes.

The main process reads the input, decides note by note what to do (the store says
whether a note is new, changed, unchanged or a duplicate), hands batches of notes to
the executor and writes what comes back, one transaction per group of batches. It is
the only writer of the store. A kill at any moment loses at most the batches not yet
written; rerunning the same command resumes the run (``Store.begin_run``): notes
already written in it are not processed again, the others are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import resource
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from extractor.batch.dispatch import Dispatcher, chunked
from extractor.batch.executors import WORKER_MEMORY_MB, Executor, open_executor
from extractor.batch.progress import Counts, Reporter, Silent
from extractor.batch.work import (
    ExtractResult,
    Limits,
    NoteResult,
    PatientResult,
    ScreenResult,
    extract_batch,
    screen_batch,
    worker_stats,
)
from extractor.errors import Errors
from extractor.notes import MANIFEST_NAMES, Note, ReadReport, iter_notes
from extractor.resources import patterns_dir, trials_dir
from extractor.screening import Trial, load_trial
from extractor.store import MEMORY_LIMIT_MB, Run, RunKey, Store, StoredNote, now

LOOKUP_CHUNK = 512  # notes read, then looked up in the store together
SCREEN_CHUNK = 32  # patients per screening task
MATERIAL_CHUNK = 1024  # patients whose notes and facts are read from the store in one query
COMMIT_SECONDS = 1.0  # write what came back at least this often
COMMIT_NOTES = 1024  # ... or when this many notes (verdicts) are waiting to be written
LOST_WORKER = "the worker process died while processing this note"
ERRORS_SHOWN = 20  # errors and warnings a run summary lists as text (it counts them all)
RUN_ROW_FIELDS = (  # what a run summary takes from the run's row of the ``runs`` table
    "notes_read",
    "processed",
    "skipped",
    "failed",
    "rejected",
    "patients_screened",
    "screen_failed",
    "seconds",
    "worker_peak_rss_mb",
    "main_peak_rss_mb",
)


@dataclass(frozen=True)
class RunSummary:
    """The outcome of a run, counted from the store once the run finished."""

    run_id: int
    resumed: bool
    attempts: int
    notes_read: int
    processed: int
    skipped: int
    failed: int
    rejected: int
    patients_screened: int
    screen_failed: int
    seconds: float
    worker_peak_rss_mb: float | None
    main_peak_rss_mb: float | None = None
    errors: list[str] = field(default_factory=list)  # the first errors and warnings of the run, as text
    error_count: int = 0  # how many errors and warnings the run recorded in all

    def line(self) -> str:
        return (
            f"notes read: {self.notes_read}  processed: {self.processed}  skipped: {self.skipped}  "
            f"failed: {self.failed}  rejected: {self.rejected}  patients screened: {self.patients_screened}"
            + (f"  screening failed: {self.screen_failed}" if self.screen_failed else "")
        )

    def memory_line(self) -> str:
        """Peak resident memory of the main process and of the largest worker."""
        worker = f"{self.worker_peak_rss_mb:.0f} MB" if self.worker_peak_rss_mb is not None else "-"
        main = f"{self.main_peak_rss_mb:.0f} MB" if self.main_peak_rss_mb is not None else "-"
        return f"peak memory: main process {main}, largest worker {worker}"

    @classmethod
    def from_store(cls, store: Store, row: dict[str, Any], *, run_id: int, resumed: bool, attempts: int) -> RunSummary:
        """A finished run's summary: counts and measures from its ``runs`` row, its first errors from
        the store; one builder for both the single-store and the sharded run, so they report alike."""
        errors, error_count = store.run_errors(run_id, limit=ERRORS_SHOWN)
        counted = {name: row[name] for name in RUN_ROW_FIELDS}
        return cls(
            run_id=run_id, resumed=resumed, attempts=attempts, errors=errors, error_count=error_count, **counted
        )


def content_hash(note: Note) -> str:
    """sha256 of what the note's facts and verdicts depend on: text, date, patient and the
    other CONTRACT fields. Raises UnicodeEncodeError for text that is not valid Unicode."""
    digest = hashlib.sha256()
    for part in (
        note.patient_id,
        note.date.isoformat() if note.date else "",
        note.type or "",
        note.sex or "",
        note.birth_date.isoformat() if note.birth_date else "",
    ):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    digest.update(note.text.encode("utf-8"))
    return digest.hexdigest()


def pipeline_fingerprint() -> str:
    """The extractor version and a digest of its rule files: when either changes, stored
    facts are stale and their notes are processed again."""
    digest = hashlib.sha256(version("extractor").encode())
    for path in sorted(patterns_dir().iterdir()):
        if path.suffix in {".yaml", ".csv"}:
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return f"{version('extractor')}+{digest.hexdigest()[:16]}"


def trial_file(trial: str | Path) -> Path:
    """The YAML file behind a trial argument: a path, or a bundled trial's id."""
    path = Path(trial)
    return path if path.suffix.lower() in (".yaml", ".yml") or path.exists() else trials_dir() / f"{trial}.yaml"


def input_signature(source: Path) -> str:
    """Size and modification time of the input (of its manifest, for a directory)."""
    target = source
    if source.is_dir():
        target = next((source / n for n in MANIFEST_NAMES if (source / n).is_file()), source)
    try:
        stat = target.stat()
    except OSError:
        return "unreadable"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


@dataclass(frozen=True)
class Pending:
    """A note to extract, with its input line and whether the store holds an older version."""

    line: int
    note: Note
    content_hash: str
    replaces: bool


def _tasks(items: list[Pending]) -> list[tuple[str, str, str | None, str]]:
    return [
        (p.note.note_id, p.note.patient_id, p.note.date.isoformat() if p.note.date else None, p.note.text)
        for p in items
    ]


def _note_outcomes(result: ExtractResult) -> list[NoteResult]:
    return result.notes


def _patient_outcomes(result: ScreenResult) -> list[PatientResult]:
    return result.patients


class Extraction:
    """Phase 1: every note of the input, new or changed, extracted and written exactly once."""

    def __init__(
        self, store: Store, run: Run, executor: Executor, pipeline: str, limits: Limits,
        batch_size: int, counts: Counts, reporter: Reporter,
    ) -> None:
        self.store, self.run_id, self.pipeline = store, run.run_id, pipeline
        self.batch_size = batch_size
        self.report = ReadReport()
        self.counts, self.reporter = counts, reporter
        self.claimed: dict[str, int] = {}  # note id -> its line, read in this attempt, not yet written
        self.finished: list[tuple[Pending, NoteResult]] = []
        self.seen: list[tuple[str, int]] = []  # unchanged notes, to mark as seen by this run
        self.rejected_written = 0  # read rejections written (and dropped from the report)
        self.last_commit = time.monotonic()
        self.dispatcher: Dispatcher[Pending, NoteResult] = Dispatcher(
            executor, extract_batch, (limits,), _tasks, _note_outcomes,
            lambda item: NoteResult(item.note.note_id, LOST_WORKER), self._deliver, self._tick,
        )

    def run(self, source: Path) -> ReadReport:
        self.reporter.phase("extract", None)
        for chunk in chunked(iter_notes(source, self.report), LOOKUP_CHUNK):
            todo = self._classify(chunk)
            for batch in chunked(todo, self.batch_size):
                self.dispatcher.put(batch)
            self.dispatcher.poll(block=False)
        self.dispatcher.finish()
        self._commit()
        self._tick()
        return self.report

    def _classify(self, chunk: list[tuple[int, Note]]) -> list[Pending]:
        """New and changed notes to extract; unchanged ones marked seen; duplicates rejected."""
        stored = self.store.lookup([note.note_id for _, note in chunk if note.note_id not in self.claimed])
        todo = []
        for line, note in chunk:
            try:
                digest = content_hash(note)
            except UnicodeEncodeError:
                self.report.rejected.append((line, Errors.E019.format(line=line)))
                continue
            old = stored.get(note.note_id)
            first = self.claimed.get(note.note_id)
            if first is None and old is not None and old.seen_run == self.run_id:
                first = old.seen_line  # read earlier in this run (before a restart, or before a write)
            if first is not None and first != line:
                self.report.rejected.append((line, Errors.E016.format(line=line, note_id=note.note_id)))
                continue
            if self._written_by_this_run(old):
                self._count_done(old)  # written by this run before it was restarted
                continue
            self.claimed[note.note_id] = line
            if old is not None and self._unchanged(old, digest):
                self.seen.append((note.note_id, line))
                self.counts.skipped += 1
                continue
            todo.append(Pending(line, note, digest, replaces=old is not None))
        self._maybe_commit()
        return todo

    def _written_by_this_run(self, old: StoredNote | None) -> bool:
        return (
            old is not None
            and old.seen_run == self.run_id
            and old.processed_run == self.run_id
            and old.pipeline == self.pipeline
        )

    def _unchanged(self, old: StoredNote, digest: str) -> bool:
        return old.status == "done" and old.content_hash == digest and old.pipeline == self.pipeline

    def _count_done(self, old: StoredNote) -> None:
        if old.status == "done":
            self.counts.processed += 1
        else:
            self.counts.failed += 1

    def _deliver(self, pairs: list[tuple[Pending, NoteResult]]) -> None:
        for pending, result in pairs:
            self.finished.append((pending, result))
            if result.failure is None:
                self.counts.processed += 1
            else:
                self.counts.failed += 1
        self._maybe_commit()

    def _tick(self) -> None:
        self.counts.read = self.report.read
        self.counts.rejected = self.rejected_written + len(self.report.rejected)
        done = self.counts.notes_done
        total = None
        if self.report.size and self.report.position:
            total = max(round(self.report.read * self.report.size / self.report.position), done)
        self.reporter.update(self.counts, done, total)

    def _maybe_commit(self) -> None:
        waiting = len(self.finished) + len(self.seen)
        if waiting >= COMMIT_NOTES or (waiting and time.monotonic() - self.last_commit >= COMMIT_SECONDS):
            self._commit()

    def _commit(self) -> None:
        """One transaction: the finished notes with their facts, the unchanged, the errors."""
        at = now()
        notes, facts, replaced, errors = [], [], [], []
        for pending, result in self.finished:
            note = pending.note
            notes.append((
                note.note_id, note.patient_id, note.date, note.type, note.sex, note.birth_date,
                json.dumps(note.extra, ensure_ascii=True, default=str) if note.extra else None,
                note.text, pending.content_hash, self.pipeline,
                "done" if result.failure is None else "failed",
                self.run_id, pending.line, self.run_id, at, len(result.facts), result.milliseconds,
            ))
            facts.extend(result.facts)
            if pending.replaces:
                replaced.append(note.note_id)
            if result.failure is not None:
                errors.append((self.run_id, "extract", "failed", pending.line, note.note_id,
                               note.patient_id, result.failure, at))
        for line, message in self.report.rejected:
            errors.append((self.run_id, "read", "rejected", line, None, None, message, at))
        for line, message in self.report.warnings:
            errors.append((self.run_id, "read", "warning", line, None, None, message, at))
        self.store.write_notes(self.run_id, notes, facts, replaced, self.seen, errors)
        # written: kept in the store, not in memory (a file of bad lines can be huge)
        self.rejected_written += len(self.report.rejected)
        self.report.rejected.clear()
        self.report.warnings.clear()
        for pending, _ in self.finished:
            del self.claimed[pending.note.note_id]
        for note_id, _ in self.seen:
            del self.claimed[note_id]
        self.finished, self.seen = [], []
        self.last_commit = time.monotonic()


class Screening:
    """Phase 2: a verdict for every patient of the store whose verdict is missing or stale."""

    def __init__(
        self, store: Store, run: Run, executor: Executor, trial: Trial, basis_suffix: str,
        screening_date: dt.date | None, counts: Counts, reporter: Reporter,
    ) -> None:
        self.store, self.run_id, self.trial = store, run.run_id, trial
        self.basis_suffix, self.screening_date = basis_suffix, screening_date
        self.counts, self.reporter = counts, reporter
        self.verdicts: list[tuple[Any, ...]] = []
        self.errors: list[tuple[Any, ...]] = []
        self.done = 0
        self.total = 0
        self.last_commit = time.monotonic()
        self.dispatcher: Dispatcher[tuple[str, str, list[dict[str, Any]], list[str]], PatientResult] = Dispatcher(
            executor, screen_batch, (executor.share(trial), screening_date),
            lambda items: [(pid, notes, facts) for pid, _, notes, facts in items], _patient_outcomes,
            lambda item: PatientResult(item[0], None, failure="the worker process died while screening this patient"),
            self._deliver, self._tick,
        )

    def run(self) -> None:
        todo = self.store.patients_to_screen(self.trial.name, self.basis_suffix)
        self.total = len(todo)
        self.reporter.phase("screen", self.total)
        for group in chunked(todo, MATERIAL_CHUNK):
            # one store query per group: each scans the notes table, so few and large
            material = self.store.patient_material([patient_id for patient_id, _ in group])
            for chunk in chunked(group, SCREEN_CHUNK):
                batch = []
                for patient_id, basis in chunk:
                    notes, facts = material.pop(patient_id)
                    if notes:
                        batch.append((patient_id, basis, notes, facts))
                    else:
                        failure = "no note of this patient could be processed"
                        self._record(basis, PatientResult(patient_id, None, failure=failure))
                if batch:
                    self.dispatcher.put(batch)
                self.dispatcher.poll(block=False)
        self.dispatcher.finish()
        self._commit()
        self._tick()

    def _deliver(self, pairs: list[tuple[tuple[str, str, list[dict[str, Any]], list[str]], PatientResult]]) -> None:
        for (_, basis, _, _), result in pairs:
            self._record(basis, result)

    def _record(self, basis: str, result: PatientResult) -> None:
        at = now()
        screening_date = dt.date.fromisoformat(result.screening_date) if result.screening_date else None
        self.verdicts.append((
            result.patient_id, self.trial.name, screening_date, result.overall, basis, self.run_id, result.verdict,
        ))
        if result.failure is not None:
            self.errors.append((self.run_id, "screen", "failed", None, None, result.patient_id, result.failure, at))
            self.counts.screen_failed += 1
        else:
            self.counts.screened += 1
            unread = _unread_notes(result.verdict)
            if unread:  # notes the screening date left unread are named, never dropped silently
                shown = ", ".join(unread[:5]) + (f" and {len(unread) - 5} more" if len(unread) > 5 else "")
                reason = Errors.E033.format(count=len(unread), date=result.screening_date, ids=shown)
                self.errors.append((self.run_id, "screen", "warning", None, None, result.patient_id, reason, at))
        self.done += 1
        if len(self.verdicts) >= COMMIT_NOTES or time.monotonic() - self.last_commit >= COMMIT_SECONDS:
            self._commit()

    def _tick(self) -> None:
        self.reporter.update(self.counts, self.done, self.total)

    def _commit(self) -> None:
        self.store.write_verdicts(self.verdicts, self.errors)
        self.verdicts, self.errors = [], []
        self.last_commit = time.monotonic()


def _unread_notes(verdict: str | None) -> list[str]:
    """Note ids a verdict names as dated after its screening date (the key is there only then)."""
    if verdict is None or '"notes_after_screening_date"' not in verdict:
        return []
    return list(json.loads(verdict)["notes_after_screening_date"])


def run_batch(
    source: Path,
    store_path: Path,
    trial: str | Path,
    *,
    workers: int = 1,
    dask: str | Any | None = None,
    batch_size: int = 16,
    worker_memory_mb: float = WORKER_MEMORY_MB,
    limits: Limits | None = None,
    screening_date: dt.date | None = None,
    reporter: Reporter | None = None,
    memory_mb: float = MEMORY_LIMIT_MB,
) -> RunSummary:
    """Extract every new or changed note of ``source`` into the store at ``store_path``,
    then screen for ``trial`` every patient whose verdict is missing or stale.

    ``workers`` local processes (0: this process; renewed once one passes
    ``worker_memory_mb`` of resident memory), or a Dask cluster: ``dask`` is ``"local"``
    (a LocalCluster of ``workers`` processes), a scheduler address, or a
    ``distributed.Client``. Rerunning after a kill resumes the same run. DuckDB holds
    at most ``memory_mb`` MiB in the main process.
    """
    started = time.monotonic()
    reporter = reporter or Silent()
    loaded_trial = load_trial(trial)
    trial_digest = hashlib.sha256(trial_file(trial).read_bytes()).hexdigest()
    key = RunKey(
        input=str(source.resolve()),
        input_signature=input_signature(source),
        trial=loaded_trial.name,
        screening_date=screening_date,
    )
    pipeline = pipeline_fingerprint()
    basis_suffix = f"|{trial_digest}|{screening_date.isoformat() if screening_date else 'latest-note'}"
    counts = Counts()
    try:
        with (
            Store.open(store_path, memory_mb=memory_mb) as store,
            open_executor(workers, dask, worker_memory_mb, warm=True) as executor,
        ):
            run = store.begin_run(key, pipeline, executor.name, executor.workers)
            extraction = Extraction(
                store, run, executor, pipeline, limits or Limits(), batch_size, counts, reporter
            )
            report = extraction.run(source)
            extracted = time.monotonic()
            screening = Screening(
                store, run, executor, loaded_trial, basis_suffix, screening_date, counts, reporter
            )
            screening.run()
            peaks = [*extraction.dispatcher.peaks.values(), *screening.dispatcher.peaks.values()]
            main = worker_stats()
            usage = resource.getrusage(resource.RUSAGE_SELF)
            row = store.finish_run(run.run_id, report.read, {
                "seconds": time.monotonic() - started,
                "extract_seconds": extracted - started,
                "screen_seconds": time.monotonic() - extracted,
                "worker_peak_rss_mb": max(peaks, default=None),
                "main_peak_rss_mb": main.peak_rss_mb,
                "main_cpu_seconds": usage.ru_utime + usage.ru_stime,
            })
            summary = RunSummary.from_store(
                store, row, run_id=row["run_id"], resumed=run.resumed, attempts=row["attempts"]
            )
    finally:
        reporter.close()
    return summary
