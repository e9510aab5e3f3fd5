"""Running the pipeline one note at a time, so that a note's fault is that note's alone.

``extractor extract`` and ``extractor screen`` read a file of notes; one note that is too
long for the pipeline, or that makes a stage raise, must not end the run and lose every
note after it. Each note runs through the stages here, inside its own ``try``: a fault
becomes a line in the run's ``ReadReport`` (line, note id, the exception's type and the
stage, never the text) and the next note goes on, as ``extractor batch`` does.

Notes longer than the pipeline's ``max_length`` are refused with a clear reason rather
than cut into pieces: a piece boundary would split sentences, sections and the spans
that ConText reads, so facts near it could change silently. The refusal says to split
the note where the chart itself breaks (one visit, one report).

With ``n_process`` > 1 the notes are shared among spawned worker processes (each loads
its own pipeline); the order of the output is the order of the input either way.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from spacy.language import Language

from extractor.errors import Errors
from extractor.extensions import facts_of
from extractor.facts import Fact
from extractor.notes import Note, ReadReport


class Cancelled(Exception):
    """The caller no longer wants the answer (a deadline passed, a client went away)."""


class NoteFault(Exception):
    """A stage raised on one note; the message names the exception type and the stage only."""


def run_pipeline(nlp: Language, note: Note, cancelled: Callable[[], bool] | None = None) -> list[Fact]:
    """Facts of one note, the stages run one by one; ``cancelled`` is asked between stages.

    Raises ``Cancelled``, or ``NoteFault`` naming where a stage failed (never what it read).
    """
    import extractor

    stage = "make_doc"
    try:
        doc = extractor.make_doc(nlp, note.text, note.note_id, note.date)
        for stage, component in nlp.pipeline:  # noqa: B007  (the stage names a fault)
            if cancelled is not None and cancelled():
                raise Cancelled
            doc = component(doc)
        stage = "facts"
        return facts_of(doc, note.patient_id)
    except Cancelled:
        raise
    except Exception as exc:
        raise NoteFault(f"{type(exc).__name__} in {stage} at {where(exc)}") from None


def checked_extract(nlp: Language, note: Note) -> list[Fact] | str:
    """Facts of one note, or why it could not be processed (never quoting its text)."""
    if len(note.text) > nlp.max_length:
        return TOO_LONG
    try:
        return run_pipeline(nlp, note)
    except NoteFault as fault:  # a note's fault must not stop the run: reported, then the next note
        return str(fault)


TOO_LONG = "too long"


def where(exc: BaseException) -> str:
    """The innermost frame as file:line: where, never what (a message may quote the note)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else "?"


def extract_isolated(
    numbered: Iterable[tuple[int, Note]],
    nlp: Language,
    report: ReadReport,
    n_process: int = 1,
    load: Callable[[], Language] | None = None,
) -> Iterator[tuple[Note, list[Fact]]]:
    """Facts of each note in input order; a note that fails is added to ``report.failed``.

    ``load`` builds the pipeline in each worker process when ``n_process`` > 1 (it must
    be picklable: a module-level function or a ``functools.partial`` of one).
    """
    if n_process <= 1 or load is None:
        outcomes: Iterator[tuple[int, Note, list[Fact] | str]] = (
            (line, note, checked_extract(nlp, note)) for line, note in numbered
        )
    else:
        outcomes = _in_processes(numbered, n_process, load)
    for line, note, outcome in outcomes:
        if isinstance(outcome, list):
            yield note, outcome
            continue
        if outcome == TOO_LONG:
            message = Errors.E028.format(line=line, note_id=note.note_id, length=len(note.text), limit=nlp.max_length)
        else:
            message = Errors.E029.format(line=line, note_id=note.note_id, reason=outcome)
        report.failed.append((line, message))


_worker_nlp: Language | None = None


def _start_worker(load: Callable[[], Language]) -> None:
    global _worker_nlp
    _worker_nlp = load()


def _work(note: Note) -> list[Fact] | str:
    assert _worker_nlp is not None, "worker started without a pipeline"
    return checked_extract(_worker_nlp, note)


def _in_processes(
    numbered: Iterable[tuple[int, Note]], n_process: int, load: Callable[[], Language]
) -> Iterator[tuple[int, Note, list[Fact] | str]]:
    """Outcomes computed by ``n_process`` spawned workers, a window of notes at a time."""
    window = 16 * n_process  # notes in flight: bounded memory on an endless stream
    with ProcessPoolExecutor(
        n_process, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker, initargs=(load,)
    ) as pool:
        pending: list[tuple[int, Note]] = []
        for item in numbered:
            pending.append(item)
            if len(pending) == window:
                yield from _finish(pool, pending)
                pending = []
        yield from _finish(pool, pending)


def _finish(pool: ProcessPoolExecutor, pending: list[tuple[int, Note]]) -> Iterator[tuple[int, Note, list[Fact] | str]]:
    results = pool.map(_work, [note for _, note in pending], chunksize=4)
    for (line, note), outcome in zip(pending, results, strict=True):
        yield line, note, outcome
