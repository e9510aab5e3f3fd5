"""Every custom ``._`` attribute the pipeline sets, in one table.

Values stored on docs and spans are plain data (str, numbers, dicts, lists) or the
stages' frozen payload models (``extractor.payloads``, read and written only through
``get_payload`` / ``set_payload``, serialised by ``extractor.msgpack_codec``), so a Doc
serialises with ``doc.to_bytes()``: that is what lets ``nlp.pipe(..., n_process=2)``
send results back from worker processes. Registering twice is harmless; a conflicting
earlier definition raises instead of being silently replaced.
"""

from typing import Any

from spacy.tokens import Doc, Span

from extractor.facts import Fact

DOC_EXTENSIONS: dict[str, dict[str, Any]] = {
    "note_id": {"default": None},
    "note_date": {"default": None},  # ISO date string: the anchor for relative times
    "fact_records": {"default": None},  # list of JSON strings, one per fact
    "section_bounds": {"default": None},  # list of [category, char_start, char_end, title_end]
    "time_expressions": {"default": None},  # list of dicts from the time stage
    "abbreviation_map": {"default": None},  # short form -> concept id, from the note itself
}

SPAN_EXTENSIONS: dict[str, dict[str, Any]] = {
    "concept": {"default": None},
    "note_section": {"default": None},
    "context": {"default": None},  # ContextPayload: assertion, experiencer, temporality, cues
    "time": {"default": None},  # TimePayload
    "lab": {"default": None},  # LabPayload
    "lab_series": {"default": None},  # more values of the same row: [{"lab": {...}, "time": {...}}]
    "medication": {"default": None},  # MedicationPayload
    "infection_state": {"default": None},
    "detail": {"default": None},  # kind-specific attributes read from the text
}


def facts_of(doc: Doc, patient_id: str | None = None) -> list[Fact]:
    """The facts the pipeline stored on ``doc``, optionally stamped with the patient's id.

    Records are JSON strings, not dicts: medspaCy registers msgpack hooks that misread any
    dict with a "section" key when a Doc comes back from a worker process.
    """
    facts = [Fact.model_validate_json(record) for record in doc._.fact_records or ()]
    if patient_id is not None:
        facts = [fact.model_copy(update={"patient_id": patient_id}) for fact in facts]
    return facts


def _facts_getter(doc: Doc) -> list[Fact]:
    return facts_of(doc)


DOC_GETTERS: dict[str, Any] = {"facts": _facts_getter}


def _register(cls: type, name: str, spec: dict[str, Any]) -> None:
    if cls.has_extension(name):
        existing = cls.get_extension(name)
        wanted = (spec.get("default"), None, spec.get("getter"), None)
        if existing != wanted:
            raise ValueError(
                f"{cls.__name__}._.{name} is already registered with another definition; "
                "rename one of them."
            )
        return
    cls.set_extension(name, **spec)


def register_extensions() -> None:
    """Register every attribute above; safe to call any number of times."""
    for name, spec in DOC_EXTENSIONS.items():
        _register(Doc, name, spec)
    for name, getter in DOC_GETTERS.items():
        _register(Doc, name, {"getter": getter})
    for name, spec in SPAN_EXTENSIONS.items():
        _register(Span, name, spec)
