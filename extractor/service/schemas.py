"""Request and response bodies of the service, as pydantic models (they make /openapi.json).

Notes come in exactly as CONTRACT.md writes them (``patient_id``, ``note_id``, ``text``
required; ``date`` an ISO 8601 date or date-time; any other field kept and ignored).
Verdicts go out exactly as CONTRACT.md writes them; facts as ``extractor.facts.Fact``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, field_validator

from extractor.facts import Fact
from extractor.notes import Note, parse_iso_day
from extractor.screening import bundled_trials


def _iso_day(value: Any) -> dt.date | None:
    """The day of a strict ISO 8601 date or date-time string (CONTRACT ``date``) that date
    arithmetic can use (1800 to 2999); None stays None. Anything else is a 422."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("give an ISO 8601 date or date-time string")
    return parse_iso_day(value)


def _iso_date_only(value: Any) -> dt.date | None:
    """A strict ISO 8601 calendar date string (YYYY-MM-DD) from 1800 to 2999; None stays None."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("give an ISO 8601 date, YYYY-MM-DD")
    return parse_iso_day(value)


# years 1800 to 2999 (extractor.notes.EARLIEST_DATE, LATEST_DATE), for /openapi.json
SUPPORTED_YEARS = r"^(1[89]|2[0-9])[0-9]{2}-"
IsoDay = Annotated[
    dt.date | None,
    PlainValidator(_iso_date_only),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date", "pattern": SUPPORTED_YEARS}, {"type": "null"}]}),
]
IsoDate = Annotated[
    dt.date | None,
    PlainValidator(_iso_day),
    WithJsonSchema({"anyOf": [
        {"type": "string", "format": "date", "pattern": SUPPORTED_YEARS},
        {"type": "string", "format": "date-time", "pattern": SUPPORTED_YEARS},
        {"type": "null"},
    ]}),
]


def _unicode(value: str | None) -> str | None:
    """Lone surrogates (``"\\ud800"`` in JSON) are not text and could not be written back out."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("not valid Unicode text (lone surrogate)") from None
    return value


class NoteIn(BaseModel):
    """One note, as in CONTRACT.md."""

    model_config = ConfigDict(extra="allow")

    patient_id: str = Field(min_length=1)
    note_id: str = Field(min_length=1, description="unique within a request")
    text: str = Field(description="the note as written; offsets in the answer index into it")
    date: IsoDate = Field(default=None, description="when the note was written: the anchor of relative times")
    type: str | None = None
    sex: str | None = None
    birth_date: IsoDate = None

    @field_validator("patient_id", "note_id", "text", "type", "sex")
    @classmethod
    def _valid_unicode(cls, value: str | None) -> str | None:
        return _unicode(value)

    def to_note(self) -> Note:
        """The pipeline's ``Note``; unknown fields go to ``extra``."""
        return Note(
            patient_id=self.patient_id,
            note_id=self.note_id,
            text=self.text,
            date=self.date,
            type=self.type,
            sex=self.sex,
            birth_date=self.birth_date,
            extra=dict(self.model_extra or {}),
        )


class ExtractRequest(BaseModel):
    """One or more notes, of one or several patients."""

    model_config = ConfigDict(extra="forbid")

    notes: list[NoteIn] = Field(min_length=1)


class NoteFacts(BaseModel):
    """The facts of one note, in the order they appear in it."""

    patient_id: str
    note_id: str
    facts: list[Fact]


class ExtractResponse(BaseModel):
    """Facts per note, in request order; negated, uncertain and family facts included."""

    notes: list[NoteFacts]


class ScreenRequest(BaseModel):
    """One patient's notes, the trial to screen for and (optionally) the screening date."""

    model_config = ConfigDict(extra="forbid")

    trial: str = Field(description="a bundled trial id (GET /v1/trials)", json_schema_extra={"enum": bundled_trials()})
    screening_date: IsoDay = Field(
        default=None, description="default: the date of the patient's latest note"
    )
    notes: list[NoteIn] = Field(min_length=1, description="all of one patient (one patient_id)")


class EvidenceOut(BaseModel):
    """A cited span: ``text == note_text[start:end]`` (Python str offsets, end-exclusive)."""

    note_id: str
    start: int
    end: int
    text: str
    section: str | None


class CriterionOut(BaseModel):
    id: str
    type: Literal["inclusion", "exclusion"]
    status: Literal["met", "not_met", "unknown"]
    reason: str
    evidence: list[EvidenceOut]


class VerdictOut(BaseModel):
    """The CONTRACT verdict of one patient."""

    patient_id: str
    trial: str
    screening_date: dt.date | None
    overall: Literal["ineligible", "candidate", "needs_review"]
    criteria: list[CriterionOut]
    notes_after_screening_date: list[str] | None = Field(
        default=None, description="ids of notes dated after the screening date, not read; present only when some were"
    )


class TrialSummary(BaseModel):
    id: str
    title: str
    version: int | str
    criteria: int = Field(description="how many criteria")


class TrialList(BaseModel):
    trials: list[TrialSummary]


class CriterionInfo(BaseModel):
    id: str
    type: Literal["inclusion", "exclusion"]
    text: str
    absent: Literal["met", "not_met", "unknown"] = Field(description="the status when the chart says nothing")
    person_only: bool = Field(description="only a person can decide it: always unknown")


class TrialDetail(BaseModel):
    id: str
    title: str
    description: str
    version: int | str
    source: str
    license: str
    criteria: list[CriterionInfo]


class Health(BaseModel):
    status: Literal["ok"]


class FieldProblem(BaseModel):
    field: str = Field(description="where, e.g. notes[0].date")
    message: str


class ErrorBody(BaseModel):
    """Every error the service answers with; never contains note text."""

    error: str = Field(description="a short code: invalid_request, too_large, unauthorized, not_found, ...")
    message: str
    fields: list[FieldProblem] = []


FHIR_BUNDLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "a FHIR R4 Bundle (type collection); see extractor/fhir.py for the mapping",
    "required": ["resourceType", "type"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string", "enum": ["collection"]},
        "entry": {"type": "array", "items": {"type": "object"}},
    },
}
