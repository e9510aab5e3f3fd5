"""The trial's own words for each criterion, and the lab thresholds its rules read.

A verdict carries criterion ids only; the report shows the protocol text beside each
id, knows which criteria only a person can decide (they do not stop a candidate), and
draws each lab a criterion reads against that criterion's threshold. All of it comes
from the trial file (bundled by id, as ``extractor screen --trial`` finds it). A
verdict whose trial cannot be found is still shown, with ids only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from extractor.screening import load_trial
from extractor.screening.errors import TrialError

# ">= 80 g/L", "< 30 mL/min/1.73m2", ">= 55%": a comparator, a number, an optional unit.
# Thresholds against the ULN, titers or words ("positive") have no line to draw.
NUMERIC = re.compile(r"^\s*(>=|<=|>|<)\s*([0-9]+(?:\.[0-9]+)?)(?![0-9.:])\s*(.*?)\s*$")


@dataclass(frozen=True)
class Threshold:
    """One lab comparison a criterion's rule makes, as written in the trial file."""

    criterion: str
    concept: str
    compare: str
    comparator: str | None = None
    value: float | None = None
    unit: str = ""

    def passes(self, value: float) -> bool | None:
        """Whether ``value`` (in the threshold's unit) satisfies the comparison; None without a number."""
        if self.value is None or self.comparator is None:
            return None
        return {
            ">=": value >= self.value,
            "<=": value <= self.value,
            ">": value > self.value,
            "<": value < self.value,
        }[self.comparator]


@dataclass(frozen=True)
class CriterionInfo:
    text: str
    person_only: bool


@dataclass(frozen=True)
class Protocol:
    """What the report needs of one trial file."""

    name: str  # the trial id verdicts carry
    title: str
    criteria: dict[str, CriterionInfo]
    thresholds: tuple[Threshold, ...]


def _labs(rule: Any) -> Iterator[dict[str, Any]]:
    """Every ``lab:`` parameter mapping anywhere in a rule tree."""
    if isinstance(rule, dict):
        for key, value in rule.items():
            if key == "lab" and isinstance(value, dict):
                yield value
            yield from _labs(value)
    elif isinstance(rule, list):
        for item in rule:
            yield from _labs(item)


def thresholds_of(criterion_id: str, rule: Any) -> Iterator[Threshold]:
    for params in _labs(rule):
        concepts = params.get("concept")
        compare = str(params.get("compare", ""))
        found = NUMERIC.match(compare)
        for concept in concepts if isinstance(concepts, list) else [concepts]:
            if not isinstance(concept, str):
                continue
            if found and "ULN" not in found.group(3):
                unit = found.group(3)
                yield Threshold(criterion_id, concept, compare, found.group(1), float(found.group(2)), unit)
            else:
                yield Threshold(criterion_id, concept, compare)


@cache
def protocol(trial: str) -> Protocol | None:
    """A trial's criteria texts and lab thresholds, by bundled id or trial file path; None when not found."""
    try:
        loaded = load_trial(trial)
        raw = yaml.safe_load(loaded.path.read_text(encoding="utf-8"))
    except (TrialError, OSError, yaml.YAMLError):
        return None
    rules = {str(c.get("id")): c.get("rule") for c in raw.get("criteria", ()) if isinstance(c, dict)}
    return Protocol(
        loaded.name,
        loaded.title,
        {c.id: CriterionInfo(c.text, c.person_only) for c in loaded.criteria},
        tuple(t for c in loaded.criteria for t in thresholds_of(c.id, rules.get(c.id))),
    )
