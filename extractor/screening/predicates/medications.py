"""Medication predicates: exposure in a window, stable current dosing, treatment response.

- `medication`: the drug (by ingredient or class) was taken on some day of a window,
  ever, or is taken now. A current drug is taken on the note's day (or its last dose);
  a stopped drug without a stop date was taken some time before the note.
- `stable_medication`: taken now, at an unchanged dose for at least a duration, within
  a prednisone-equivalent limit where one is given.
- `treatment_response`: how many distinct drug classes failed (inadequate response,
  failure, refractory).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from dataclasses import replace
from typing import Literal

from pydantic import Field, model_validator

from extractor.facts import Assertion, Experiencer, Fact, MedicationDetails, MedStatus, Temporality, TimeRef
from extractor.resources import patterns_dir, read_yaml
from extractor.screening.outcome import Finding, Status, merge_evidence
from extractor.screening.patient import Mention, fact_classes
from extractor.screening.predicates.presence import finding
from extractor.screening.predicates.registry import (
    Context,
    DurationField,
    Names,
    Params,
    label_of,
    predicate,
)
from extractor.screening.resolve import (
    Polarity,
    Resolution,
    Statement,
    combine_any,
    recent_courses,
    resolve_current,
    resolve_window,
)
from extractor.screening.thresholds import fmt
from extractor.screening.timeline import Duration, Placement, Span, Window

_FAILED = ("inadequate_response", "failure", "refractory")
_DX_GAP = 30  # "SLE, diagnosed in": the farthest a diagnosis date sits after the disease
_LATER_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")  # another dose's date later on the line


class _Drugs(Params):
    concept: Names = ()
    classes: Names = ()
    exclude: Names = ()

    @model_validator(mode="after")
    def _something_to_find(self) -> _Drugs:
        if not (self.concept or self.classes):
            raise ValueError("give at least one of concept (ingredients) or classes")
        return self


class MedicationParams(_Drugs):
    """`medication: {classes: [anti_cd20], window: 3 months}`."""

    shorthand = "concept"

    # "planned": a drug the chart says will be started ("start sofosbuvir/velpatasvir once
    # insurance approves"), written within the window
    when: Literal["ever", "current", "planned"] = "ever"
    window: DurationField | None = None
    response: Names = ()  # only mentions stating one of these responses (allergy, ...)
    min_distinct: int = Field(default=1, ge=1)  # distinct ingredients needed
    historical: Literal["not_met", "unknown"] = "not_met"
    # words naming a use that does not count, written in the drug's own list item
    # ("TMP-SMX 40 mg PO BID Mon/Wed/Fri (PJP prophylaxis)", "prophylactic valganciclovir")
    not_for: Names = ()
    # for a drug taken now, words that make a statement the one to cite, of those saying it is
    # taken ("Continue tacrolimus/MPA/prednisone triple immunosuppression - lifelong" over a
    # later "Tacrolimus, trough"); the status is the latest statements', as before
    cite_stating: Names = ()
    # a window question not met on courses before it cites those that ended within this long
    # before screening only (the antibiotics finished last week, not the hepatitis C cure of 2019)
    cite_recent: DurationField | None = None


def _span_of(ref: TimeRef | None) -> Span | None:
    if ref is None:
        return None
    if ref.date is not None:
        return Span.point(ref.date)
    if ref.start is not None or ref.end is not None:
        return Span(ref.start, ref.end)
    return None


_EVERY_N_WEEKS = re.compile(r"(?:every|q) ?(\d|two|three|four|six|eight) ?(?:weeks?|wks?)")
_WORDS = {"two": 2, "three": 3, "four": 4, "six": 6, "eight": 8}
_INTERVAL_DAYS = {"weekly": 7, "once weekly": 7, "once a week": 7, "every week": 7, "q week": 7, "qweek": 7,
                  "biweekly": 14, "monthly": 28, "every month": 28, "q month": 28, "qmonth": 28}


def _interval_days(frequency: str | None) -> int | None:
    """Days between doses of a drug given weekly or less often; None for daily dosing."""
    if not frequency:
        return None
    text = frequency.lower().strip()
    match = _EVERY_N_WEEKS.fullmatch(text)
    if match:
        raw = match.group(1)
        return 7 * (int(raw) if raw.isdigit() else _WORDS[raw])
    return _INTERVAL_DAYS.get(text)


def _current_span(details: MedicationDetails, written: dt.date | None, regimen: int | None) -> Span:
    """The days a "current" mention vouches for a dose: the note's day for daily drugs; for
    a drug given every few weeks (by this mention, else by the patient's regimen of it), its
    last dose fell some day of the interval before."""
    interval = _interval_days(details.frequency) or regimen
    if written is None or interval is None:
        return Span.point(written)
    return Span(written - dt.timedelta(days=interval - 1), written)


def dose_text(details: MedicationDetails) -> str:
    """'10 mg/day' (daily dose) when stated."""
    if details.daily_dose is None:
        return ""
    return f"{fmt(details.daily_dose)} {details.dose_unit or 'mg'}/day"


def exposure(
    mention: Mention,
    response: tuple[str, ...] = (),
    interval: int | None = None,
    *,
    window: bool = False,
    note_text: str | None = None,
) -> Statement | None:
    """When the patient took the drug, as one mention says; None when it does not say.

    For a window question (``window``), a bare name outside a medication list vouches only
    for some day up to its note, so the record's dated statements decide.

    With ``response``, only mentions stating one of those responses count (an allergy to
    it); without, allergy entries do not count as taking the drug.
    """
    fact = mention.fact
    details = fact.medication
    if (
        details is None
        or fact.experiencer is not Experiencer.PATIENT
        or fact.assertion is Assertion.HYPOTHETICAL
        or details.status is MedStatus.PLANNED
    ):
        return None
    if response and (fact.assertion is Assertion.ABSENT or not set(details.response) & set(response)):
        return None
    if not response and "allergy" in details.response:
        return None  # an allergy entry records a reaction, not that the drug is taken
    label = fact.label.lower() if fact.label else details.ingredient.replace("_", " ")
    if fact.assertion is Assertion.ABSENT:
        historical = fact.temporality is Temporality.HISTORICAL
        span = Span(None, mention.written) if historical else Span.point(mention.written)
        return Statement(mention, Polarity.DENY, span, label)
    polarity = Polarity.HEDGE if fact.assertion is Assertion.POSSIBLE else Polarity.AFFIRM
    ended = _span_of(details.last_dose) or _span_of(details.stop)
    parts = [dose_text(details), *(r.replace("_", " ") for r in details.response if r in response)]
    detail = " ".join(part for part in parts if part)
    if window and details.status is MedStatus.CURRENT and ended is None and _bare(mention):
        # "despite OCS, HCQ and belimumab", "CD19 low post-rituximab": the drug is named,
        # not said to be taken now; some day up to the note, and the record's dates decide
        return Statement(mention, polarity, Span(None, mention.written), label, detail=detail)
    if (
        details.status is MedStatus.CURRENT
        and fact.attrs.get("status_stated") is False
        and fact.temporality is Temporality.HISTORICAL
    ):
        # no word calls it current and the sentence tells of the past ("MAS 04/2023, treated
        # with IV methylprednisolone and anakinra, resolved"): a past course, dated if it can be
        when = ended or _span_of(fact.time) or Span(None, mention.written)
        return Statement(mention, polarity, when, label, detail=f"{detail} (past)".strip())
    stopped = _span_of(details.stop)
    if (
        details.status is MedStatus.CURRENT
        and stopped is not None
        and stopped.end is not None
        and mention.written is not None
        and stopped.end < mention.written
    ):
        # "started at diagnosis but stopped in 03/2025" written in April: a stop the text dates
        # before its note ends the drug, whatever word sits nearer its name
        return Statement(mention, polarity, stopped, label, detail=f"{detail} (stopped)".strip())
    given = _given_on(mention, note_text or "") if details.status is MedStatus.CURRENT and ended is None else None
    if given is not None:
        # the text dates a dose, whatever else the sentence says is current
        return Statement(mention, polarity, given, label, detail=detail)
    if details.status is MedStatus.CURRENT:
        span = ended or _current_span(details, mention.written, interval)
        ongoing = mention.ongoing and ended is None  # a stated last dose is the last exposure
        return Statement(mention, polarity, span, label, now=True, detail=detail, ongoing=ongoing)
    detail = f"{detail} ({details.status.value})".strip()
    # a past course dated in the text ("rituximab x2 in 2023") is bounded by that date
    when = ended or _span_of(fact.time) or Span(None, mention.written)
    return Statement(mention, polarity, when, label, detail=detail)


def _given_on(mention: Mention, note_text: str) -> Span | None:
    """The days a dose was given when the text dates it: a counted course on its written
    date ("Rituxan 1 g x2 on 01/31/25"), or a drug no word calls current, written outside a
    medication list with past days ("rituximab 1 g 12/10/2024 and 12/24/2024": the last
    one). None when the text does not date a dose, or names a later day it cannot read."""
    fact, time = mention.fact, mention.fact.time
    details = fact.medication
    if details is None or time is None or time.source != "text" or (time.date is None and time.end is None):
        return None
    if details.course_count:
        return _span_of(time)
    if (
        time.date is None
        or time.precision != "day"
        or fact.attrs.get("status_stated") is not False
        or fact.evidence.section in _LIST_SECTIONS
        or mention.written is None
        or time.date >= mention.written
        or time.char_end is None
    ):
        return None
    last = time.date
    for match in _LATER_DATE.finditer(note_text, time.char_end, _line_end(note_text, time.char_end)):
        month, day, year = (int(part) for part in match.groups())
        try:
            later = dt.date(year, month, day)
        except ValueError:
            return None
        if later >= mention.written:
            return None
        last = max(last, later)
    return Span.point(last)


def _text_of(mention: Mention, context: Context) -> str:
    note = context.patient.notes.get(mention.fact.evidence.note_id)
    return note.text if note is not None else ""


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


_LIST_SECTIONS = {"medications", "discharge_medications"}


def _bare(mention: Mention) -> bool:
    """A drug's name that no word calls current, with no dose, route, frequency or date,
    outside a medication list ("despite OCS, HCQ and belimumab")."""
    fact = mention.fact
    details = fact.medication
    return (
        details is not None
        and fact.attrs.get("status_stated") is False
        and fact.evidence.section not in _LIST_SECTIONS
        and fact.time is None
        and details.dose is None
        and details.route is None
        and details.frequency is None
        and details.start is None
    )


def _regimens(mentions: list[Mention]) -> dict[str, int]:
    """Per drug, the dosing interval in days its latest mention with one states ("every four
    weeks"), so a bare "on Benlysta" in a later note is read with it."""
    found: dict[str, tuple[dt.date, int]] = {}
    for mention in mentions:
        details = mention.fact.medication
        interval = _interval_days(details.frequency) if details else None
        day = mention.written or dt.date.min
        if interval is not None and (mention.fact.concept not in found or day >= found[mention.fact.concept][0]):
            found[mention.fact.concept] = (day, interval)
    return {concept: interval for concept, (_, interval) in found.items()}


def _by_ingredient(statements: list[Statement]) -> dict[str, list[Statement]]:
    groups: dict[str, list[Statement]] = defaultdict(list)
    for item in statements:
        groups[item.mention.fact.concept].append(item)
    return groups


@predicate("medication", MedicationParams)
def medication(params: MedicationParams, context: Context) -> Finding:
    """A drug taken within a window, ever, or now; optionally with a stated response."""
    mentions = context.patient.find(params.concept, params.classes, exclude=params.exclude)
    if params.when == "planned":
        return _planned(mentions, params, context)
    regimens = _regimens(mentions)
    statements = [
        s for m in mentions
        if (s := exposure(
            m, params.response, regimens.get(m.fact.concept),
            window=params.when == "ever", note_text=_text_of(m, context),
        )) is not None
    ]
    if params.not_for:
        frame = context.window(params.window)
        statements = [_other_use(s, params.not_for, frame, context) for s in statements]
    resolutions = []
    for group in _by_ingredient(statements).values():
        if params.when == "current":
            now = resolve_current(group, Status(params.historical))
            resolutions.append(_cite_stating(now, group, params.cite_stating, context))
        else:
            resolutions.append(resolve_window(group, context.window(params.window)))
    what = label_of(params.concept, params.classes)
    frame = context.window(params.window).label if params.window else ""
    scope = "current " if params.when == "current" else ""
    silence = f"no {scope}{what} in the chart" + (f" {frame}" if frame else "")
    if params.min_distinct == 1:
        found = _courses_decide(combine_any(resolutions), statements, params)
        if params.cite_recent is not None:
            found = recent_courses(found, context.window(params.cite_recent), latest_only=True)
        return finding(found, context, silence)
    return finding(_count(resolutions, params.min_distinct), context, silence)


def _cite_stating(found: Resolution, group: list[Statement], words: Names, context: Context) -> Resolution:
    """A drug taken now cites, of the statements that it is taken, the latest whose cited words
    say what the question asks of it (``cite_stating``: its long-term use), in place of the
    latest statement; nothing changes when none says so."""
    if not words or found.status is not Status.MET:
        return found
    wording = _words_regex(words)
    stating = [
        s for s in group
        if s.polarity is Polarity.AFFIRM and s.now
        and wording.search(context.patient.cite(s.mention).text) is not None
    ]
    if not stating:
        return found
    chosen = max(stating, key=lambda s: s.written or dt.date.min)
    return replace(found, cited=(chosen, *found.cited[1:]))


def _courses_decide(found: Resolution, statements: list[Statement], params: MedicationParams) -> Resolution:
    """A window question not met on courses given before it ("belimumab 05/2023 to 09/2024")
    rests on those courses: the denial of a drug the chart never says was given, asked for
    beside them ("no anakinra or cyclosporine yet", "I don't anticipate any need for ...
    CYC"), adds nothing a reviewer checks. A denial about a drug that was given ("has not
    taken Olumiant since ...") or about a whole class ("No supplements.") is kept, and with no
    course the denials are what it rests on."""
    if params.when != "ever" or found.status is not Status.NOT_MET:
        return found
    given = {s.mention.fact.concept for s in statements if s.polarity in (Polarity.AFFIRM, Polarity.HEDGE)}
    if not any(s.polarity in (Polarity.AFFIRM, Polarity.HEDGE) for s in found.cited):
        return found
    kept = tuple(s for s in found.cited if s.polarity is not Polarity.DENY or _covers(s, given))
    return replace(found, cited=kept)


def _covers(denial: Statement, given: set[str]) -> bool:
    """Whether a denial speaks of a drug that was given: its own, or every drug of a class
    ("No supplements.", "no biologics": a class named as such)."""
    fact = denial.mention.fact
    return fact.concept in given or bool(fact.attrs.get("class_only"))


def _planned(mentions: list[Mention], params: MedicationParams, context: Context) -> Finding:
    """A drug the patient's chart plans to start, on the day the plan was written."""
    statements = [
        Statement(m, Polarity.AFFIRM, Span.point(m.written), label_of((m.fact.concept,), ()), detail="(planned)")
        for m in mentions
        if m.fact.medication is not None
        and m.fact.medication.status is MedStatus.PLANNED
        and m.fact.experiencer is Experiencer.PATIENT
        and m.fact.assertion is not Assertion.ABSENT
    ]
    frame = context.window(params.window)
    silence = f"no planned {label_of(params.concept, params.classes)} in the chart" + (
        f" {frame.label}" if params.window else ""
    )
    return finding(combine_any([resolve_window(statements, frame)]), context, silence)


def _other_use(statement: Statement, uses: Names, frame: Window, context: Context) -> Statement:
    """A drug charted for another use ("(PJP prophylaxis)") in the window is about the question
    but not the kind asked for; outside the window it still says the drug was not given then."""
    if statement.polarity is Polarity.DENY or frame.place(statement.span) is Placement.OUTSIDE:
        return statement
    use = _written_for(statement.mention, _text_of(statement.mention, context), uses)
    return replace(statement, polarity=Polarity.OTHER, detail=f"({use})") if use else statement


_ITEM_END = re.compile(r"[,;\n]")
_ITEM_START = re.compile(r"[,;:(\n][^,;:(\n]*$")


def _written_for(mention: Mention, note_text: str, uses: Names) -> str:
    """The one of ``uses`` the drug's own list item names, else "": the words from the item's
    start (a comma, semicolon, colon, bracket or line) to its end (a comma, semicolon or line),
    so "(PJP prophylaxis)" after TMP-SMX counts and a neighbour's does not."""
    evidence = mention.fact.evidence
    if not note_text:
        return ""
    before = note_text[max(0, evidence.char_start - 60) : evidence.char_start]
    opened = _ITEM_START.search(before)
    start = evidence.char_start - (len(before) - opened.start() - 1) if opened else evidence.char_start - len(before)
    ended = _ITEM_END.search(note_text, evidence.char_end, evidence.char_end + 80)
    item = note_text[start : ended.start() if ended else evidence.char_end + 80].lower()
    return next((use for use in uses if re.search(rf"(?<!\w){re.escape(use.lower())}(?!\w)", item)), "")


def _count(resolutions: list[Resolution], needed: int) -> Resolution:
    """Met when at least ``needed`` distinct drugs are met; unknown when that is still possible."""
    met = [r for r in resolutions if r.status is Status.MET]
    unsure = [r for r in resolutions if r.status is Status.UNKNOWN]
    spoken = [r for r in resolutions if r.status is not None]
    if not spoken:
        return Resolution(None, (), "")
    if len(met) >= needed:
        chosen, status = met, Status.MET
    elif len(met) + len(unsure) >= needed:
        chosen, status = met + unsure, Status.UNKNOWN
    else:
        chosen, status = spoken, Status.NOT_MET
    reason = f"{len(met)} distinct drugs ({needed} needed): " + "; ".join(r.reason for r in chosen)
    return Resolution(status, tuple(s for r in chosen for s in r.cited), reason)


class StableParams(_Drugs):
    """`stable_medication: {classes: [ocs], duration: 7 days, max_prednisone_equivalent: 20}`."""

    duration: DurationField
    max_prednisone_equivalent: float | None = Field(default=None, gt=0)  # mg/day
    # words saying the dose goes on as it was ("no changes", "keep ... unchanged"): of the
    # latest statements of a drug, one with them is the one cited for a stable dose
    unchanged: Names = ()


@predicate("stable_medication", StableParams)
def stable_medication(params: StableParams, context: Context) -> Finding:
    """A drug taken now at an unchanged dose for at least ``duration``."""
    mentions = context.patient.find(params.concept, params.classes, exclude=params.exclude)
    statements = [s for m in mentions if (s := _held(m) or _ongoing_in_history(m) or exposure(m)) is not None]
    judged = [_stable(group, params, context) for group in _by_ingredient(statements).values()]
    resolutions = [resolution for resolution, _ in judged]
    what = label_of(params.concept, params.classes)
    over = [resolution for resolution, above in judged if above]
    if over and not any(r.status is Status.MET for r in resolutions):
        # the limit is on the whole prednisone-equivalent dose: one drug taken above it settles
        # the question whatever another one's dose ("prednisolone 30 mg" beside a
        # "methylprednisolone" of unstated dose)
        resolutions = over
    combined = combine_any(resolutions)
    if combined.status is Status.NOT_MET:
        # each drug is not stable for its own reason: each one's deciding statement is cited
        cited = tuple(dict.fromkeys(r.cited[0] for r in resolutions if r.status is Status.NOT_MET and r.cited))
        combined = replace(combined, cited=cited)
    return finding(combined, context, f"no current {what} in the chart")


def _held(mention: Mention) -> Statement | None:
    """A drug held ("hold MMF while febrile", "MMF on hold since 10/10") is not taken on the day
    written: for the stable-dose question, a statement that it is not taken now (the context
    reads "on hold" as the drug not being given, a hypothetical; it is still the patient's)."""
    fact = mention.fact
    details = fact.medication
    if (
        details is None
        or details.status is not MedStatus.HELD
        or fact.experiencer is not Experiencer.PATIENT
        or fact.assertion not in (Assertion.PRESENT, Assertion.HYPOTHETICAL)
        or (fact.assertion is Assertion.HYPOTHETICAL and not _on_hold(fact))
    ):
        return None
    label = fact.label.lower() if fact.label else details.ingredient.replace("_", " ")
    return Statement(mention, Polarity.DENY, Span.point(mention.written), label, detail="(held)")


def _on_hold(fact: Fact) -> bool:
    """Whether a hypothetical reading comes only from the words that the drug is on hold (not
    from "if", "hold off on" or another plan)."""
    cues = fact.attrs.get("context_cues") or []
    kinds = [cue for cue in cues if isinstance(cue, dict) and cue.get("category") == "HYPOTHETICAL"]
    return bool(kinds) and all(str(cue.get("text", "")).lower() == "on hold" for cue in kinds)


def _ongoing_in_history(mention: Mention) -> Statement | None:
    """A treatment-history item that dates its dose ("- prednisone since dx ...; currently 7.5
    mg daily, unchanged since 01/10/2025", "- azathioprine since 05/2024, 100 mg daily") and
    says nothing of an end: the drug goes on, whatever the list's heading makes of it. A
    start without a dose dates the drug, not its dose, and stays past. Only for the
    stable-dose question: a window question keeps the list's past reading."""
    fact = mention.fact
    details = fact.medication
    if (
        details is None
        or fact.experiencer is not Experiencer.PATIENT
        or fact.assertion is not Assertion.PRESENT
        or details.status is not MedStatus.PAST
        or fact.attrs.get("status_stated") is not False
        or (details.stable_since is None and (details.start is None or details.daily_dose is None))
        or details.stop is not None
        or details.last_dose is not None
        or "allergy" in details.response
    ):
        return None
    label = fact.label.lower() if fact.label else details.ingredient.replace("_", " ")
    return Statement(mention, Polarity.AFFIRM, Span.point(mention.written), label, now=True, detail=dose_text(details))


def _stable(group: list[Statement], params: StableParams, context: Context) -> tuple[Resolution, bool]:
    """One drug: taken now, within the limit, at a dose unchanged for the duration; and
    whether it is taken above the limit.

    Taken-now left unknown by a statement and a denial of the same day ("on Euro-Lupus CYC
    since 05/06" and, of the trial, "excludes recent CYC"), the affirmations are judged
    alone: when they show no stable dose either (started within the duration), both readings
    say not met."""
    now = resolve_current(group)
    if now.status is Status.UNKNOWN:
        affirmed = [s for s in group if s.polarity is Polarity.AFFIRM]
        if affirmed and affirmed != group and resolve_current(affirmed).status is Status.MET:
            alone, above = _stable(affirmed, params, context)
            if alone.status is Status.NOT_MET:
                cited = (*alone.cited, *now.cited[1:])
                return replace(alone, reason=f"{alone.reason}; {now.reason}", cited=cited), above
    if now.status is not Status.MET:
        return now, False
    latest = now.cited[0]
    run, changed = _current_run(group, latest)
    # "Still on pred, no changes" names no dose: the dose is the latest one written
    dosed = next((s for s in run if _details(s).daily_dose is not None), latest)
    limit = params.max_prednisone_equivalent
    if limit is not None:
        equivalent = _details(dosed).prednisone_equivalent_mg_day
        if equivalent is None:
            reason = f"{latest.describe()}: prednisone-equivalent dose not stated"
            return Resolution(Status.UNKNOWN, (latest,), reason), False
        if equivalent > limit:
            return Resolution(
                Status.NOT_MET, (dosed,),
                f"{dosed.describe()}: {fmt(equivalent)} mg/day prednisone-equivalent > {fmt(limit)} mg/day",
            ), True
    first_seen = min((s.mention.first_written for s in group if s.mention.first_written is not None), default=None)
    says = _Unchanged(params.unchanged, context)
    found = _stability(run, changed, dosed, params.duration, context, first_seen, says)
    if found.status is not Status.MET:
        return found, False
    return replace(found, cited=_stable_cited(found.cited, run, says)), False


class _Unchanged:
    """Whether a statement's cited words say the dose goes on as it was ("no changes",
    "same dose since 06/2024"): the trial's ``unchanged`` words, as whole words."""

    def __init__(self, words: Names, context: Context) -> None:
        self._regex = _words_regex(words) if words else None
        self._context = context

    def __call__(self, statement: Statement) -> bool:
        if self._regex is None:
            return False
        return self._regex.search(self._context.patient.cite(statement.mention).text) is not None


@functools.lru_cache(maxsize=16)
def _words_regex(words: Names) -> re.Pattern[str]:
    """Whole words in any case, compiled once per trial rule."""
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)


def _stable_cited(cited: tuple[Statement, ...], run: list[Statement], says: _Unchanged) -> tuple[Statement, ...]:
    """What a stable dose rests on for a reviewer: the statement whose own words date the dose
    ("1000 mg BID, same dose since 06/2024", "started 12/2024") and the latest statement that
    the drug goes on. A dose dated only by notes weeks apart cites the earlier day's words
    that it stays ("keep ... HCQ 100 mg unchanged"), not a bare list row; a line telling the
    drug's failure ("HCQ 300 mg daily since 2022, persistent activity on it") is not cited for
    it. The latest statement is, preferring one that says the dose is unchanged ("Still on pred
    7.5 and HCQ 400 - no changes"), then one with a dose."""
    source = cited[0]
    kept = [source] if _dating_rank(source, says) < 2 else []
    if not kept and not _failed(source):
        # dated by notes apart: the earlier day's statement that the dose stays ("keep
        # prednisolone 10 mg, AZA 50 mg and HCQ 100 mg unchanged"), if one says so
        kept = [s for s in run if s.written == source.written and says(s)][:1]
    # the latest words that the dose is unchanged ("Continue pred 10 mg, HCQ, AZA unchanged"),
    # over a later bare "continue ..." that says nothing of the dose
    saying = [s for s in run if says(s) and not _failed(s)]
    newest = [s for s in run if s.written == (saying[0] if saying else run[0]).written]
    latest = max(newest, key=lambda s: (says(s), _details(s).daily_dose is not None, not _failed(s)))
    if latest is not source and (kept or not _failed(latest)):
        kept.append(latest)
    return tuple(kept) or cited


def _dating_rank(statement: Statement, says: _Unchanged) -> int:
    """How directly a statement's own words date its dose: 0 a stable-since, a dated change
    or words that the dose is unchanged ("unchanged since 09/2024"), 1 a start date on a
    line that does not tell the drug's failure ("started 12/2024"), 2 neither."""
    details = _details(statement)
    if details.stable_since is not None or any(c.date is not None for c in details.dose_changes):
        return 0
    if details.start is not None and says(statement):
        return 0
    return 1 if details.start is not None and not _failed(statement) else 2


def _failed(statement: Statement) -> bool:
    return bool(set(_details(statement).response) & set(_FAILED))


def _begun_by(start: TimeRef | None, written: dt.date | None) -> dt.date | None:
    """The latest day a stated start may mean: the end of "since 03/2023" (03/31); of a span
    reaching its note ("2015-present"), the end of its first year or month, not the note."""
    span = _span_of(start)
    if start is None or span is None or span.end is None:
        return None
    if span.start is not None and written is not None and span.start < written <= span.end:
        if start.precision == "year":
            return dt.date(span.start.year, 12, 31)
        if start.precision == "month":
            return (span.start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return span.end


def _details(statement: Statement) -> MedicationDetails:
    details = statement.mention.fact.medication
    assert details is not None  # exposure() only builds statements for medications
    return details


def _current_run(group: list[Statement], latest: Statement) -> tuple[list[Statement], Statement | None]:
    """The current mentions of one drug, newest first, back to the last one at another dose.

    A mention without a dose ("continue HCQ", "still on CellCept - no changes") neither
    starts nor breaks a run: it says the drug goes on. The second value is the newest
    mention at a different dose, if any.
    """
    last_day = latest.written or dt.date.max
    current = sorted(
        (s for s in group if s.polarity is Polarity.AFFIRM and s.now and (s.written or dt.date.min) <= last_day),
        key=lambda s: s.written or dt.date.min, reverse=True,
    )
    dose = next((amounts for s in current if (amounts := _amounts(s))), None)
    run: list[Statement] = []
    for item in current:
        other = _amounts(item)
        if dose and other and not _same_dose(dose, other):
            # a dose written without its frequency ends the run, but does not date a change: it
            # may be a tablet's strength ("CellCept 500 mg"), so the stability is left open
            exact = dose[0] is not None and other[0] is not None
            return run, item if exact else None
        run.append(item)
    return run, None


def _amounts(statement: Statement) -> tuple[float | None, float | None] | None:
    """The daily dose in mg, or the dose per administration in mg when no frequency says how
    often ("prednisone 20 mg for one week"); None when no dose is written."""
    details = _details(statement)
    if details.daily_dose is not None:
        return (details.daily_dose, None)
    if details.dose is not None and details.frequency is None and details.dose_unit in (None, "mg"):
        return (None, details.dose)
    return None


def _same_dose(first: tuple[float | None, float | None], second: tuple[float | None, float | None]) -> bool:
    """Whether two written doses may be the same: daily doses equal, or a dose written without
    its frequency equal to the other's daily dose or to a daily dose's whole number of
    administrations ("HCQ 200" beside "200 mg BID"); "20 mg" beside "10 mg qd" is another dose."""
    (daily, single), (other_daily, other_single) = first, second
    if daily is not None and other_daily is not None:
        return abs(daily - other_daily) <= 1e-9
    if single is not None and other_single is not None:
        return abs(single - other_single) <= 1e-9
    total = daily if daily is not None else other_daily
    part = single if single is not None else other_single
    assert total is not None and part is not None
    return any(abs(part * times - total) <= 1e-9 for times in (1, 2, 3, 4))


def _stability(
    run: list[Statement],
    changed_at: Statement | None,
    dosed: Statement,
    duration: Duration,
    context: Context,
    first_seen: dt.date | None,
    says: _Unchanged,
) -> Resolution:
    """Since when the dose is unchanged, from stated stable-since or start dates anywhere in
    the current run, dated dose changes, and the first note of the run at the same dose.
    A drug the chart first names on or after its stated start, within the duration, has not
    been taken that long ("hydroxychloroquine 50 mg daily started 03/24", four days before)."""
    screening = context.screening_date
    latest = run[0]
    if screening is None:
        return Resolution(Status.UNKNOWN, (latest,), f"{latest.describe()}: no screening date")
    needed_since = duration.before(screening)
    dose_known = _details(dosed).daily_dose is not None
    stable_from: list[tuple[dt.date, Statement]] = []  # a day the dose is stable from, and who says so
    changed: list[tuple[dt.date, str, Statement]] = []  # a change, what it was, and who says so
    if changed_at is not None and changed_at.written is not None:
        if changed_at.written == dosed.written:  # two doses written the same day
            return Resolution(
                Status.UNKNOWN, (dosed, changed_at),
                f"{dosed.describe()} and {changed_at.describe()} disagree on the dose",
            )
        other = _details(changed_at)
        when = changed_at.written.isoformat()
        changed.append((changed_at.written, f"{changed_at.label} {dose_text(other)} on {when}", changed_at))
    for item in run:
        details = _details(item)
        stated = _span_of(details.stable_since)
        if stated is not None and (stated.end or stated.start):
            since_stated: dt.date = stated.end or stated.start  # type: ignore[assignment]
            stable_from.append((since_stated, item))
            changed.append((since_stated, f"dose stable only since {since_stated.isoformat()}", item))
        for change in details.dose_changes:
            if change.date is not None:
                changed.append((change.date, f"dose changed on {change.date.isoformat()}", item))
                if change.to_dose is not None and details.dose is not None and change.to_dose == details.dose:
                    # a dated change to the dose the statement gives: that dose since the change
                    stable_from.append((change.date, item))
    for item in run:
        begun = _begun_by(_details(item).start, item.written)
        if begun is not None and not _details(item).dose_changes:
            stable_from.append((begun, item))
    # the same dose written in notes weeks apart: stable over that span (dose-less mentions
    # say the drug goes on, but only written doses show the dose did not change, and dose-less
    # statements that say so: "Pt confirms she is still taking ... Plaquenil ... with no changes")
    dosed_run = [s for s in run if _details(s).daily_dose is not None]
    confirmed = [s for s in run if _details(s).daily_dose is not None or says(s)]
    if dose_known and dosed_run:
        oldest, newest = dosed_run[-1].mention.first_written, confirmed[0].written
        if oldest is not None and newest is not None and oldest < newest:
            stable_from.append((oldest, dosed_run[-1]))
    for item in run:
        start = _span_of(_details(item).start)
        begun = start.start if start is not None else None
        if (
            begun is not None and begun > needed_since and first_seen is not None and first_seen >= begun
            and item.written is not None and begun <= item.written
        ):
            changed.append((begun, f"started {begun.isoformat()}", item))
    last_change = max(changed, key=lambda change: change[0], default=None)
    if last_change is not None:
        stable_from = [pair for pair in stable_from if pair[0] >= last_change[0]]
    cited = tuple(dict.fromkeys((latest, dosed)))
    if stable_from and min(day for day, _ in stable_from) <= needed_since:
        since = min(day for day, _ in stable_from)
        # the statement cited is one whose words date the dose, when one does it long enough;
        # of two dating it alike, the one written first ("start today", not a later "started")
        qualifying = [pair for pair in stable_from if pair[0] <= needed_since]
        _, source = min(qualifying, key=lambda pair: (
            _dating_rank(pair[1], says), pair[0], pair[1].mention.first_written or dt.date.min,
        ))
        # met rests on the statement that dates the stable dose, and on the latest one
        return Resolution(
            Status.MET, tuple(dict.fromkeys((source, latest))),
            f"{dosed.describe()}, dose stable since {since.isoformat()} "
            f"(>= {duration} before {screening.isoformat()})",
        )
    if last_change is not None and last_change[0] > needed_since:
        # not met rests on the statement of the change or start, and on the latest one
        return Resolution(
            Status.NOT_MET, tuple(dict.fromkeys((last_change[2], latest))),
            f"{latest.describe()}; {last_change[1]}, within {duration} before {screening.isoformat()}",
        )
    since = (
        f"stable since {min(day for day, _ in stable_from).isoformat()}" if stable_from
        else "stable since not documented"
    )
    before = f"; earlier {last_change[1]}" if last_change is not None else ""
    if not stable_from and last_change is None:
        # nothing dates the dose: the latest statement that the drug is taken is what a reviewer
        # checks ("HCQ 200 mg 'most days'"); an older row giving the dose adds no date
        cited = (latest,)
    return Resolution(Status.UNKNOWN, cited, f"{latest.describe()}; {since}, need {duration}{before}")


class ResponseParams(Params):
    """`treatment_response: {classes: [ocs, antimalarial, ...], at_least: 3}`."""

    classes: Names = Field(min_length=1)
    responses: Names = _FAILED
    at_least: int = Field(ge=1)
    require_any: Names = ()
    # a disease first charted within ``new_within`` (its diagnosis dated there, nothing
    # older) has had no time for that many classes to fail: not met, unless failures are charted
    diagnosis: Names = ()
    new_within: DurationField | None = None
    diagnosis_words: Names = ()  # words that make a date the diagnosis date ("dx 03/2025")

    @model_validator(mode="after")
    def _coherent(self) -> ResponseParams:
        if self.at_least > len(self.classes):
            raise ValueError(f"at_least {self.at_least} is more than the {len(self.classes)} classes")
        if not set(self.require_any) <= set(self.classes):
            raise ValueError("require_any must name classes from classes")
        return self


@predicate("treatment_response", ResponseParams)
def treatment_response(params: ResponseParams, context: Context) -> Finding:
    """Distinct drug classes with a stated inadequate response; each drug counts for one class."""
    failed: dict[str, list[Mention]] = defaultdict(list)
    tried: set[str] = set()
    tried_by: dict[str, list[Mention]] = defaultdict(list)
    never: dict[str, list[Mention]] = defaultdict(list)
    for mention in context.patient.find(classes=params.classes):
        fact = mention.fact
        if fact.experiencer is not Experiencer.PATIENT or fact.medication is None:
            continue
        group = next(c for c in params.classes if c in fact_classes(fact))
        if fact.assertion is Assertion.ABSENT:
            never[group].append(mention)
        elif fact.assertion is Assertion.PRESENT:
            tried.add(group)
            tried_by[group].append(mention)
            if set(fact.medication.response) & set(params.responses):
                failed[group].append(mention)
    ruled_out = [c for c in params.classes if c in never and c not in tried]
    if not (failed or tried or never):
        return Finding(None, f"no {label_of((), params.classes)} in the chart")
    counted = ", ".join(f"{c} ({_drugs(failed[c])})" for c in params.classes if c in failed)
    required_ok = not params.require_any or any(c in failed for c in params.require_any)
    cite = [_failure_cited(failed[c], params.responses, context) for c in params.classes if c in failed]
    if len(failed) >= params.at_least and required_ok:
        return Finding(
            Status.MET, f"inadequate response in {len(failed)} classes: {counted}",
            merge_evidence(tuple(context.patient.cite(m) for m in cite)),
        )
    possible = len(params.classes) - len(ruled_out)
    required_out = bool(params.require_any) and all(c in ruled_out for c in params.require_any)
    if possible < params.at_least or required_out:
        denied = [max(never[c], key=_recency) for c in ruled_out]
        return Finding(
            Status.NOT_MET,
            f"never treated with {', '.join(ruled_out)}; at most {possible} classes can qualify"
            + (f"; inadequate response in: {counted}" if counted else ""),
            merge_evidence(tuple(context.patient.cite(m) for m in [*denied, *cite])),
        )
    need = f"{params.at_least} classes" + (f", one of {', '.join(params.require_any)}" if params.require_any else "")
    if params.diagnosis and params.new_within is not None:
        new = newly_diagnosed(context, params.diagnosis, params.new_within, params.diagnosis_words)
        if new is not None:
            day, mention = new
            return Finding(
                Status.NOT_MET,
                f"{label_of(params.diagnosis, ())} diagnosed {day.isoformat()}, within {params.new_within} "
                f"before screening: too new for {params.at_least} classes to have failed; inadequate response "
                f"documented in {len(failed)} classes" + (f" ({counted})" if counted else ""),
                merge_evidence((context.patient.cite(mention), *(context.patient.cite(m) for m in cite))),
            )
    # fewer classes ever tried than needed: the reviewer checks the courses charted, so each
    # tried class without a failure cites the statement that starts it ("tacrolimus 0.1%
    # ointment to the face" is no course of a systemic class)
    systemic = {c: kept for c, given in tried_by.items() if (kept := [m for m in given if not _local(m)])}
    courses = (
        [_course_cited(systemic[c]) for c in params.classes if c in systemic and c not in failed]
        if len(systemic) < params.at_least
        else []
    )
    return Finding(
        Status.UNKNOWN,
        f"inadequate response documented in {len(failed)} classes" + (f" ({counted})" if counted else "")
        + f"; need {need}",
        merge_evidence(tuple(context.patient.cite(m) for m in [*cite, *courses])),
    )


def _local(mention: Mention) -> bool:
    details = mention.first.medication
    return details is not None and details.route in _local_routes()


@functools.lru_cache(maxsize=1)
def _local_routes() -> frozenset[str]:
    """Routes that act where applied (``local_routes`` of ``patterns/medication_details.yaml``)."""
    return frozenset(read_yaml(patterns_dir() / "medication_details.yaml")["local_routes"])


def _course_cited(mentions: list[Mention]) -> Mention:
    """A tried class's course: the first written mention dating its start ("Started on
    prednisone 20 mg daily 12/2024", "HCQ ... since 2012"), else the first written."""
    started = [m for m in mentions if m.first.medication is not None and m.first.medication.start is not None]
    return min(started or mentions, key=lambda m: m.first_written or dt.date.max)


def _failure_cited(mentions: list[Mention], responses: Names, context: Context) -> Mention:
    """The statement cited for a class's failure: of its drugs' failed mentions, the first written
    whose own words tell the failure - in its cited words ("MMF (induction 2019, failed)") or
    heading the list it is named in ("SLE refractory to OCS, HCQ, MTX, AZA ..."). A drug's own
    row that says nothing of it ("MTX 20 mg SQ wkly   2015-2017", "hydroxychloroquine
    (Plaquenil) 2022- : continued", the failure read from a heading or from a sentence about
    something else) yields to the statement that does; with none, the first written mention."""
    words = _failure_words(responses)
    told = [m for m in mentions if _tells_failure(m, words, context)]
    return min(told or mentions, key=lambda m: m.first_written or dt.date.max)


# a list stays on its line: a cue on the row above is that row's
_LIST_GLUE = re.compile(r"(?:[ \t,;/+&()-]|\b(?:and|or|to|on|with|of|prior|the|both|all|oral|IV)\b)*", re.IGNORECASE)
_CUE_REACH = 200  # characters before a drug searched for the cue heading its list
_NEXT_CLAUSE = re.compile(r"[ \t]*;[ \t]*")


def _tells_failure(mention: Mention, words: re.Pattern[str], context: Context) -> bool:
    """Whether the mention's own words tell its failure: a cue in its cited span, opening the
    clause right after it, or followed by nothing but drug names and list words up to it
    ("despite OCS, HCQ, MMF")."""
    cited = context.patient.cite(mention)
    if words.search(cited.text):
        return True
    note = context.patient.notes.get(cited.note_id)
    if note is None:
        return False
    opening = _NEXT_CLAUSE.match(note.text, cited.char_end)
    if opening and words.match(note.text, opening.end()):
        return True  # the clause after it opens with the response: "prednisone + MMF; partial response only"
    start = mention.first.evidence.char_start
    before = note.text[max(0, start - _CUE_REACH) : start]
    cues = list(words.finditer(before))
    if not cues:
        return False
    offset = start - len(before)
    between = note.text[offset + cues[-1].end() : start]
    for other in _drug_spans(context, cited.note_id):
        if offset + cues[-1].end() <= other[0] and other[1] <= start:
            lo, hi = other[0] - offset - cues[-1].end(), other[1] - offset - cues[-1].end()
            between = between[:lo] + " " * (hi - lo) + between[hi:]
    return _LIST_GLUE.fullmatch(between) is not None


def _drug_spans(context: Context, note_id: str) -> list[tuple[int, int]]:
    """Where drugs are named in a note: the first copies of the patient's medication mentions."""
    return [
        (m.first.evidence.char_start, m.first.evidence.char_end)
        for m in context.patient.mentions
        if m.first.medication is not None and m.first.evidence.note_id == note_id
    ]


@functools.lru_cache(maxsize=8)
def _failure_words(responses: Names) -> re.Pattern[str]:
    """The words the pipeline reads as these responses (``response_cues`` of
    ``patterns/medication_details.yaml``), as whole words in any case."""
    cues = read_yaml(patterns_dir() / "medication_details.yaml")["response_cues"]
    return _words_regex(tuple(word for name in responses for word in cues.get(name, ())))


def newly_diagnosed(
    context: Context, concepts: Names, within: Duration, words: Names
) -> tuple[dt.date, Mention] | None:
    """The diagnosis date and the mention dating it, when the patient's disease is new: a
    mention dates its diagnosis inside the window ("SLE (dx 03/2025)": one of ``words``
    between the disease and the date), and no mention is dated or written before it."""
    frame = context.window(within)
    start = frame.span.start
    if start is None:
        return None
    dated: list[tuple[dt.date, Mention]] = []
    for mention in context.patient.find(concepts):
        fact = mention.fact
        if fact.experiencer is not Experiencer.PATIENT or fact.assertion not in (Assertion.PRESENT, Assertion.POSSIBLE):
            continue
        time = mention.first.time
        day = mention.span.start if time is not None and time.source == "text" else None
        if (day or mention.first_written or dt.date.min) < start or (mention.first_written or dt.date.min) < start:
            return None  # charted before the window: not a new diagnosis
        if day is not None and _says_diagnosed(context, mention, words):
            dated.append((day, mention))
    return min(dated, key=lambda pair: pair[0]) if dated else None


def _says_diagnosed(context: Context, mention: Mention, words: Names) -> bool:
    fact, time = mention.first, mention.first.time
    note = context.patient.notes.get(fact.evidence.note_id)
    if note is None or time is None or time.char_start is None or time.char_end is None:
        return False
    if not 0 <= time.char_start - fact.evidence.char_end <= _DX_GAP:
        return False
    # the date right after the diagnosis word: "SLE (dx 03/2025)", "SLE diagnosed in 02/2025"
    between = note.text[fact.evidence.char_end : time.char_start].lower()
    return any(re.search(rf"\b{re.escape(word.lower())}\W*(?:in|on)?\W*$", between) for word in words)


def _recency(mention: Mention) -> dt.date:
    return mention.written or dt.date.min


def _drugs(mentions: list[Mention]) -> str:
    names = sorted({(m.fact.label or m.fact.concept).lower() for m in mentions})
    return ", ".join(names)
