"""`lab`: a result (the latest in a window, or any) against thresholds, in any unit.

A result's day is its own date when the note gives one, else its note's date (the first
copy's, when the line was pasted forward). Thresholds may depend on age (IgG: 5-8 years
< 4.5 g/L, 9+ < 6.0 g/L), judged with the patient's age on the result's day.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from extractor.facts import Assertion, Experiencer, Kind
from extractor.screening.outcome import Finding, Status
from extractor.screening.patient import Mention
from extractor.screening.predicates.demographics import estimate_age
from extractor.screening.predicates.registry import (
    Context,
    DurationField,
    Names,
    Params,
    predicate,
)
from extractor.screening.thresholds import (
    Interval,
    Threshold,
    UlnRange,
    ValueThreshold,
    known_unit,
    parse_threshold,
)
from extractor.screening.timeline import Placement, Span

_BAND = re.compile(r"^\s*(?:(\d+)\s*-\s*(\d+)|(\d+)\s*\+|(<=|>=|<|>)\s*(\d+))\s*(?:years?)?\s*$")


def _thresholds(value: Any) -> Any:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        return value
    return tuple(parse_threshold(item) if isinstance(item, str) else item for item in items)


def _uln(value: Any) -> Any:
    return UlnRange.parse(value) if isinstance(value, str) else value


Thresholds = Annotated[tuple[Threshold, ...], BeforeValidator(_thresholds)]


def parse_band(text: str) -> tuple[float, float]:
    """Completed years as an interval: '5-8' → [5, 9), '9+' → [9, ∞), '< 5' → [0, 5)."""
    match = _BAND.match(str(text))
    if match is None:
        raise ValueError(f"cannot read age band {text!r}: write '5-8', '9+' or '< 5' (years)")
    low, high, plus, op, number = match.groups()
    if low is not None:
        if int(low) > int(high):
            raise ValueError(f"age band {text!r} runs backwards")
        return float(low), float(high) + 1
    if plus is not None:
        return float(plus), math.inf
    limit = float(number)
    return {
        "<": (0.0, limit), "<=": (0.0, limit + 1), ">": (limit + 1, math.inf), ">=": (limit, math.inf)
    }[op]


class AgeBand(BaseModel):
    """Thresholds that apply to one age band."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    age: str
    compare: Thresholds

    @model_validator(mode="after")
    def _band(self) -> AgeBand:
        parse_band(self.age)
        return self

    @property
    def years(self) -> tuple[float, float]:
        return parse_band(self.age)


class LabParams(Params):
    """`lab: {concept: hemoglobin, compare: ">= 80 g/L"}`; `compare` may list several
    thresholds that must all hold (">= 6.5 %", "<= 9.5 %")."""

    concept: Names = Field(min_length=1)
    compare: Thresholds = ()
    by_age: tuple[AgeBand, ...] = ()
    which: Literal["latest", "any"] = "latest"
    window: DurationField | None = None
    stale_after: DurationField | None = None
    uln_if_missing: Annotated[UlnRange | None, BeforeValidator(_uln)] = None
    min_count: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _one_kind_of_threshold(self) -> LabParams:
        if bool(self.compare) == bool(self.by_age):
            raise ValueError("give either compare or by_age")
        thresholds = [*self.compare, *(t for band in self.by_age for t in band.compare)]
        units = [t.unit for t in thresholds if isinstance(t, ValueThreshold) and t.unit]
        if self.uln_if_missing is not None:
            units.append(self.uln_if_missing.unit)
        for unit in units:
            if not known_unit(unit):
                raise ValueError(f"unknown unit {unit!r}: use a spelling from patterns/units.yaml")
        if self.min_count > 1 and self.which != "any":
            raise ValueError("min_count needs which: any")
        return self


@dataclass(frozen=True)
class Judged:
    """One result, its day, and how it fares against the thresholds."""

    mention: Mention
    day: dt.date | None
    status: Status
    account: str  # "hemoglobin 9.6 g/dL (96 g/L) on 2025-02-14 >= 80 g/L"


def result_day(mention: Mention) -> dt.date | None:
    """The day a result is from: its stated date (first copy), else the first copy's note date."""
    time = mention.first.time
    if time is not None and time.source == "text":
        day = time.date or time.end or time.start
        if day is not None:
            return day
    return mention.first_written


