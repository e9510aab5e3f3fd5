"""`stated`: a charted statement that names no concept ("NKDA"), as the latest note writes it.

Used in a criterion's ``negative_evidence``: the allergy list charted empty is what a
"no severe allergy" rests on. The statement's words are in ``patterns/statements.yaml``.
"""

from __future__ import annotations

import datetime as dt

from pydantic import field_validator

from extractor.facts import Evidence
from extractor.screening.outcome import Finding, Status
from extractor.screening.patient import PatientRecord
from extractor.screening.predicates.registry import Context, DurationField, Params, predicate
from extractor.screening.statements import Found, find_statements, history_statements, known_statements
from extractor.screening.timeline import Placement, Span


class StatedParams(Params):
    """`stated: no_known_drug_allergy`, or `{statement: source_not_found, window: 1 week}`
    (only notes written within the window before the screening date); `every: true` cites
    each writing, not one (each "CBC not drawn" tells of its own draw, not a copy)."""

    shorthand = "statement"

    statement: str
    window: DurationField | None = None
    every: bool = False

    @field_validator("statement")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in known_statements():
            raise ValueError(f"unknown statement {value!r}: one of {', '.join(sorted(known_statements()))}")
        return value


@predicate("stated", StatedParams)
def stated(params: StatedParams, context: Context) -> Finding:
    """Met when the patient's notes write the statement; cites its latest writing, or the
    first of a statement about the whole history (copied forward)."""
    patient = context.patient
    notes = sorted(
        (
            note for note in patient.notes.values()
            if _readable(note.date, patient.screening_date) and _within(note.date, params, context)
        ),
        key=lambda note: (note.date or dt.date.min, note.note_id),
    )
    found = list(find_statements(params.statement, notes))
    what = params.statement.replace("_", " ")
    if not found:
        return Finding(None, f"no {what} stated in the chart")
    if params.every:
        cited_all = found
    else:
        cited_all = [found[0] if params.statement in history_statements() else found[-1]]
    written = patient.notes[cited_all[-1].note_id].date
    day = written.isoformat() if written else "undated"
    return Finding(
        Status.MET, f"{what} stated (noted {day})", tuple(_evidence(patient, cited) for cited in cited_all)
    )


def _within(written: dt.date | None, params: StatedParams, context: Context) -> bool:
    """The note is written within the window asked (an undated note is not known to be)."""
    if params.window is None:
        return True
    return written is not None and context.window(params.window).place(Span.point(written)) is Placement.INSIDE


def _readable(written: dt.date | None, screening_date: dt.date | None) -> bool:
    """A note written after the screening date was not known on it."""
    return screening_date is None or written is None or written <= screening_date


def _evidence(patient: PatientRecord, found: Found) -> Evidence:
    """The statement's words, in the section of the nearest fact before it in its note."""
    text = patient.notes[found.note_id].text
    before = [
        m.fact.evidence for m in patient.mentions
        if m.fact.evidence.note_id == found.note_id and m.fact.evidence.char_start <= found.char_start
    ]
    section = max(before, key=lambda ev: ev.char_start).section if before else None
    return Evidence(
        note_id=found.note_id,
        char_start=found.char_start,
        char_end=found.char_end,
        text=text[found.char_start : found.char_end],
        section=section,
    )
