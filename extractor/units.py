"""Unit conversion for lab values through pint, with the units clinical text writes.

Written units ("K/uL", "x10^9/L", "mg/dL") map to pint expressions in
``patterns/units.yaml``; each lab's canonical unit and, where mass and molar
concentrations meet (bilirubin, creatinine), its molar mass come from ``labs.yaml``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import pint
from pydantic import Field

from extractor.resources import Header, concepts_by_id, load_model, patterns_dir


class UnitsFile(Header):
    schema_: Literal["units/v1"] = Field(alias="schema")
    definitions: tuple[str, ...]
    aliases: dict[str, str]


class UnitConverter:
    """Converts a value from a written unit to a lab's canonical unit."""

    def __init__(self, path: Path | None = None) -> None:
        self.spec: UnitsFile = load_model(UnitsFile, path or patterns_dir() / "units.yaml")
        self.registry = pint.UnitRegistry()
        for definition in self.spec.definitions:
            self.registry.define(definition)
        self._aliases = {k: v for k, v in self.spec.aliases.items()}
        self._aliases_folded = {k.lower(): v for k, v in self.spec.aliases.items()}
        self._parsed: dict[str, pint.Quantity] = {}

    def _parse(self, expression: str) -> pint.Quantity:
        """A unit expression parsed once: pint's parser took most of the lab stage's time."""
        if expression not in self._parsed:
            self._parsed[expression] = self.registry.parse_expression(expression)
        return self._parsed[expression]

    @property
    def written_units(self) -> tuple[str, ...]:
        """Every unit spelling known, longest first (for building value grammars)."""
        return tuple(sorted(self._aliases, key=len, reverse=True))

    def expression(self, unit: str) -> str | None:
        """The pint expression for a written unit, or None when the unit is unknown."""
        compact = unit.strip()
        return self._aliases.get(compact) or self._aliases_folded.get(compact.lower())

    def convert(
        self, value: float, unit: str, target: str, molar_mass: float | None = None
    ) -> float | None:
        """``value`` in ``unit`` expressed in ``target``; None when they do not convert."""
        source_expr, target_expr = self.expression(unit), self.expression(target)
        if source_expr is None or target_expr is None:
            return None
        try:
            quantity = value * self._parse(source_expr)
        except pint.OffsetUnitCalculusError:  # degF, degC: only a plain quantity converts
            quantity = self.registry.Quantity(value, source_expr)
        goal = self._parse(target_expr)
        try:
            return float(quantity.to(goal.units).magnitude * 1.0 / goal.magnitude)
        except pint.DimensionalityError:
            if molar_mass is None:
                return None
        molar = self.registry.Quantity(molar_mass, "gram / mole")
        for candidate in (quantity / molar, quantity * molar):
            try:
                return float(candidate.to(goal.units).magnitude / goal.magnitude)
            except pint.DimensionalityError:
                continue
        return None


@functools.cache
def converter(path: Path | None = None) -> UnitConverter:
    """The shared converter of a units file (the bundled one by default): pint registries are slow to build."""
    return UnitConverter(path)


def to_canonical(value: float, unit: str, concept: str) -> float | None:
    """``value`` in ``unit`` converted to the canonical unit of lab ``concept``."""
    lab = concepts_by_id().get(concept)
    if lab is None or "canonical_unit" not in lab.attrs:
        return None
    return converter().convert(
        value, unit, lab.attrs["canonical_unit"], lab.attrs.get("molar_mass_g_per_mol")
    )
