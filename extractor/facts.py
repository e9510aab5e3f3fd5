"""The fact model: one typed, frozen, plain-data record per clinical mention.

Everything downstream of the spaCy pipeline (screening, evaluation, batch, report,
service) reads these records and never a spaCy object, so facts pickle, cross
process boundaries and serialise to JSON as they are.

Offsets are named for what they are: ``char_start`` / ``char_end`` are Python ``str``
indices into the note text exactly as it came in, end-exclusive.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Kind(str, Enum):
    """What a fact is about; each kind has its own vocabulary file in ``patterns/``."""

    CONDITION = "condition"
    INFECTION = "infection"
    MEDICATION = "medication"
    LAB = "lab"
    VACCINE = "vaccine"
    PROCEDURE = "procedure"
    SCORE = "score"
    VITAL = "vital"
    STUDY = "study"
    DEMOGRAPHIC = "demographic"
    SOCIAL = "social"


class Assertion(str, Enum):
    """Whether the note says the thing is there. One value per fact, never a bag of flags."""

    PRESENT = "present"
    ABSENT = "absent"
    POSSIBLE = "possible"
    HYPOTHETICAL = "hypothetical"


class Experiencer(str, Enum):
    """Whose fact it is: only the patient's facts count for eligibility."""

    PATIENT = "patient"
    FAMILY = "family"
    OTHER = "other"


class Temporality(str, Enum):
    """Current (now, or this episode) versus historical (before, resolved, past history)."""

    CURRENT = "current"
    HISTORICAL = "historical"


class InfectionState(str, Enum):
    """The state of an infection as the note states it."""

    ACTIVE = "active"
    TREATED = "treated"
    LATENT = "latent"
    HISTORY = "history"
    SEROLOGY = "serology"
    RESOLVED = "resolved"


class MedStatus(str, Enum):
    """Where a medication stands on the note's date."""

    CURRENT = "current"
    PAST = "past"
    PLANNED = "planned"
    HELD = "held"
    STOPPED = "stopped"


# what a patient's response to a drug was, as the medication stage reads it
MedResponse = Literal["inadequate_response", "failure", "refractory", "intolerance", "allergy", "severe_allergy"]
# which moment of a course a dated expression marks
TimeRole = Literal["start", "last_dose", "stop", "stable_since"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Code(_Frozen):
    """A code in a standard terminology (ICD-10-CM, SNOMED CT, RxNorm, LOINC, CVX)."""

    system: str
    code: str
    display: str = ""


class Evidence(_Frozen):
    """The exact words of the chart a fact rests on."""

    note_id: str
    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)
    text: str
    section: str | None = None
    sentence_start: int | None = None
    sentence_end: int | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Evidence:
        if self.char_end < self.char_start:
            raise ValueError("char_end precedes char_start")
        if len(self.text) != self.char_end - self.char_start:
            raise ValueError("evidence text length does not match its offsets")
        return self

    def check_against(self, note_text: str) -> None:
        """Raise if the cited text is not the note's text at these offsets."""
        if note_text[self.char_start : self.char_end] != self.text:
            raise ValueError(
                f"evidence of note {self.note_id} at {self.char_start}:{self.char_end} "
                "does not equal the note text at those offsets"
            )


class TimeRef(_Frozen):
    """A time expression tied to a fact, normalised against the note's date.

    ``date`` is set for a point in time; ``start``/``end`` for an interval (either may
    be open). ``char_start``/``char_end`` point at the expression in the note, when the
    time comes from the text rather than from the note's own date.
    """

    text: str | None = None
    char_start: int | None = None
    char_end: int | None = None
    date: dt.date | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    precision: str | None = None  # "day" | "month" | "year" | "age"
    source: str = "text"  # "text" | "note_date"


class LabResult(_Frozen):
    """A lab value or measurement as written, and normalised to the lab's canonical unit."""

    value: float | None = None
    value_high: float | None = None  # upper end of a written range ("EF 60-65%")
    diastolic: float | None = None  # a blood pressure's second number; ``value`` is the systolic
    titer: int | None = None  # denominator of a titer, 320 for 1:320
    qualitative: str | None = None  # positive|negative|reactive|nonreactive|detected|...
    pattern: str | None = None  # ANA pattern ("speckled")
    comparator: str | None = None  # "<" | ">" | "<=" | ">="
    unit: str | None = None  # as written
    canonical_value: float | None = None
    canonical_unit: str | None = None
    unit_inferred: bool = False
    ref_low: float | None = None
    ref_high: float | None = None
    flag: str | None = None  # "H" | "L" | "*" | "high" | "low" | "critical"
    uln_multiple: float | None = None
    repeat_count: int | None = None  # "indeterminate x2"
    inferred_unit: str | None = None  # the unit assumed for a bare number
    value_char_start: int | None = None
    value_char_end: int | None = None


class DoseChange(_Frozen):
    """A written dose change, e.g. a taper from 30 to 15 mg."""

    from_dose: float | None = None
    to_dose: float | None = None
    unit: str | None = None
    date: dt.date | None = None
    text: str = ""


