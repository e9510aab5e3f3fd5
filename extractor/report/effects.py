"""What a criterion's status means for eligibility, and the overall verdict a reviewer's corrections give.

A status alone misleads: an exclusion that is *met* puts the patient out. So every
criterion is shown by its **effect** — ``excludes`` (an exclusion met), ``fails`` (an
inclusion not met), ``passes`` (decided in the patient's favour) or ``to_check``
(unknown) — always as a word, a symbol and a colour together.

The overall verdict follows the screening contract (``extractor.screening.verdict.overall_of``):
anything that excludes or fails makes the patient ineligible; all passing (person-only
criteria aside) makes a candidate; anything else needs review.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum


class Effect(str, Enum):
    """A criterion's status read for eligibility."""

    EXCLUDES = "excludes"
    FAILS = "fails"
    PASSES = "passes"
    TO_CHECK = "to_check"


EFFECT_LABELS = {
    Effect.EXCLUDES: "Excludes",
    Effect.FAILS: "Fails",
    Effect.PASSES: "Passes",
    Effect.TO_CHECK: "To check",
}
EFFECT_SYMBOLS = {Effect.EXCLUDES: "\u2298", Effect.FAILS: "\u2716", Effect.PASSES: "\u2714", Effect.TO_CHECK: "?"}
# Sorting by effect puts what decides the verdict first.
EFFECT_ORDER = {Effect.EXCLUDES: 0, Effect.FAILS: 1, Effect.TO_CHECK: 2, Effect.PASSES: 3}


def effect_of(criterion_type: str, status: str) -> Effect:
    """The effect of ``status`` (met / not_met / unknown) on an inclusion or exclusion."""
    if status == "unknown":
        return Effect.TO_CHECK
    if criterion_type == "exclusion":
        return Effect.EXCLUDES if status == "met" else Effect.PASSES
    return Effect.PASSES if status == "met" else Effect.FAILS


@dataclass(frozen=True)
class Judged:
    """What the overall verdict needs of one criterion."""

    id: str
    type: str
    status: str
    person_only: bool = False


def overall_of(criteria: Iterable[Judged]) -> str:
    """The contract's overall verdict (ineligible / candidate / needs_review) of these statuses."""
    effects = [(effect_of(c.type, c.status), c) for c in criteria]
    if any(e in (Effect.EXCLUDES, Effect.FAILS) for e, _ in effects):
        return "ineligible"
    if all(e is Effect.PASSES or (c.person_only and e is Effect.TO_CHECK) for e, c in effects):
        return "candidate"
    return "needs_review"


def corrected_overall(criteria: Iterable[Judged], corrections: Mapping[str, str]) -> str:
    """The overall verdict once a reviewer's corrected statuses (criterion id -> status) replace the predicted ones."""
    return overall_of(Judged(c.id, c.type, corrections.get(c.id, c.status), c.person_only) for c in criteria)
