"""What a batch worker does: extract one batch of notes, or screen one batch of patients.

The functions here take and return plain data, so the same code runs in the main
process, in a local worker process or on a Dask worker anywhere. A spaCy pipeline
(with its medspaCy objects) never crosses a process boundary: each worker thread loads
its own, once, on its first task (``pipeline()``).

A note that raises, or runs past its time limit, or is larger than the size limit,
comes back as a failed ``NoteResult`` with a reason that names the exception type and
the pipeline stage, never the note's text; the other notes of the batch go on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import extractor
from extractor.facts import Fact
from extractor.notes import Note

if TYPE_CHECKING:
    from spacy.language import Language

# (note_id, patient_id, ISO date or None, text): all a worker needs to extract a note
NoteTask = tuple[str, str, str | None, str]
# a row of the store's facts table (extractor.store.FACT_SCHEMA)
FactRow = tuple[Any, ...]


@dataclass(frozen=True)
class Limits:
    """Per-note limits: a note over either fails alone, with its reason recorded."""

    max_chars: int = 1_000_000
    seconds: float = 120.0


@dataclass(frozen=True)
class NoteResult:
    note_id: str
    failure: str | None  # None when the note was processed
    facts: list[FactRow] = field(default_factory=list)
    milliseconds: float = 0.0


@dataclass(frozen=True)
class WorkerStats:
    """Which worker ran a task, and its resident memory: at its peak so far, now, when the
    task started (after loading the pipeline) and at its peak during the task (in a worker
    process of its own on Linux; 0: not measured). ``address``: the Dask worker's address
    (empty elsewhere), to renew that worker."""

    worker: str
    peak_rss_mb: float
    rss_mb: float = 0.0
    address: str = ""
    start_rss_mb: float = 0.0
    task_peak_mb: float = 0.0
    first_task: bool = False  # the worker's first task: it grew by warming up (caches, arenas), once

    @property
    def next_peak_mb(self) -> float:
        """Where the worker's next task is likely to peak: its last task's peak plus what that
        task left behind (tasks of a run are alike: shards of one size, batches of one count;
        the pipeline's loading is not counted, nor a first task's warming up: they happen
        once). The size now alone where the task's peak was not measured."""
        if not self.start_rss_mb or not self.task_peak_mb:
            return self.rss_mb
        growth = 0.0 if self.first_task else max(self.rss_mb - self.start_rss_mb, 0.0)
        return max(self.task_peak_mb, self.rss_mb) + growth


@dataclass(frozen=True)
class ExtractResult:
    notes: list[NoteResult]
    stats: WorkerStats


@dataclass(frozen=True)
class PatientResult:
    """A patient's verdict as the store keeps it, encoded by the worker (not by the one
    main process that writes every verdict)."""

    patient_id: str
    verdict: str | None  # the CONTRACT verdict line as JSON; None when screening failed
    overall: str | None = None
    screening_date: str | None = None  # ISO date the verdict was judged at
    failure: str | None = None


@dataclass(frozen=True)
class ScreenResult:
    patients: list[PatientResult]
    stats: WorkerStats


_local = threading.local()


def pipeline() -> Language:
    """This thread's pipeline, loaded on first use (spaCy pipelines are not shared by threads)."""
    nlp = getattr(_local, "nlp", None)
    if nlp is None:
        nlp = _local.nlp = extractor.load()
    return nlp


def _status_mb() -> dict[str, float]:
    """This process's memory figures from /proc/self/status (Linux), in MB: ``VmHWM`` (the
    peak) and ``VmRSS`` (now). Empty where the file cannot be read."""
    figures = {}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    figures[line[:5]] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return figures


def peak_rss_mb(figures: dict[str, float] | None = None) -> float:
    """Peak resident memory of this process, in MB.

    On Linux, from ``VmHWM``: ``ru_maxrss`` survives fork and exec there, so a worker
    spawned by a large main process would report the main process's size.
    """
    peak = (figures if figures is not None else _status_mb()).get("VmHWM")
    if peak is not None:
        return peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # macOS: bytes, else KiB


def worker_stats(start_rss_mb: float = 0.0) -> WorkerStats:
    """Which worker this is, and its resident memory (the peak stands in where the current
    figure cannot be read); ``start_rss_mb``: its size when the task began (``task_started()``)."""
    figures = _status_mb()
    peak = peak_rss_mb(figures)
    return WorkerStats(
        f"{socket.gethostname()}:{os.getpid()}", max(peak, _earlier_peak_mb), figures.get("VmRSS", peak),
        _dask_address(), start_rss_mb, peak if start_rss_mb and _peak_resets else 0.0, _tasks == 1,
    )


_worker_process = False  # set in a local worker process (``mark_worker_process``)
_earlier_peak_mb = 0.0  # this process's peak before its last reset
_peak_resets = False  # whether the last reset worked (the peak since then is the task's)
_tasks = 0  # tasks this process has started


def mark_worker_process() -> None:
    """Called by a local worker process when it starts: the process is the task's own."""
    global _worker_process
    _worker_process = True


