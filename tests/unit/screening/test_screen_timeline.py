"""Durations, look-back windows at their edges, and ages."""

from __future__ import annotations

import datetime as dt

import pytest

from extractor.screening.timeline import Duration, Placement, Span, Window, age_in_years

D = dt.date


@pytest.mark.parametrize(
    ("text", "anchor", "expected"),
    [
        ("60 days", D(2025, 3, 1), D(2024, 12, 31)),
        ("1 week", D(2025, 3, 1), D(2025, 2, 22)),
        ("3 months", D(2025, 3, 1), D(2024, 12, 1)),
        ("3 months", D(2025, 5, 31), D(2025, 2, 28)),
        ("3 months", D(2024, 5, 31), D(2024, 2, 29)),
        ("12 months", D(2025, 3, 1), D(2024, 3, 1)),
        ("1 year", D(2024, 2, 29), D(2023, 2, 28)),
        ("6 weeks", D(2025, 3, 1), D(2025, 1, 18)),
    ],
)
def test_duration_counts_back_on_the_calendar(text: str, anchor: dt.date, expected: dt.date) -> None:
    assert Duration.parse(text).before(anchor) == expected


@pytest.mark.parametrize("text", ["3 moons", "three months", "", "3"])
def test_unreadable_duration(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read duration"):
        Duration.parse(text)


WINDOW = Window.before(D(2025, 3, 1), Duration.parse("60 days"))


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (Span.point(D(2024, 12, 31)), Placement.INSIDE),  # first day of the window
        (Span.point(D(2025, 3, 1)), Placement.INSIDE),  # the screening day
        (Span.point(D(2024, 12, 30)), Placement.OUTSIDE),  # one day before
        (Span.point(D(2025, 3, 2)), Placement.OUTSIDE),  # after screening
        (Span(D(2024, 12, 1), D(2024, 12, 31)), Placement.PARTLY),  # "in December 2024"
        (Span(None, D(2025, 2, 1)), Placement.PARTLY),  # "history of", undated
        (Span(None, D(2024, 6, 1)), Placement.OUTSIDE),  # written before the window opened
        (Span(None, None), Placement.PARTLY),
    ],
)
def test_window_placement(span: Span, expected: Placement) -> None:
    assert WINDOW.place(span) is expected


def test_window_without_screening_date_places_nothing() -> None:
    window = Window(Span(None, None), "within 60 days (no screening date)", undefined=True)
    assert window.place(Span.point(D(2025, 1, 1))) is Placement.PARTLY


@pytest.mark.parametrize(
    ("born", "on", "expected"),
    [
        (D(2020, 3, 1), D(2025, 3, 1), 5.0),
        (D(2020, 3, 2), D(2025, 3, 1), 4.997),
        (D(2016, 2, 29), D(2025, 2, 28), 9.0),  # a 29 February birthday falls on the 28th
    ],
)
def test_age_in_years(born: dt.date, on: dt.date, expected: float) -> None:
    assert age_in_years(born, on) == pytest.approx(expected, abs=0.001)