def _judge(mention: Mention, day: dt.date | None, params: LabParams, context: Context) -> Judged:
    fact = mention.fact
    lab = fact.lab
    assert lab is not None  # only results are judged
    label = (fact.label or fact.concept.replace("_", " ")).lower()
    on = day.isoformat() if day else "an undated day"
    bands = [(band.age, band.compare) for band in params.by_age]
    note = ""
    if params.by_age:
        estimate = estimate_age(context, day or context.screening_date)
        if estimate is not None:
            ages = estimate.interval
            bands = [
                (age, compare) for age, compare in bands if _overlaps(ages, parse_band(age))
            ]
            note = f" at {estimate.describe()}"
            if not bands:
                # an age no band covers: a value on the same side of every band's limit still
                # decides (GUIDELINES §6: "a value above both limits decides even without an age")
                bands = [(band.age, band.compare) for band in params.by_age]
                note += " (no threshold for this age; judged against every band)"
        else:
            note = " (age unknown)"
    else:
        bands = [("", params.compare)]
    outcomes = {}
    for age, thresholds in bands:
        checks = [t.check(lab, fact.concept, params.uln_if_missing) for t in thresholds]
        status = _all(c.status for c in checks)
        texts = " and ".join(t.text for t in thresholds)
        shown = checks[0].shown
        why = "; ".join(c.why for c in checks if c.why)
        outcomes[age] = (status, shown, texts, why)
    statuses = {status for status, *_ in outcomes.values()}
    status = statuses.pop() if len(statuses) == 1 else Status.UNKNOWN
    _, shown, texts, why = next(iter(outcomes.values()))
    if len(outcomes) > 1:
        texts = "; ".join(f"{age} years {t}" for age, (_, _, t, _) in outcomes.items())
    if status is Status.MET:
        verdict = texts
    elif status is Status.NOT_MET:
        verdict = f"not {texts}"
    else:
        verdict = f"cannot tell against {texts}" + (f" ({why})" if why else "")
    return Judged(mention, day, status, f"{label} {shown} on {on}{note}: {verdict}")


def _overlaps(ages: Interval, band: tuple[float, float]) -> bool:
    return ages.low < band[1] and (ages.high > band[0] or (ages.high == band[0] and ages.high_closed))


def _all(statuses: Any) -> Status:
    found = set(statuses)
    if Status.NOT_MET in found:
        return Status.NOT_MET
    return Status.UNKNOWN if Status.UNKNOWN in found else Status.MET


@predicate("lab", LabParams)
def lab(params: LabParams, context: Context) -> Finding:
    """The latest (or any) result in the window against the thresholds."""
    mentions = [
        m for m in context.patient.find(params.concept)
        if m.fact.lab is not None
        and m.fact.experiencer is Experiencer.PATIENT
        and m.fact.assertion is Assertion.PRESENT
    ]
    frame = context.window(params.window)
    where = f" {frame.label}" if params.window else ""
    names = " or ".join(c.replace("_", " ") for c in params.concept)
    placed = [(m, result_day(m)) for m in mentions]
    inside = [(m, d) for m, d in placed if frame.place(Span.point(d)) is Placement.INSIDE]
    if not inside:
        undated = [m for m, d in placed if frame.place(Span.point(d)) is Placement.PARTLY]
        if undated:
            return Finding(
                Status.UNKNOWN, f"{names} result not dated{where}",
                tuple(context.patient.cite(m) for m in undated),
            )
        pending = _pending(params, context, frame)
        if pending:
            return Finding(
                Status.UNKNOWN, f"no {names} result{where}: the laboratory reports it pending",
                tuple(context.patient.cite(m) for m in pending),
            )
        return Finding(None, f"no {names} result in the chart{where}")
    judged = [_judge(m, d, params, context) for m, d in inside]
    if params.which == "any":
        return _any(judged, params.min_count, context)
    return _latest(judged, params, context)


def _pending(params: LabParams, context: Context, frame: Any) -> list[Mention]:
    """The test's latest row in a laboratory report without a result yet ("EBV DNA PCR,
    plasma   Pending", "HIV-1/2 differentiation   PENDING"): the question is open, not
    silent (GUIDELINES section 6: a work-up pending is for a person). A test only planned
    in a clinic note ("screening labs to include QuantiFERON") is not a pending result."""
    rows = [
        m for m in context.patient.find(params.concept)
        if m.fact.kind is Kind.LAB and m.fact.experiencer is Experiencer.PATIENT
        and m.fact.assertion is Assertion.HYPOTHETICAL
        and (m.fact.lab is None or (m.fact.lab.value is None and m.fact.lab.titer is None))
        and m.written is not None and frame.place(Span.point(m.written)) is Placement.INSIDE
        and "lab" in (context.patient.notes[m.fact.evidence.note_id].type or "").lower()
    ]
    return rows[-1:]


def _cite(judged: list[Judged], context: Context) -> tuple[Any, ...]:
    return tuple(context.patient.cite(j.mention) for j in judged)


def _latest(judged: list[Judged], params: LabParams, context: Context) -> Finding:
    newest_day = max((j.day for j in judged if j.day is not None), default=None)
    newest = [j for j in judged if j.day == newest_day]
    statuses = {j.status for j in newest}
    accounts = "; ".join(j.account for j in newest)
    if len(statuses) > 1:
        return Finding(Status.UNKNOWN, f"results of the same day disagree: {accounts}", _cite(newest, context))
    status = statuses.pop()
    screening = context.screening_date
    if (
        params.stale_after is not None and screening is not None and newest_day is not None
        and newest_day < params.stale_after.before(screening)
    ):
        return Finding(
            Status.UNKNOWN,
            f"latest result is older than {params.stale_after} before {screening.isoformat()}: {accounts}",
            _cite(newest, context),
        )
    older = [j for j in judged if j.day != newest_day and j.status is not status]
    cited = _sources(newest, judged, context)
    if older:
        previous = max(older, key=lambda j: j.day or dt.date.min)
        accounts += f"; supersedes {previous.account}"
        # the latest result decides alone ("SpO2 97%" now, not the 89% of an admission months
        # ago); an unsure latest one ("serum hCG equivocal") is read with the value before it
        if status is Status.UNKNOWN:
            cited.append(previous)
    return Finding(status, accounts, _cite(cited, context))


