"""Unit conversions against values computed by hand."""

from __future__ import annotations

import pytest

from extractor.units import UnitConverter


@pytest.fixture(scope="module")
def units() -> UnitConverter:
    return UnitConverter()


@pytest.mark.parametrize(
    ("value", "unit", "target", "molar_mass", "expected"),
    [
        pytest.param(9.6, "g/dL", "g/L", None, 96.0, id="hgb g/dL->g/L"),
        pytest.param(68, "K", "10^9/L", None, 68.0, id="plt 68K"),
        pytest.param(68000, "/mm3", "10^9/L", None, 68.0, id="plt per mm3"),
        pytest.param(1200, "/uL", "10^9/L", None, 1.2, id="anc per uL"),
        pytest.param(142, "x10^3/uL", "10^9/L", None, 142.0, id="x10^3/uL"),
        pytest.param(0.18, "10^9/L", "cells/uL", None, 180.0, id="cd19 10^9/L->cells/uL"),
        pytest.param(1.2, "mg/dL", "umol/L", 584.66, 1.2 * 10 / 584.66 * 1000, id="bilirubin"),
        pytest.param(1.0, "mg/dL", "umol/L", 113.12, 88.4, id="creatinine"),
        pytest.param(450, "mg/dL", "g/L", None, 4.5, id="igg mg/dL->g/L"),
        pytest.param(52, "mg/dL", "g/L", None, 0.52, id="c3"),
        pytest.param(130, "IU/L", "U/L", None, 130.0, id="enzyme IU/L"),
        pytest.param(45, "mL/min/1.73 m2", "mL/min/1.73m2", None, 45.0, id="egfr spelling"),
        pytest.param(3.2, "g/24 hr", "g/day", None, 3.2, id="proteinuria"),
    ],
)
def test_conversion(units: UnitConverter, value: float, unit: str, target: str, molar_mass: float | None,
                    expected: float) -> None:
    assert units.convert(value, unit, target, molar_mass) == pytest.approx(expected, rel=2e-3)


def test_incompatible_units_do_not_convert(units: UnitConverter) -> None:
    assert units.convert(1.0, "mg/dL", "umol/L") is None  # no molar mass given
    assert units.convert(1.0, "g/L", "%") is None
    assert units.convert(1.0, "furlongs", "g/L") is None