def task_started() -> float:
    """Begin a task: in a worker process of its own (a local worker, a Dask worker), reset the
    process's peak (Linux: ``/proc/self/clear_refs``), so that the peak the task reports is its
    own and says what one task adds. Not in the main process, whose own peak the run reports.
    Call it after loading the pipeline: a load happens once, and is no guide to the next task.
    Returns the resident size now, in MB (0 where it cannot be read)."""
    global _earlier_peak_mb, _peak_resets, _tasks
    _tasks += 1
    figures = _status_mb()
    _peak_resets = False
    if _worker_process or _dask_address():
        _earlier_peak_mb = max(_earlier_peak_mb, peak_rss_mb(figures))
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
                clear.write("5")
            _peak_resets = True
        except OSError:
            pass
    return figures.get("VmRSS", 0.0)


def _dask_address() -> str:
    """This Dask worker's address, when the task runs on one."""
    if "distributed" not in sys.modules:
        return ""
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:  # not in a Dask task
        return ""


class NoteTimeout(BaseException):
    """A note ran past its time limit (a BaseException: a stage's ``except Exception`` lets it through)."""


def _alarm(signum: int, frame: object) -> None:
    raise NoteTimeout


@contextmanager
def hard_time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` with ``NoteTimeout`` (SIGALRM).

    Signals reach only a process's main thread, which is where local worker processes
    and the in-process executor run notes. On other threads (a Dask worker's task
    threads) the pipeline's own check between stages is the limit.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _where(exc: BaseException) -> str:
    """The innermost frame of a traceback as file:line: where, never what (no note text)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{os.path.basename(last.filename)}:{last.lineno}"


def extract_note(nlp: Language, task: NoteTask, limits: Limits) -> NoteResult:
    """Facts of one note as rows of the facts table, or the reason it failed."""
    from extractor.extensions import facts_of  # spaCy: not imported by a worker that only screens
    note_id, patient_id, date, text = task
    started = time.perf_counter()
    if len(text) > limits.max_chars:
        return NoteResult(note_id, f"note too large: {len(text)} characters, limit {limits.max_chars}")
    stage = "tokenizer"
    deadline = time.monotonic() + limits.seconds
    try:
        with hard_time_limit(limits.seconds):
            doc = extractor.make_doc(nlp, text, note_id, dt.date.fromisoformat(date) if date else None)
            for name, component in nlp.pipeline:
                stage = name
                doc = component(doc)
                if time.monotonic() > deadline:
                    raise NoteTimeout
        stage = "facts"
        facts = facts_of(doc, patient_id)
        rows = [fact_row(fact, seq) for seq, fact in enumerate(facts)]
    except NoteTimeout:
        return NoteResult(note_id, f"time limit exceeded: over {limits.seconds:g} s (in {stage})")
    except Exception as exc:  # a note's fault must not stop the run: recorded, then next note
        return NoteResult(note_id, f"{type(exc).__name__} in {stage} at {_where(exc)}")
    return NoteResult(note_id, None, rows, (time.perf_counter() - started) * 1000)


def fact_row(fact: Fact, seq: int) -> FactRow:
    """A fact as a row of the facts table: the columns SQL asks about, and the whole fact."""
    evidence, lab = fact.evidence, fact.lab
    when = fact.time.date if fact.time is not None and fact.time.date is not None else fact.note_date
    return (
        evidence.note_id,
        fact.patient_id,
        seq,
        fact.kind.value,
        fact.concept,
        fact.label,
        fact.assertion.value,
        fact.experiencer.value,
        fact.temporality.value,
        evidence.section,
        evidence.char_start,
        evidence.char_end,
        evidence.text,
        when,
        lab.canonical_value if lab is not None else None,
        lab.canonical_unit if lab is not None else None,
        json.dumps(fact.to_json_dict(), ensure_ascii=False, allow_nan=False),
    )


def extract_batch(tasks: Sequence[NoteTask], limits: Limits) -> ExtractResult:
    """Extract every note of a batch with this worker's pipeline."""
    nlp = pipeline()
    start = task_started()
    return ExtractResult([extract_note(nlp, task, limits) for task in tasks], worker_stats(start))


def screen_batch(
    patients: Sequence[tuple[str, list[dict[str, Any]], list[str]]],
    trial: Any,
    screening_date: dt.date | None,
) -> ScreenResult:
    """Verdicts for a batch of patients, each from all of their notes and stored facts.

    ``trial`` is an ``extractor.screening.Trial`` (plain data; it pickles).
    """
    start = task_started()
    return ScreenResult(
        [screen_one(patient_id, notes, facts, trial, screening_date) for patient_id, notes, facts in patients],
        worker_stats(start),
    )


def screen_one(
    patient_id: str, notes: list[dict[str, Any]], facts: list[str], trial: Any, screening_date: dt.date | None
) -> PatientResult:
    """One patient's verdict from all of their notes (``Note`` fields) and facts (as JSON);
    a failure is the patient's alone, recorded with where it happened."""
    from extractor.screening import screen_patient

    try:
        verdict = screen_patient(
            [Note(**note) for note in notes],
            [Fact.model_validate_json(fact) for fact in facts],
            trial,
            screening_date,
        )
        line = verdict.to_contract_dict()
        encoded = json.dumps(line, ensure_ascii=False)
        return PatientResult(patient_id, encoded, line["overall"], line["screening_date"])
    except Exception as exc:  # one patient's fault must not stop the others
        return PatientResult(patient_id, None, failure=f"{type(exc).__name__} at {_where(exc)}")