_RECAP_DAYS = 31  # a clinic note recaps a report's result within about a month of it


def _sources(newest: list[Judged], judged: list[Judged], context: Context) -> list[Judged]:
    """The results to cite for the newest day: a clinic note's recap of a result ("CD19 88",
    "ECG normal" in a later phone note) is cited with the report's row it copies (the same
    test, the same value, from a report written up to a month before): in a lab table the row
    is what a reviewer checks (GUIDELINES section 6), the recap what the team read from it.
    The recap's day still decides which result is the latest; only what is cited grows."""
    cited: list[Judged] = []
    for item in _once_per_note(newest):
        source = None if _from_report(item, context) else _copied_row(item, judged, context)
        for chosen in (source, item):
            if chosen is not None and chosen not in cited:
                cited.append(chosen)
    return cited


def _once_per_note(newest: list[Judged]) -> list[Judged]:
    """A result written twice in one note (an echo report's "LVEF (biplane Simpson) 48%" and its
    impression's "LVEF 48%") is one result, cited where the note first writes it: copies count
    once (GUIDELINES section 6)."""
    kept: list[Judged] = []
    for item in sorted(newest, key=lambda j: (j.mention.first.evidence.note_id, j.mention.first.evidence.char_start)):
        if not any(
            k.mention.first.evidence.note_id == item.mention.first.evidence.note_id
            and k.mention.fact.concept == item.mention.fact.concept
            and _same_value(k.mention, item.mention)
            for k in kept
        ):
            kept.append(item)
    return [j for j in newest if j in kept]


def _copied_row(recap: Judged, judged: list[Judged], context: Context) -> Judged | None:
    """The latest report row with the recap's concept and value, written before it within a month."""
    rows = [
        j for j in judged
        if j is not recap and _from_report(j, context)
        and j.mention.fact.concept == recap.mention.fact.concept
        and _same_value(j.mention, recap.mention)
        and j.day is not None and recap.day is not None
        and 0 <= (recap.day - j.day).days <= _RECAP_DAYS
    ]
    return max(rows, key=lambda j: j.day or dt.date.min) if rows else None


def _same_value(a: Mention, b: Mention) -> bool:
    """Two results read alike: the same number (or titer), else the same qualitative word."""
    la, lb = a.fact.lab, b.fact.lab
    if la is None or lb is None:
        return False
    if la.value is not None or lb.value is not None:
        return la.value == lb.value and la.value_high == lb.value_high
    if la.titer is not None or lb.titer is not None:
        return la.titer == lb.titer
    return la.qualitative is not None and la.qualitative == lb.qualitative


def _from_report(judged: Judged, context: Context) -> bool:
    """The result is a laboratory report's row (its note is a lab report, or the row carries
    its reference range), not a clinic note's recap of it: GUIDELINES section 6 cites "in a
    lab table the row", so when any result in the window will do, the report's are cited
    first (then the latest)."""
    lab = judged.mention.first.lab
    if lab is not None and (lab.ref_low is not None or lab.ref_high is not None):
        return True
    note = context.patient.notes.get(judged.mention.first.evidence.note_id)
    return note is not None and "lab" in (note.type or "").lower()


def _one_per_test(judged: list[Judged]) -> list[Judged]:
    """One result per test and day: a report's row and a note's recap of it the same day
    are one test, not two ("repeatedly indeterminate" counts tests)."""
    seen: set[tuple[str, dt.date | None]] = set()
    kept = []
    for item in judged:
        key = (item.mention.fact.concept, item.day)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def _any(judged: list[Judged], needed: int, context: Context) -> Finding:
    ordered = sorted(
        judged, key=lambda j: (_from_report(j, context), j.day or dt.date.min), reverse=True
    )
    met = _one_per_test([j for j in ordered if j.status is Status.MET])
    unsure = _one_per_test([j for j in ordered if j.status is Status.UNKNOWN])
    count = f"{len(met)} of the {needed} results needed: " if needed > 1 else ""
    if len(met) >= needed:
        return Finding(Status.MET, count + "; ".join(j.account for j in met[:needed]), _cite(met[:needed], context))
    if len(met) + len(unsure) >= needed:
        chosen = met + unsure
        return Finding(Status.UNKNOWN, count + "; ".join(j.account for j in chosen), _cite(chosen, context))
    latest_each = {}
    for item in ordered:
        latest_each.setdefault(item.mention.fact.concept, item)
    shown = met + [j for j in latest_each.values() if j not in met]
    return Finding(Status.NOT_MET, count + "; ".join(j.account for j in shown), _cite(shown, context))
