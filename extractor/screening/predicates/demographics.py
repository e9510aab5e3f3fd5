"""`age` and `sex`, from the notes' structured fields and from the notes' own words.

A birth date gives an exact age. "14 yo" written on a note gives 14 to 15 on that day,
carried forward to the day asked about, so an age near a threshold stays unknown rather
than guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import field_validator

from extractor.facts import Assertion, Evidence, Experiencer, Kind
from extractor.notes import Note
from extractor.screening.outcome import Finding, Status
from extractor.screening.patient import Mention, PatientRecord
from extractor.screening.predicates.registry import Context, Params, predicate
from extractor.screening.thresholds import Interval, fmt
from extractor.screening.timeline import age_in_years

_AGE = re.compile(r"^(<=|>=|<|>)\s*(\d+(?:\.\d+)?)\s*(years?|months?)?$", re.IGNORECASE)
_DAYS_PER_YEAR = 365.25
_INTRO_GAP = 3  # "16 y/o male": at most a space or two between the age and the sex
# the notes of an outpatient visit, where the treating team introduces the patient to the
# reader ("rheumatology clinic note", "consult note"), by the words of the note's type
_VISIT_NOTE = re.compile(r"\b(?:clinic|consult|consultation|office|visit)\b", re.IGNORECASE)


@dataclass(frozen=True)
class AgeEstimate:
    """The patient's possible ages on one day (``high`` excluded unless equal to ``low``)."""

    low: float
    high: float
    source: str
    evidence: tuple[Evidence, ...] = ()

    @property
    def interval(self) -> Interval:
        return Interval(self.low, self.high, high_closed=self.low == self.high)

    def describe(self) -> str:
        if self.low == self.high:
            return f"age {fmt(round(self.low, 1))} ({self.source})"
        return f"age {fmt(round(self.low, 1))}-{fmt(round(self.high, 1))} ({self.source})"


def _own(mention: Mention) -> bool:
    fact = mention.fact
    return fact.experiencer is Experiencer.PATIENT and fact.assertion is Assertion.PRESENT


def estimate_age(context: Context, on: dt.date | None) -> AgeEstimate | None:
    """The patient's age on ``on``: from one consistent birth date, else the latest stated age."""
    return _from_birth(context, on) or _from_text(context, on)


def _from_birth(context: Context, on: dt.date | None) -> AgeEstimate | None:
    births = {day for day, _ in context.patient.birth_dates}
    if on is None or len(births) != 1:
        return None
    born = births.pop()
    years = age_in_years(born, on)
    return AgeEstimate(years, years, f"born {born.isoformat()}")


def _from_text(context: Context, on: dt.date | None) -> AgeEstimate | None:
    """The latest age the notes state for the patient, carried forward to ``on``."""
    if on is None:
        return None
    patient = context.patient
    stated = [
        m for m in patient.find(concepts=("age",), kinds=(Kind.DEMOGRAPHIC,))
        if _own(m) and _years(m) is not None and m.written is not None
    ]
    if not stated:
        return None
    latest = max(stated, key=lambda m: m.written)  # type: ignore[arg-type, return-value]
    years = _years(latest)
    assert years is not None  # filtered above
    assert latest.written is not None
    width = 1.0 if float(years).is_integer() else 1 / 12
    shift = (on - latest.written).days / _DAYS_PER_YEAR
    return AgeEstimate(
        years + shift, years + width + shift,
        f"stated {fmt(years)} on {latest.written.isoformat()}",
        (patient.cite(latest),),
    )


def _years(mention: Mention) -> float | None:
    value: Any = mention.fact.attrs.get("years")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


class AgeParams(Params):
    """`age: ">= 5 years"` (years or months)."""

    shorthand = "compare"

    compare: str

    @field_validator("compare")
    @classmethod
    def _readable(cls, value: str) -> str:
        if _AGE.match(value.strip()) is None:
            raise ValueError(f"cannot read age comparison {value!r}: write e.g. '>= 5 years'")
        return value.strip()

    @property
    def limit(self) -> tuple[str, float]:
        match = _AGE.match(self.compare)
        assert match is not None  # validated
        number = float(match.group(2))
        months = (match.group(3) or "").lower().startswith("month")
        return match.group(1), number / 12 if months else number


