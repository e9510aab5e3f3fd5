"""Three-valued criterion status and the outcome a rule node hands up the tree.

A predicate that finds nothing relevant in the chart is *silent*; the node that holds
it turns silence into a status (open world: unknown, closed world: not_met) but keeps
the ``silent`` mark, so a criterion resting only on silence reports the trial's
``absent`` value with empty evidence, as the screening contract asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from extractor.facts import Evidence


class Status(str, Enum):
    """A criterion's status for one patient (criteria.yaml: met / not_met / unknown)."""

    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"

    def negated(self) -> Status:
        """The status of ``not`` this: met and not_met swap, unknown stays."""
        if self is Status.MET:
            return Status.NOT_MET
        if self is Status.NOT_MET:
            return Status.MET
        return self


@dataclass(frozen=True)
class Finding:
    """What one predicate found: a status, or None when the chart says nothing relevant."""

    status: Status | None
    reason: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """A rule node's result: a status, why (values and dates), and the cited spans."""

    status: Status
    reason: str
    evidence: tuple[Evidence, ...] = field(default=())
    silent: bool = False


def merge_evidence(*groups: tuple[Evidence, ...]) -> tuple[Evidence, ...]:
    """Evidence of several outcomes, each span once, in first-seen order."""
    seen: set[tuple[str, int, int]] = set()
    merged = []
    for group in groups:
        for evidence in group:
            key = (evidence.note_id, evidence.char_start, evidence.char_end)
            if key not in seen:
                seen.add(key)
                merged.append(evidence)
    return tuple(merged)
