"""Date arithmetic at the ends of the calendar: a value, never a ValueError or OverflowError."""

from __future__ import annotations

import datetime as dt

import pytest

from extractor.screening.timeline import Duration, Window, age_in_years

CASES = [
    (Duration(3, "month"), dt.date(1, 1, 1), dt.date.min),
    (Duration(2, "week"), dt.date(1, 1, 3), dt.date.min),
    (Duration(200, "year"), dt.date(150, 6, 1), dt.date.min),
    (Duration(3, "month"), dt.date(9999, 12, 31), dt.date(9999, 9, 30)),
    (Duration(1, "year"), dt.date(2024, 2, 29), dt.date(2023, 2, 28)),
]


@pytest.mark.parametrize(("duration", "anchor", "expected"), CASES)
def test_windows_reaching_before_year_one_start_there(duration: Duration, anchor: dt.date, expected: dt.date) -> None:
    assert duration.before(anchor) == expected
    assert Window.before(anchor, duration).span.start == expected


@pytest.mark.parametrize(("birth", "on", "expected"), [
    (dt.date(1980, 5, 1), dt.date(9999, 12, 31), 8019 + 244 / 366),  # next birthday would be in year 10000
    (dt.date(9999, 12, 31), dt.date(9999, 12, 31), 0.0),
    (dt.date(2010, 3, 1), dt.date(2025, 3, 1), 15.0),
    (dt.date(1, 6, 1), dt.date(1, 1, 1), -1 + 214 / 365),  # the birthday before would be in year 0
])
def test_ages_at_the_calendars_ends(birth: dt.date, on: dt.date, expected: float) -> None:
    assert age_in_years(birth, on) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["99999999 years", "201 years", "2500 months", "80000 days"])
def test_durations_are_bounded(text: str) -> None:
    with pytest.raises(ValueError, match="longer than 200 years"):
        Duration.parse(text)