@predicate("age", AgeParams)
def age(params: AgeParams, context: Context) -> Finding:
    """Age on the screening date against a limit."""
    estimate = estimate_age(context, context.screening_date)
    if estimate is None:
        return Finding(None, "no birth date or stated age in the chart")
    op, limit = params.limit
    status = estimate.interval.against(op, limit)
    on = context.screening_date.isoformat() if context.screening_date else ""
    written = _from_text(context, context.screening_date)
    if written is not None and written is not estimate:
        other = written.interval.against(op, limit)
        if other is not status and Status.UNKNOWN not in (status, other):
            # the birth date and the notes' words fall on either side of the limit
            return Finding(
                Status.UNKNOWN,
                f"{estimate.describe()} and {written.describe()} disagree on {on} about {params.compare}",
                estimate.evidence + written.evidence,
            )
    verdict = params.compare if status is Status.MET else (
        f"not {params.compare}" if status is Status.NOT_MET else f"cannot tell against {params.compare}"
    )
    # a birth date is a note field, not words to highlight: the words introducing the patient
    # ("16 y/o male"), else the notes' latest age, are cited with it
    intro = introduction(context.patient)
    cited = estimate.evidence or ((intro,) if intro else ()) or (written.evidence if written is not None else ())
    return Finding(status, f"{estimate.describe()} on {on}: {verdict}", cited)


class SexParams(Params):
    """`sex: F` or `sex: M`."""

    shorthand = "sex"

    sex: Literal["F", "M"]


@predicate("sex", SexParams)
def sex(params: SexParams, context: Context) -> Finding:
    """Sex from note fields and the notes' words; conflicting statements leave it unknown."""
    patient = context.patient
    stated: dict[str, list[str]] = {}
    evidence: dict[str, list[Evidence]] = {}
    for value, note_id in patient.sex_fields:
        stated.setdefault(value, []).append(f"note field of {note_id}")
    for mention in patient.find(concepts=("sex",), kinds=(Kind.DEMOGRAPHIC,)):
        value = str(mention.fact.attrs.get("sex", "")).upper()[:1]
        if value in ("F", "M") and _own(mention):
            stated.setdefault(value, []).append(f"stated on {_day(mention.written)}")
            evidence.setdefault(value, []).append(patient.cite(mention))
    if not stated:
        return Finding(None, "sex not stated in the chart")
    cited = tuple(e for value in stated for e in evidence.get(value, [])[-1:])
    intro = introduction(patient)
    if len(stated) == 1 and intro is not None and cited:
        cited = (intro,)  # the patient's introduction states the sex the chart agrees on
    if len(stated) > 1:
        return Finding(Status.UNKNOWN, "sex stated both F and M", cited)
    value, sources = next(iter(stated.items()))
    status = Status.MET if value == params.sex else Status.NOT_MET
    return Finding(status, f"sex {value} ({sources[-1]})", cited)


def introduction(patient: PatientRecord) -> Evidence | None:
    """The words that introduce the patient, an age with the sex right after it ("16 y/o
    male", "10 yo boy", "45 yo M"), as first charted in a visit's note (else as first
    charted anywhere): what a reviewer checks age and sex on."""
    ages = [m for m in patient.find(concepts=("age",), kinds=(Kind.DEMOGRAPHIC,)) if _introducing(m)]
    sexes = [m for m in patient.find(concepts=("sex",), kinds=(Kind.DEMOGRAPHIC,)) if _introducing(m)]
    found: list[tuple[dt.date, int, Evidence]] = []
    for age_mention in ages:
        age_ev = age_mention.fact.evidence
        note = patient.notes.get(age_ev.note_id)
        for sex_mention in sexes:
            sex_ev = sex_mention.fact.evidence
            gap = sex_ev.char_start - age_ev.char_end
            if note is not None and sex_ev.note_id == age_ev.note_id and 0 <= gap <= _INTRO_GAP:
                text = note.text[age_ev.char_start : sex_ev.char_end]
                span = age_ev.model_copy(update={"char_end": sex_ev.char_end, "text": text})
                found.append((not _visit(note), age_mention.first_written or dt.date.min, span.char_start, span))
    return min(found, key=lambda item: item[:3])[3] if found else None


def _visit(note: Note) -> bool:
    """A clinic or consult visit's note: its introduction ("29 yo F, SLE dx 2019 ...") is
    the one a reviewer reads the patient by, rather than an admission's, a discharge
    summary's or an emergency note's written for the hospital stay (GUIDELINES section 6)."""
    return _VISIT_NOTE.search(note.type or "") is not None


def _introducing(mention: Mention) -> bool:
    """The patient's own words, or words a family cue only *follows* in the sentence ("14 yo F
    with SLE ..., mom asking about the study", "8 y.o. female, accompanied by mother"): a
    relative's age is written after the relative is named ("mother, 38 yo"), never before."""
    fact = mention.fact
    if fact.assertion is not Assertion.PRESENT:
        return False
    if fact.experiencer is Experiencer.PATIENT:
        return True
    cues = fact.attrs.get("context_cues") or ()
    end = fact.evidence.char_end
    return fact.experiencer is Experiencer.FAMILY and bool(cues) and all(
        isinstance(cue, dict) and cue.get("category") == "FAMILY" and int(cue.get("char_start", -1)) >= end
        for cue in cues
    )


def _day(day: dt.date | None) -> str:
    return day.isoformat() if day else "undated"
