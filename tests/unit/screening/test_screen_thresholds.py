"""Thresholds as trials write them, tested against results written every which way."""

from __future__ import annotations

import pytest

from extractor.facts import LabResult
from extractor.screening.outcome import Status
from extractor.screening.thresholds import (
    Interval,
    TiterThreshold,
    UlnRange,
    UlnThreshold,
    ValueThreshold,
    WordThreshold,
    parse_threshold,
)

MET, NOT, UNK = Status.MET, Status.NOT_MET, Status.UNKNOWN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (">= 80 g/L", ValueThreshold(">= 80 g/L", ">=", 80.0, "g/L")),
        ("≥6", ValueThreshold("≥6", ">=", 6.0, None)),
        ("< 4.5 g/L", ValueThreshold("< 4.5 g/L", "<", 4.5, "g/L")),
        (">= 0.5 10^9/L", ValueThreshold(">= 0.5 10^9/L", ">=", 0.5, "10^9/L")),
        ("<= 3 x ULN", UlnThreshold("<= 3 x ULN", "<=", 3.0)),
        ("> ULN", UlnThreshold("> ULN", ">", 1.0)),
        (">= 1:80", TiterThreshold(">= 1:80", ">=", 80)),
        ("not detected", WordThreshold("not detected", "negative")),
        ("Positive", WordThreshold("Positive", "positive")),
    ],
)
def test_parse(text: str, expected: object) -> None:
    assert parse_threshold(text) == expected


@pytest.mark.parametrize("text", ["about 80", "80 g/L", "ULN", "high-ish"])
def test_unreadable_threshold(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read threshold"):
        parse_threshold(text)


@pytest.mark.parametrize(
    ("interval", "op", "limit", "expected"),
    [
        (Interval.of(80), ">=", 80, MET),
        (Interval.of(80), ">", 80, NOT),
        (Interval.of(0.5, "<"), ">=", 0.5, NOT),  # "<0.5"
        (Interval.of(5, "<"), "<", 4.5, UNK),  # "<5" against < 4.5
        (Interval.of(60, ">"), ">=", 30, MET),  # ">60"
        (Interval.of(55, high=60), ">=", 55, MET),  # "55-60"
        (Interval.of(50, high=55), ">=", 55, UNK),
        (Interval.of(9, ">"), "<=", 9.5, UNK),
    ],
)
def test_interval_against_limit(interval: Interval, op: str, limit: float, expected: Status) -> None:
    assert interval.against(op, limit) is expected


def check(threshold: str, concept: str = "x", uln: UlnRange | None = None, **lab: object) -> Status:
    return parse_threshold(threshold).check(LabResult(**lab), concept, uln).status  # type: ignore[arg-type]


def test_value_in_another_unit_uses_the_canonical_value() -> None:
    assert check(">= 80 g/L", value=7.9, unit="g/dL", canonical_value=79, canonical_unit="g/L") is NOT
    assert check(">= 80 g/L", value=8.1, unit="g/dL", canonical_value=81, canonical_unit="g/L") is MET


def test_threshold_converted_to_the_canonical_unit() -> None:
    # IgG 550 mg/dL (canonical mg/dL) against "< 6.0 g/L" = 600 mg/dL
    assert check("< 6.0 g/L", value=550, unit="mg/dL", canonical_value=550, canonical_unit="mg/dL") is MET
    assert check("< 6.0 g/L", value=650, unit="mg/dL", canonical_value=650, canonical_unit="mg/dL") is NOT


def test_value_converted_when_the_pipeline_gave_no_canonical_value() -> None:
    assert check(">= 0.5 10^9/L", value=450, unit="cells/uL") is NOT
    assert check(">= 75 10^9/L", value=150, unit="K/uL") is MET


def test_value_without_unit_cannot_be_compared_with_a_unit() -> None:
    assert check(">= 25 cells/uL", value=30) is UNK


def test_uln_from_reference_range_multiple_or_words() -> None:
    assert check("<= 3 x ULN", value=150, unit="U/L", ref_high=40) is NOT
    assert check("<= 3 x ULN", value=100, unit="U/L", ref_high=40) is MET
    assert check("<= 3 x ULN", uln_multiple=2.0) is MET
    assert check("> ULN", qualitative="positive") is MET
    assert check("> ULN", qualitative="negative") is NOT
    assert check("<= 3 x ULN", value=95, unit="U/L", flag="H") is UNK
    assert check("<= 3 x ULN", value=95, unit="U/L") is UNK


def test_uln_fallback_range_decides_only_when_every_limit_agrees() -> None:
    uln = UlnRange.parse("30-50 U/L")
    assert check("<= 3 x ULN", uln=uln, value=85, unit="U/L") is MET  # 1.7-2.8 x
    assert check("<= 3 x ULN", uln=uln, value=120, unit="U/L") is UNK  # 2.4-4 x
    assert check("<= 3 x ULN", uln=uln, value=200, unit="U/L") is NOT  # 4-6.7 x


def test_titers() -> None:
    assert check(">= 1:80", titer=320) is MET
    assert check(">= 1:80", titer=40) is NOT
    assert check(">= 1:80", qualitative="negative") is NOT
    assert check(">= 1:80", qualitative="positive") is UNK


@pytest.mark.parametrize(
    ("threshold", "lab", "expected"),
    [
        ("positive", {"qualitative": "reactive"}, MET),
        ("positive", {"qualitative": "not_detected"}, NOT),
        ("positive", {"qualitative": "equivocal"}, UNK),
        ("positive", {"value": 45, "ref_high": 30}, MET),
        ("negative", {"qualitative": "negative"}, MET),
        ("indeterminate", {"qualitative": "indeterminate"}, MET),
        ("indeterminate", {"qualitative": "positive"}, NOT),
        ("normal", {"qualitative": "abnormal"}, NOT),
        ("normal", {}, UNK),
    ],
)
def test_words(threshold: str, lab: dict[str, object], expected: Status) -> None:
    assert check(threshold, **lab) is expected
