"""Per-criterion results and the per-patient verdict, written exactly as CONTRACT.md asks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Any

from extractor.facts import Evidence
from extractor.screening.outcome import Status


class Overall(str, Enum):
    """The verdict per patient; the matcher never says 'eligible': a person signs that off."""

    INELIGIBLE = "ineligible"
    CANDIDATE = "candidate"
    NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True)
class CriterionResult:
    """One criterion's status for one patient, why, and the spans it rests on."""

    id: str
    type: str  # inclusion | exclusion
    status: Status
    reason: str
    evidence: tuple[Evidence, ...] = ()
    person_only: bool = False

    @property
    def favourable(self) -> bool:
        """Decided in the patient's favour: an inclusion met, an exclusion not met."""
        wanted = Status.MET if self.type == "inclusion" else Status.NOT_MET
        return self.status is wanted

    @property
    def disqualifying(self) -> bool:
        """An inclusion not met or an exclusion met."""
        unwanted = Status.NOT_MET if self.type == "inclusion" else Status.MET
        return self.status is unwanted

    def to_contract_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status.value,
            "reason": self.reason,
            "evidence": [evidence_dict(e) for e in self.evidence],
        }


def evidence_dict(evidence: Evidence) -> dict[str, Any]:
    """CONTRACT evidence: note id, start/end offsets (end-exclusive), text, section."""
    return {
        "note_id": evidence.note_id,
        "start": evidence.char_start,
        "end": evidence.char_end,
        "text": evidence.text,
        "section": evidence.section,
    }


def overall_of(results: tuple[CriterionResult, ...]) -> Overall:
    """criteria.yaml: ineligible if anything disqualifies; candidate if everything is
    favourable except what only a person can decide; needs_review otherwise."""
    if any(r.disqualifying for r in results):
        return Overall.INELIGIBLE
    if all(r.favourable or (r.person_only and r.status is Status.UNKNOWN) for r in results):
        return Overall.CANDIDATE
    return Overall.NEEDS_REVIEW


@dataclass(frozen=True)
class PatientVerdict:
    """Every criterion of one trial for one patient, and the overall verdict."""

    patient_id: str
    trial: str
    screening_date: dt.date | None
    criteria: tuple[CriterionResult, ...]
    notes_after_screening_date: tuple[str, ...] = ()  # note ids left unread: dated after the screening date

    @property
    def overall(self) -> Overall:
        return overall_of(self.criteria)

    def result(self, criterion_id: str) -> CriterionResult:
        """The result of one criterion, by id."""
        for item in self.criteria:
            if item.id == criterion_id:
                return item
        raise KeyError(criterion_id)

    def to_contract_dict(self) -> dict[str, Any]:
        """The CONTRACT JSON object for this patient (one line of verdicts.jsonl)."""
        return {
            "patient_id": self.patient_id,
            "trial": self.trial,
            "screening_date": self.screening_date.isoformat() if self.screening_date else None,
            "overall": self.overall.value,
            "criteria": [c.to_contract_dict() for c in self.criteria],
            # only when some note was left unread, so the CONTRACT shape is otherwise unchanged
            **({"notes_after_screening_date": list(self.notes_after_screening_date)}
               if self.notes_after_screening_date else {}),
        }
