"""What one stage leaves on a span for the next: frozen typed models, one accessor.

The context, time, lab and medication stages each write one payload per entity and
later stages read it: ``set_payload(span, value)`` and ``get_payload(span, Model)`` are
the only way in and out (as clinlp's ``get_qualifiers`` / ``set_qualifiers``), so a
default is written once, in the model, and a value is one of the fact model's enums,
never a loose string. The payloads reuse ``facts.py``'s models and enums: a lab payload
*is* a ``LabResult``; the time and medication payloads add the few fields the stages
need between them and the fact leaves out.

A Doc still serialises (``nlp.pipe(n_process=2)`` sends Docs back from workers): every
payload class carries ``extractor_payload = True``, which ``extractor.msgpack_codec``
(srsly's msgpack hooks, registered through entry points) recognises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from extractor.facts import Assertion, Experiencer, LabResult, MedicationDetails, Temporality, TimeRef

if TYPE_CHECKING:
    from spacy.tokens import Span

Source = Literal["rules", "model"]


class _Payload:
    """Marks a payload class for ``extractor.msgpack_codec``."""

    extractor_payload: ClassVar[bool] = True


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Cue(_Frozen):
    """A ConText trigger that decided a qualifier, with its offsets in the note."""

    category: str
    text: str
    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)


class ContextPayload(_Payload, _Frozen):
    """The context stage's decision for one entity: one value per qualifier, and why."""

    assertion: Assertion = Assertion.PRESENT
    experiencer: Experiencer = Experiencer.PATIENT
    temporality: Temporality = Temporality.CURRENT
    cues: tuple[Cue, ...] = ()
    sources: dict[str, Source] = Field(default_factory=dict)  # the learned stage: who decided each


class TimePayload(_Payload, TimeRef):
    """A time expression linked to an entity, with what the stages know beyond the fact's ``TimeRef``."""

    age: float | None = None  # "at age 12": the patient's age at the time
    not_result_date: bool = False  # a birth or admission date, never a lab result's

    def ref(self) -> TimeRef:
        """The fact's ``TimeRef`` of this payload (its values are validated already)."""
        return _narrow(self, TimeRef)


class MedicationPayload(_Payload, MedicationDetails):
    """The medication stage's reading, its times as ``TimePayload``s."""

    start: TimePayload | None = None
    stop: TimePayload | None = None
    last_dose: TimePayload | None = None
    stable_since: TimePayload | None = None
    daily_dose_unit: str | None = None

    def details(self) -> MedicationDetails:
        """The fact's ``MedicationDetails``: times as plain ``TimeRef``s, stage-only fields dropped."""
        times = {}
        for role in ("start", "stop", "last_dose", "stable_since"):
            time: TimePayload | None = getattr(self, role)
            times[role] = time.ref() if time is not None and time.precision != "unresolved" else None
        return _narrow(self, MedicationDetails, times)


class LabPayload(_Payload, LabResult):
    """The lab stage's reading: exactly the fact's ``LabResult``."""

    def result(self) -> LabResult:
        """The fact's ``LabResult``."""
        return _narrow(self, LabResult)


F = TypeVar("F", bound=BaseModel)


def _narrow(payload: BaseModel, model: type[F], replace: dict[str, object] | None = None) -> F:
    """``payload`` as the fact model it extends: its validated values, without the stage-only fields.

    Built without validating again (``model_construct``): every value was validated when
    the payload was made, and this runs for every fact of every note.
    """
    values = {name: getattr(payload, name) for name in model.model_fields}
    values.update(replace or {})
    return model.model_construct(**values)


# each payload model and the span attribute (``extensions.py``) that holds it
ATTRIBUTES: dict[type[BaseModel], str] = {
    ContextPayload: "context",
    TimePayload: "time",
    LabPayload: "lab",
    MedicationPayload: "medication",
}
P = TypeVar("P", bound=BaseModel)


def get_payload(span: Span, model: type[P]) -> P | None:
    """The ``model`` payload a stage left on ``span``, or None when none did."""
    return getattr(span._, ATTRIBUTES[model])  # type: ignore[no-any-return]


def set_payload(span: Span, value: BaseModel) -> None:
    """Leave ``value`` on ``span`` for later stages (its type names the attribute)."""
    setattr(span._, ATTRIBUTES[type(value)], value)


class SpanPayloads(NamedTuple):
    """Every stage's payload on one span, with the span's concept and detail."""

    concept: str | None
    detail: dict[str, Any] | None
    section: str | None
    context: ContextPayload
    time: TimePayload | None
    lab: LabPayload | None
    medication: MedicationPayload | None
    lab_series: tuple[dict[str, Any], ...]


def payloads_of(span: Span) -> SpanPayloads:
    """All of ``span``'s extension values at once, through one accessor.

    spaCy builds a new accessor object on every ``span._``; the facts stage reads eight
    values for every entity of every note, which made this lookup a quarter of its time.
    """
    ext = span._
    return SpanPayloads(
        ext.concept,
        ext.detail,
        ext.note_section,
        ext.context or DEFAULT_CONTEXT,
        ext.time,
        ext.lab,
        ext.medication,
        tuple(ext.lab_series or ()),
    )


def context_of(span: Span) -> ContextPayload:
    """The context decision for ``span``; the defaults (present, patient, current) when none was made."""
    return get_payload(span, ContextPayload) or DEFAULT_CONTEXT


DEFAULT_CONTEXT = ContextPayload()

BY_NAME: dict[str, type[BaseModel]] = {model.__name__: model for model in ATTRIBUTES}