class MedicationDetails(_Frozen):
    """Everything a medication mention says beyond the drug's name."""

    ingredient: str
    classes: tuple[str, ...] = ()
    dose: float | None = None
    dose_unit: str | None = None
    route: str | None = None
    frequency: str | None = None
    daily_dose: float | None = None
    prednisone_equivalent_mg_day: float | None = None
    status: MedStatus = MedStatus.CURRENT
    start: TimeRef | None = None
    stop: TimeRef | None = None
    last_dose: TimeRef | None = None
    stable_since: TimeRef | None = None
    dose_changes: tuple[DoseChange, ...] = ()
    response: tuple[MedResponse, ...] = ()
    course_count: int | None = None  # "rituximab x2"


# where a cancer stands, as the note states it
DiseaseStatus = Literal["remission", "progression", "relapse", "stable"]


class AttributeSpan(_Frozen):
    """The words of the note one attribute was read from (offsets as ``Evidence``'s)."""

    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)
    text: str


class Histology(AttributeSpan):
    """A tumour's histological type ("adenocarcinoma", "diffuse large B-cell lymphoma")."""

    value: str  # an id of patterns/oncology.yaml's histologies


class Stage(AttributeSpan):
    """A written stage: a stage group ("stage IIIB", "stage 4") or a TNM formula ("pT3 N0 M0")."""

    value: str  # as normalised: "IIIB", "4", "pT3 N0 M0"
    group: int | None = Field(default=None, ge=0, le=4)  # the stage group's number (IIIB -> 3)
    t: str | None = None  # TNM categories, without their prefixes: "3", "is", "1a"
    n: str | None = None
    m: str | None = None


class MetastaticSite(AttributeSpan):
    """One organ the note says the cancer has spread to."""

    value: str  # an id of patterns/oncology.yaml's metastatic sites ("liver", "bone")


class Metastasis(AttributeSpan):
    """Whether the note calls the cancer metastatic ("metastatic to the liver", "no metastases", M1)."""

    value: bool
    sites: tuple[MetastaticSite, ...] = ()


class DiseaseCourse(AttributeSpan):
    """Remission, progression, relapse or stable disease, as written."""

    value: DiseaseStatus


class OncologyDetails(_Frozen):
    """What a cancer mention's sentence says of the tumour; each attribute cites its own words."""

    histology: Histology | None = None
    stage: Stage | None = None
    metastatic: Metastasis | None = None
    status: DiseaseCourse | None = None

    def value(self, name: str) -> Any:
        """One attribute's value by the name a trial's ``attrs`` filter uses, or None when unstated.

        ``histology``, ``stage`` (as written), ``stage_group`` (0-4), ``t``/``n``/``m``,
        ``metastatic`` (true/false), ``metastatic_site`` (the sites), ``status``.
        """
        stage = self.stage
        values: dict[str, Any] = {
            "histology": self.histology.value if self.histology else None,
            "stage": stage.value if stage else None,
            "stage_group": stage.group if stage else None,
            "t": stage.t if stage else None,
            "n": stage.n if stage else None,
            "m": stage.m if stage else None,
            "metastatic": self.metastatic.value if self.metastatic else None,
            "metastatic_site": self._sites(),
            "status": self.status.value if self.status else None,
        }
        return values.get(name)

    def _sites(self) -> list[str] | None:
        """The sites named; none when spread is denied; unstated (None) when spread is affirmed without a site."""
        if self.metastatic is None:
            return None
        if not self.metastatic.value:
            return []
        return [site.value for site in self.metastatic.sites] or None


class Fact(_Frozen):
    """One clinical mention, with its context, time and exact evidence."""

    kind: Kind
    concept: str
    label: str
    codes: tuple[Code, ...] = ()
    assertion: Assertion = Assertion.PRESENT
    experiencer: Experiencer = Experiencer.PATIENT
    temporality: Temporality = Temporality.CURRENT
    time: TimeRef | None = None
    attrs: dict[str, Any] = Field(default_factory=dict)
    infection_state: InfectionState | None = None
    lab: LabResult | None = None
    medication: MedicationDetails | None = None
    oncology: OncologyDetails | None = None  # a cancer's histology, stage, spread and course
    evidence: Evidence
    patient_id: str | None = None
    note_date: dt.date | None = None

    @property
    def counts_for_patient(self) -> bool:
        """True when the note affirms this of the patient (not negated, family or hypothetical)."""
        return (
            self.assertion is Assertion.PRESENT and self.experiencer is Experiencer.PATIENT
        )

    def attribute(self, name: str) -> Any:
        """An attribute a trial rule filters on: ``attrs[name]``, else the cancer's ``oncology`` value."""
        value = self.attrs.get(name)
        if value is None and self.oncology is not None:
            value = self.oncology.value(name)
        return value

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; dates as ISO strings, no empty fields."""
        return self.model_dump(mode="json", exclude_none=True)
