"""Durations, look-back windows and the time span a statement is about.

A trial says "within 3 months before screening"; a note says "seizure on 2025-01-05",
"history of MI" or just "on prednisone". Each statement is placed on the calendar as an
interval (``Span``) that is either a point, a stretch, or open to the past, and a window
check answers inside / outside / partly (a reviewer must look).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum

_DURATION = re.compile(r"^\s*(\d{1,9})\s*(day|week|month|year)s?\s*$", re.IGNORECASE)
MAX_YEARS = 200  # the longest look-back a trial may ask for
_DAYS = {"day": 1, "week": 7, "month": 31, "year": 366}


@dataclass(frozen=True)
class Duration:
    """An amount of calendar time, as trials write it ("3 months", "30 days", "1 week")."""

    amount: int
    unit: str  # day | week | month | year

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse "N day(s)/week(s)/month(s)/year(s)"; raise ValueError on anything else."""
        match = _DURATION.match(str(text))
        if match is None:
            raise ValueError(
                f"cannot read duration {text!r}: write a number and day(s), week(s), "
                "month(s) or year(s), e.g. '3 months'"
            )
        amount, unit = int(match.group(1)), match.group(2).lower()
        if amount * _DAYS[unit] > MAX_YEARS * 366:
            raise ValueError(f"duration {amount} {unit}(s) is longer than {MAX_YEARS} years")
        return cls(amount, unit)

    def before(self, anchor: dt.date) -> dt.date:
        """``anchor`` moved back by this duration; month ends clamp (31 May - 3 months = 28/29 Feb).

        A window reaching before year 1 starts at the first day Python can represent
        (it covers all the time there is), never raises.
        """
        try:
            return self._before(anchor)
        except (ValueError, OverflowError):
            return dt.date.min

    def _before(self, anchor: dt.date) -> dt.date:
        if self.unit == "day":
            return anchor - dt.timedelta(days=self.amount)
        if self.unit == "week":
            return anchor - dt.timedelta(weeks=self.amount)
        months = self.amount * (12 if self.unit == "year" else 1)
        index = anchor.year * 12 + anchor.month - 1 - months
        year, month = divmod(index, 12)
        day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
        return dt.date(year, month + 1, day)

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}{'' if self.amount == 1 else 's'}"


class Placement(str, Enum):
    """Where a statement's time span falls against a window."""

    INSIDE = "inside"
    OUTSIDE = "outside"
    PARTLY = "partly"  # could be inside or not: a reviewer must look


@dataclass(frozen=True)
class Span:
    """The days a statement is about; ``None`` ends are open (unknown how far back/forward)."""

    start: dt.date | None
    end: dt.date | None

    @classmethod
    def point(cls, day: dt.date | None) -> Span:
        return cls(day, day)

    def covers(self, other: Span) -> bool:
        """True when every day of ``other`` lies within this span."""
        starts_before = self.start is None or (other.start is not None and self.start <= other.start)
        ends_after = self.end is None or (other.end is not None and other.end <= self.end)
        return starts_before and ends_after

    def overlaps(self, other: Span) -> bool:
        """True when the two spans share at least one possible day."""
        if self.end is not None and other.start is not None and self.end < other.start:
            return False
        return not (other.end is not None and self.start is not None and other.end < self.start)

    def describe(self) -> str:
        """'2025-01-05', '2024-03-01 to 2024-03-31', 'before 2025-02-01' or 'undated'."""
        if self.start is not None and self.start == self.end:
            return self.start.isoformat()
        if self.start is None and self.end is None:
            return "(undated)"
        if self.start is None:
            return f"on or before {self.end.isoformat()}"  # type: ignore[union-attr]
        if self.end is None:
            return f"since {self.start.isoformat()}"
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


@dataclass(frozen=True)
class Window:
    """A look-back window ending on the screening date (both ends included)."""

    span: Span
    label: str  # "within 3 months before 2025-03-01"; empty for all time
    undefined: bool = False  # a duration with no screening date: nothing can be placed

    @classmethod
    def before(cls, screening: dt.date, duration: Duration | None) -> Window:
        """The window of ``duration`` before ``screening``, or all time up to it."""
        if duration is None:
            return cls(Span(None, screening), "")
        return cls(
            Span(duration.before(screening), screening),
            f"within {duration} before {screening.isoformat()}",
        )

    def place(self, span: Span) -> Placement:
        """Inside when the whole span is in the window, outside when none of it is."""
        if self.undefined:
            return Placement.PARTLY
        if self.span.covers(span):
            return Placement.INSIDE
        if self.span.overlaps(span):
            return Placement.PARTLY
        return Placement.OUTSIDE


def age_in_years(birth: dt.date, on: dt.date) -> float:
    """Exact age in years (completed years plus the fraction of the current one)."""
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    year = birth.year + years  # of the last birthday
    # At the calendar's ends (a birthday after 9999 or before year 1 cannot be written)
    # measure the same stretch 400 years away: the Gregorian calendar repeats every 400 years.
    shift = -400 if year >= dt.MAXYEAR else 400 if year < dt.MINYEAR else 0
    last_birthday = _anniversary(birth, year + shift)
    next_birthday = _anniversary(birth, year + shift + 1)
    moved = on.replace(year=on.year + shift)
    return years + (moved - last_birthday).days / (next_birthday - last_birthday).days


def _anniversary(birth: dt.date, year: int) -> dt.date:
    day = min(birth.day, calendar.monthrange(year, birth.month)[1])
    return dt.date(year, birth.month, day)
