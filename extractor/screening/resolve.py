"""Deciding what a patient's statements about one thing add up to, across notes.

Rules (each cited statement is kept for the evidence):

- The most recent statement wins over an older one it contradicts, and both are cited.
  A denial contradicts an affirmation when it covers the affirmation's days ("no
  history of TB" covers a past TB; "no active TB" today does not, unless the thing is
  lifelong: "SLE ruled out" denies the earlier "SLE" too).
- A denial and an affirmation of equal weight (written the same day) leave it unknown; so do
  a denial and a doubt of the same day.
- A later denial answers an earlier "possible" ("possible SLE", then "SLE ruled out").
- *Window* questions ("within 60 days", "ever") ask whether the thing held on some day
  of the window: an undated or partly-inside statement leaves it unknown.
- *Current* questions ask about now: the latest statement decides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from extractor.screening.outcome import Status
from extractor.screening.patient import Mention
from extractor.screening.timeline import Placement, Span, Window


class Polarity(str, Enum):
    """What a statement says about the thing asked for."""

    AFFIRM = "affirm"  # it was there on the statement's days
    DENY = "deny"  # it was not there on those days
    HEDGE = "hedge"  # possibly there
    OTHER = "other"  # about the thing, but not the kind asked for ("small" effusion)


@dataclass(frozen=True, eq=False)  # identity: two mentions may say the same words
class Statement:
    """One mention read against one question."""

    mention: Mention
    polarity: Polarity
    span: Span
    label: str
    now: bool = False  # asserts the thing holds on the day written (current, on the drug)
    detail: str = ""  # what made it OTHER, or a dose: shown in reasons
    ongoing: bool = False  # may still hold after its span: in the latest note, not ended
    with_basis: bool = False  # stated with what it rests on ("SLE since 2016 (arthritis, ...)")
    unstated: bool = False  # past, without the attribute asked: it answers nothing of it

    @property
    def written(self) -> dt.date | None:
        return self.mention.written

    def describe(self) -> str:
        """A short account with dates, never the note's words beyond the concept's name."""
        detail = f" {self.detail}" if self.detail else ""
        noted = f"noted {_day(self.written)}"
        if self.polarity is Polarity.DENY:
            return f"no {self.label} ({noted})"
        if self.polarity is Polarity.HEDGE:
            return f"possible {self.label}{detail} ({noted})"
        if self.polarity is Polarity.OTHER:
            return f"{self.label}{detail} ({noted})"
        return f"{self.label}{detail} {_when(self.span)}"


@dataclass(frozen=True)
class Resolution:
    """The status a group of statements supports, the statements it rests on, and why."""

    status: Status | None  # None: nothing relevant was said
    cited: tuple[Statement, ...]
    reason: str


def _day(day: dt.date | None) -> str:
    return day.isoformat() if day is not None else "undated"


def _when(span: Span) -> str:
    if span.start is not None and span.start == span.end:
        return f"on {span.start.isoformat()}"
    if span.start is not None and span.end is not None:
        return f"between {span.start.isoformat()} and {span.end.isoformat()}"
    return span.describe()


def _later(first: Statement, second: Statement) -> bool:
    """True when ``first`` was written on a later day than ``second``."""
    return first.written is not None and second.written is not None and first.written > second.written


def _latest(statements: Iterable[Statement]) -> Statement:
    return max(statements, key=lambda s: s.written or dt.date.min)


def resolve_window(statements: Sequence[Statement], window: Window, latest: bool = False) -> Resolution:
    """Did the thing hold on some day of ``window``? Met, not met, unknown, or silence.

    ``latest`` cites, of the met claims alike, the latest written rather than the first."""
    denials = [s for s in statements if s.polarity is Polarity.DENY]
    met: list[tuple[Statement, list[Statement]]] = []
    doubtful: list[Statement] = []
    against: list[Statement] = []
    notes: list[str] = []
    for claim in (s for s in statements if s.polarity in (Polarity.AFFIRM, Polarity.HEDGE)):
        place = window.place(claim.span)
        if place is Placement.OUTSIDE and claim.ongoing and _reaches(claim.span, window):
            place = Placement.PARTLY
        if place is Placement.OUTSIDE:
            against.append(claim)
            notes.append(f"{claim.describe()}, not {window.label}" if window.label else claim.describe())
            continue
        opponents = [d for d in denials if d.span.covers(claim.span)]
        if claim.polarity is Polarity.HEDGE:  # "possible X", then "no X": the question was answered
            opponents = [d for d in denials if d.span.overlaps(claim.span) or _later(d, claim)]
        later = [d for d in opponents if _later(d, claim)]
        same = [d for d in opponents if d.written == claim.written]
        if later:
            winner = _latest(later)
            against += [winner, claim]
            notes.append(f"{claim.describe()} superseded by {winner.describe()}")
        elif same:
            doubtful += [claim, *same]
            notes.append(f"{claim.describe()} and {same[0].describe()} conflict")
        elif place is Placement.PARTLY and (course := _dated_course(claim, statements, window)) is not None:
            # "prior rituximab" recapping "rituximab x2, 05/2021": the record dates the course
            against.append(claim)
            notes.append(f"{claim.describe()}: the undated mention is the course {_when(course.span)}")
        elif claim.polarity is Polarity.HEDGE or place is Placement.PARTLY:
            doubtful.append(claim)
            why = "" if claim.polarity is Polarity.HEDGE else f": may or may not be {window.label or 'in time'}"
            notes.append(f"{claim.describe()}{why}")
        else:
            earlier = [
                d for d in denials
                if _later(claim, d) and window.span.overlaps(d.span) and not _after_onset(d, claim)
            ]
            met.append((claim, earlier))
    if met:
        # a claim with its own date ("SLE dx 10/2021") is the one a reviewer can check, and of
        # those one stated with its basis; with no window, the first written of them (the
        # diagnosis, not a later recap); else the latest, and of claims dating the same days
        # ("DDKT 08/20/2025" recapping "deceased-donor kidney transplant 08/20/2025"), the first
        # written: the statement where it was made
        ever = window.span.start is None
        claim, overruled = _cited_claim(met, ever, latest)
        reason = claim.describe() + (f", {window.label}" if window.label else "")
        if overruled:
            reason += f"; supersedes {_latest(overruled).describe()}"
        since = [d for d in denials if _later(d, claim) and window.span.overlaps(d.span)]
        if since:  # a later denial about its own day only: told, not decisive
            reason += f"; later {_latest(since).describe()} is about its own day"
        # and cited only when it writes its own date ("last Rituxan 03/10/2025"): an undated
        # "no seizure" or "HIV-1 RNA not detected" after the event says nothing of its days
        shown = [_latest(since)] if since and _dated(_latest(since)) else []
        return Resolution(Status.MET, (claim, *overruled, *shown), reason)
    if doubtful:
        return Resolution(Status.UNKNOWN, _doubts(doubtful), "; ".join(notes))
    relevant = [
        s for s in statements
        if s.polarity in (Polarity.DENY, Polarity.OTHER) and window.span.overlaps(s.span)
    ]
    if relevant and not any(s in against for s in relevant):
        latest = _latest(relevant)
        notes.append(latest.describe())
        against.append(latest)
    if against:
        return Resolution(Status.NOT_MET, _deciding(against), "; ".join(notes))
    return Resolution(None, (), "")


def _cited_claim(
    met: list[tuple[Statement, list[Statement]]], ever: bool, latest: bool = False
) -> tuple[Statement, list[Statement]]:
    """The met claim to cite (see above), not one in a screener's conclusion when another says
    it; of claims alike, the first listed (with ``latest``, the one of the latest note), and of
    those alike in its note the first written in it ("deceased-donor kidney transplant
    08/20/2025" in the history, not the plan's "s/p DDKT 08/20/2025")."""
    met = [pair for pair in met if not pair[0].mention.verdict_talk] or met  # as _plain
    best = max(_citing_order(claim, ever, latest) for claim, _ in met)
    alike = [pair for pair in met if _citing_order(pair[0], ever, latest) == best]
    note = alike[0][0].mention.first.evidence.note_id
    same_note = [pair for pair in alike if pair[0].mention.first.evidence.note_id == note]
    return min(same_note, key=lambda pair: pair[0].mention.first.evidence.char_start)


def _citing_order(claim: Statement, ever: bool, latest: bool = False) -> tuple[bool, dt.date, bool, dt.date]:
    """Sort key of the met claims of a window question, the one to cite last (see above)."""
    if not _dated(claim):
        return (False, dt.date.min, claim.with_basis, _order(claim, False))
    if ever:
        return (True, dt.date.min, claim.with_basis, _order(claim, not latest))
    return (True, claim.span.end or dt.date.min, claim.with_basis, _order(claim, not latest))


def _doubts(doubtful: list[Statement]) -> tuple[Statement, ...]:
    """What an unknown rests on: the first and the latest doubtful statements, any with its
    own date, and every denial that conflicts; the undated mentions between them ("on
    Benlysta" in each note's list) add nothing for a reviewer."""
    latest = _latest(doubtful)
    first = min(doubtful, key=lambda s: s.mention.first_written or dt.date.min)
    kept = [s for s in doubtful if s in (first, latest) or _dated(s) or s.polarity is Polarity.DENY]
    return tuple(dict.fromkeys(kept))


def _deciding(against: list[Statement]) -> tuple[Statement, ...]:
    """What a not-met rests on: each denial and superseded claim, but of the claims that fall
    outside the window only the latest one ("last infusion 04/2023" decides; every earlier
    mention of the drug adds nothing for a reviewer)."""
    outside = [s for s in against if s.polarity in (Polarity.AFFIRM, Polarity.HEDGE)]
    latest = max(outside, key=_recency, default=None)
    if latest is not None:
        latest = _most_precise(latest, outside)
    kept = [s for s in against if s not in outside or s is latest or _superseding(s, against)]
    return tuple(dict.fromkeys(kept))


def _most_precise(chosen: Statement, others: Sequence[Statement]) -> Statement:
    """Of the dated statements whose days lie within ``chosen``'s, the narrowest: the same
    last dose told more exactly ("last injection 10/20/2024" within "10/2024 (when Benlysta
    ..."; "last dose 01/02/2025" within "last Benlysta > 8 wk ago")."""
    outer = chosen.span
    if outer.end is None:
        return chosen
    width = (outer.end - outer.start).days if outer.start is not None else None
    inside = [
        s for s in others
        if s.span.end is not None and s.span.start is not None
        and s.span.end <= outer.end and (outer.start is None or outer.start <= s.span.start)
        and (width is None or (s.span.end - s.span.start).days < width)
    ]
    return min(inside, key=lambda s: (s.span.end - s.span.start, -s.span.end.toordinal()), default=chosen)  # type: ignore[operator]


def _latest_of_each(cited: Sequence[Statement]) -> tuple[Statement, ...]:
    """What a not-met about several things asked together rests on ("no infection of any
    kind"): the latest statement of each polarity - the latest old episode, the latest
    denial, the latest mention of another kind - since the most recent statement decides
    and the older ones of every other thing asked for add nothing for a reviewer."""
    latest: dict[Polarity, Statement] = {}
    for item in cited:
        kept = latest.get(item.polarity)
        if kept is None or _recency(item) > _recency(kept):
            latest[item.polarity] = item
    return tuple(s for s in cited if s in latest.values())


def _recency(statement: Statement) -> tuple[bool, dt.date, dt.date]:
    """How recent an episode a statement tells, for choosing the one to cite: a statement
    with its own date first ("belimumab 01/2024 - 08/2024" over a later "prior belimumab",
    which the note's date would otherwise make look newer), then the latest end, then the
    latest written. A denial's days are its note's, so the latest written wins among them."""
    if statement.polarity in (Polarity.DENY, Polarity.OTHER):
        return (True, statement.written or dt.date.min, statement.span.end or dt.date.min)
    end = statement.span.end or statement.span.start or dt.date.min
    return (_dated(statement), end, statement.written or dt.date.min)


def _after_onset(denial: Statement, claim: Statement) -> bool:
    """The denial was written on or after the day the claimed event began ("No prior seizures"
    in the note of a seizure, "No further seizures" after it): it is about other days, so the
    event does not overrule it and it is not cited against it."""
    start = claim.span.start
    return start is not None and denial.written is not None and denial.written >= start


def _superseding(claim: Statement, against: list[Statement]) -> bool:
    """True when a later denial in ``against`` answered ``claim`` (both are cited)."""
    return any(d.polarity is Polarity.DENY and _later(d, claim) for d in against)


def _dated(statement: Statement) -> bool:
    time = statement.mention.first.time
    return time is not None and time.source == "text"


def _order(statement: Statement, first: bool) -> dt.date:
    """A sort key: the later written the larger, or with ``first`` the earlier written."""
    written = statement.mention.first_written if first else statement.written
    if written is None:
        return dt.date.min
    return dt.date.fromordinal(dt.date.max.toordinal() - written.toordinal() + 1) if first else written


def _dated_course(claim: Statement, statements: Sequence[Statement], window: Window) -> Statement | None:
    """The dated, ended course an undated past mention recaps, if the record has one.

    Only for a plain past affirmation with no start date ("prior belimumab"), written no
    earlier than a dated course of the same thing that ended before the window (a hedged
    drug mention too); a mention that is current or dated itself stays as it is.
    """
    # a hedge on an undated past drug mention ("? neutropenia after rituximab vs lupus")
    # doubts something else: the course the record dates is still the one it recaps
    hedged_drug = claim.polarity is Polarity.HEDGE and claim.mention.fact.medication is not None
    if not (claim.polarity is Polarity.AFFIRM or hedged_drug) or claim.now or claim.ongoing or claim.span.start:
        return None
    courses = [
        s for s in statements
        if s is not claim
        and s.polarity is Polarity.AFFIRM
        and not s.ongoing
        and s.span.start is not None
        and s.span.end is not None
        and window.place(s.span) is Placement.OUTSIDE
        and (s.written is None or claim.written is None or s.written <= claim.written)
    ]
    return max(courses, key=lambda s: s.span.end or dt.date.min) if courses else None


def _reaches(span: Span, window: Window) -> bool:
    """A still-ongoing statement from before the window may reach into it."""
    return span.end is None or window.span.end is None or span.end <= window.span.end


def resolve_current(
    statements: Sequence[Statement], historical: Status = Status.NOT_MET
) -> Resolution:
    """Does the thing hold now? The most recently written statements decide.

    A past-only affirmation ("history of depression", a drug taken before) does not
    contradict a current one of the same day; alone, it counts as ``historical``.
    """
    if not statements:
        return Resolution(None, (), "")
    latest = _latest(statements)
    newest = [s for s in statements if s.written == latest.written]
    yes = [s for s in newest if s.polarity is Polarity.AFFIRM and s.now]
    no = [s for s in newest if s.polarity in (Polarity.DENY, Polarity.OTHER)]
    maybe = [s for s in newest if s.polarity is Polarity.HEDGE]
    past = [s for s in newest if s.polarity is Polarity.AFFIRM and not s.now]
    if yes and no and all(s.polarity is Polarity.OTHER for s in no):
        # the kind asked affirmed, and the same day words of another kind of the same thing
        # ("LN on induction CYC since 05/06" beside "refractory class IV LN, active"): not denied
        no = []
    if yes and no:
        return Resolution(
            Status.UNKNOWN, (yes[0], no[0]),
            f"{yes[0].describe()} and {no[0].describe()} conflict",
        )
    denials = [s for s in no if s.polarity is Polarity.DENY]
    if maybe and denials:
        # "no h/o depression" and "low mood - adjustment vs depression" the same day: the doubt
        # is not answered (as for a window question), both cited
        return Resolution(
            Status.UNKNOWN, (maybe[0], denials[0]),
            f"{maybe[0].describe()} and {denials[0].describe()} the same day: not answered",
        )
    if yes or no or maybe:
        status = Status.MET if yes else Status.NOT_MET if no else Status.UNKNOWN
        # an affirmation is cited where first written that day; of denials, the last written
        # (a note's assessment, "No evidence of nephritis or NPSLE", after its history's "No
        # NPSLE"); a screener's conclusion ("not eligible: pregnant") only when nothing else says it
        decisive = _plain(yes)[0] if yes else _plain(no)[-1] if no else maybe[0]
    else:
        status, decisive = historical, past[0]
    reason = decisive.describe()
    if decisive.polarity is Polarity.AFFIRM and not decisive.now:
        reason += ": past, not stated as current"
    older = [
        s for s in statements
        if s.written != latest.written and _now_status(s, historical) is not status
    ]
    cited: tuple[Statement, ...] = (decisive,)
    if status is Status.NOT_MET and decisive.unstated:
        # a past mention without the attribute asked ("09/2022 class II lupus nephritis" asked
        # whether nephritis is active) decides nothing of it: not_met by the closed world, and
        # cited like silence (the gold cites it for none of P15, P16, P26)
        cited = ()
    if older:
        # the latest statement decides alone; the older one of another status it supersedes is
        # told in the reason, not cited (GUIDELINES section 6 "which statement counts"; the gold
        # cites it for 1 of 8 such verdicts, as the lab rule "the latest result decides alone")
        reason += f"; supersedes {_latest(older).describe()}"
    return Resolution(status, cited, reason)


def _plain(statements: list[Statement]) -> list[Statement]:
    """The statements not written in a screener's conclusion about eligibility, or all of them."""
    return [s for s in statements if not s.mention.verdict_talk] or statements


def _now_status(statement: Statement, historical: Status) -> Status:
    if statement.polarity is Polarity.AFFIRM:
        return Status.MET if statement.now else historical
    if statement.polarity is Polarity.HEDGE:
        return Status.UNKNOWN
    return Status.NOT_MET


def combine_any(resolutions: Sequence[Resolution]) -> Resolution:
    """Several things asked for together ("seizure or stroke"): any held → met."""
    spoken = [r for r in resolutions if r.status is not None]
    if not spoken:
        return Resolution(None, (), "")
    for status in (Status.MET, Status.UNKNOWN, Status.NOT_MET):
        chosen = [r for r in spoken if r.status is status]
        if chosen:
            cited = tuple(s for r in chosen for s in r.cited)
            if status is Status.NOT_MET:
                cited = _latest_of_each(cited)
            return Resolution(status, cited, "; ".join(r.reason for r in chosen))
    raise AssertionError("unreachable")


def recent_courses(found: Resolution, recent: Window, latest_only: bool = False) -> Resolution:
    """A window question not met on episodes or courses before its window cites them only
    when they ended within ``recent`` (a course finished weeks before screening is what a
    reviewer checks; one finished years ago is history: GUIDELINES §6 "infections treated
    weeks ago -> not_met"); ``latest_only`` keeps, of those, the ones that ended last (the
    cellulitis treated this month, not the pneumonias of the winter before it). A drug given
    for another use than asked (``OTHER``: "TMP-SMX ... (PJP prophylaxis)") is no course of
    what is asked: told, not cited. Denials are kept, and the reason still tells every course."""
    if found.status is not Status.NOT_MET:
        return found
    courses = [
        s for s in found.cited
        if s.polarity in (Polarity.AFFIRM, Polarity.HEDGE) and s.span.end is not None and recent.span.overlaps(s.span)
    ]
    if latest_only and courses:
        last = max(s.span.end or dt.date.min for s in courses)
        courses = [s for s in courses if s.span.end == last]
    kept = tuple(s for s in found.cited if s in courses or s.polarity is Polarity.DENY)
    return Resolution(found.status, kept, found.reason)
