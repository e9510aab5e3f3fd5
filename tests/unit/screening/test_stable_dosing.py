"""How a stated start dates a stable dose (predicates/medications.py)."""

from __future__ import annotations

import datetime as dt

from extractor.facts import TimeRef
from extractor.screening.predicates.medications import _begun_by

D = dt.date


def test_a_start_month_dates_the_dose_from_its_last_day() -> None:
    since = TimeRef(start=D(2023, 3, 1), end=D(2023, 3, 31), precision="month", source="text")
    assert _begun_by(since, D(2025, 1, 14)) == D(2023, 3, 31)


def test_a_span_reaching_its_note_dates_the_dose_from_its_first_year_not_the_note() -> None:
    # "mycophenolate mofetil 2015-present": begun in 2015, not on the note's day
    present = TimeRef(start=D(2015, 1, 1), end=D(2025, 1, 14), precision="year", source="text")
    assert _begun_by(present, D(2025, 1, 14)) == D(2015, 12, 31)
    monthly = TimeRef(start=D(2024, 2, 1), end=D(2025, 1, 14), precision="month", source="text")
    assert _begun_by(monthly, D(2025, 1, 14)) == D(2024, 2, 29)


def test_no_start_dates_nothing() -> None:
    assert _begun_by(None, D(2025, 1, 14)) is None
