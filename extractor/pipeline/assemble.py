"""Facts: the last stage turns every annotated entity into a plain-data ``Fact``.

Facts are stored on the Doc as JSON strings (``doc._.fact_records``, read as
``Fact`` objects through ``doc._.facts``) and every medspaCy or scispaCy object left in
the Doc's user data is dropped, so the Doc serialises and ``nlp.pipe(n_process=2)``
works. Nothing downstream of this stage touches spaCy.
"""

import datetime as dt
import re
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from extractor.extensions import DOC_EXTENSIONS, SPAN_EXTENSIONS, register_extensions
from extractor.facts import (
    Code,
    DoseChange,
    Evidence,
    Fact,
    InfectionState,
    Kind,
    LabResult,
    MedicationDetails,
    TimeRef,
)
from extractor.pipeline.infections import RULE_FILE as INFECTION_STATES
from extractor.pipeline.infections import cue_patterns, infection_state
from extractor.pipeline.note_text import KEY as TEXT_KEY
from extractor.pipeline.note_text import note_text
from extractor.pipeline.rule_files import RuleFileComponent, rules_directory
from extractor.pipeline.sentence_index import SentenceBounds, SentenceIndex
from extractor.resources import VOCABULARY_FILES, Concept, concepts_by_id

_OUR_KEYS = set(DOC_EXTENSIONS) | set(SPAN_EXTENSIONS)


def _time_ref(data: dict[str, Any] | None) -> TimeRef | None:
    if not data or data.get("precision") == "unresolved":
        return None
    keys = ("text", "char_start", "char_end", "date", "start", "end", "precision")
    return TimeRef(**{k: data[k] for k in keys if k in data})


def build_fact(
    ent: Span,
    concept: Concept | None,
    note_id: str,
    note_date: dt.date | None,
    sent: SentenceBounds,
    text: str,
    infection_cues: tuple[tuple[InfectionState, re.Pattern[str]], ...] = (),
) -> Fact:
    """One Fact from one annotated entity in its sentence."""
    context = ent._.context or {}
    kind = Kind(ent.label_.lower())
    attrs: dict[str, Any] = dict(concept.attrs) if concept else {}
    attrs.update(ent._.detail or {})
    cues = context.get("cues")
    if cues:
        attrs["context_cues"] = cues
    time = _time_ref(ent._.time)
    fact: dict[str, Any] = {
        "kind": kind,
        "concept": ent._.concept,
        "label": concept.literal if concept else ent._.concept,
        "codes": tuple(Code(**c.model_dump()) for c in concept.codes) if concept else (),
        "assertion": context.get("assertion", "present"),
        "experiencer": context.get("experiencer", "patient"),
        "temporality": context.get("temporality", "current"),
        "time": time,
        "attrs": attrs,
        "note_date": note_date,
        "evidence": Evidence(
            note_id=note_id,
            char_start=ent.start_char,
            char_end=ent.end_char,
            text=ent.text,
            section=ent._.note_section,
            sentence_start=sent.start_char,
            sentence_end=sent.end_char,
        ),
    }
    if kind in (Kind.LAB, Kind.SCORE) and ent._.lab:
        lab = {k: v for k, v in ent._.lab.items() if k in LabResult.model_fields}
        fact["lab"] = LabResult(**lab)
    if kind is Kind.MEDICATION and ent._.medication:
        fact["medication"] = _medication(ent._.medication)
    if kind is Kind.INFECTION:
        fact["infection_state"] = infection_state(
            ent, fact["assertion"], fact["temporality"], sent, text, infection_cues
        )
    return Fact(**fact)


def _medication(data: dict[str, Any]) -> MedicationDetails:
    values = {k: v for k, v in data.items() if k in MedicationDetails.model_fields}
    for role in ("start", "stop", "last_dose", "stable_since"):
        if role in values:
            values[role] = _time_ref(values[role])
    values["classes"] = tuple(values.get("classes", ()))
    values["response"] = tuple(values.get("response", ()))
    values["dose_changes"] = tuple(DoseChange(**c) for c in values.get("dose_changes", ()))
    return MedicationDetails(**values)


class FactAssembler(RuleFileComponent):
    """Writes ``doc._.fact_records`` and leaves the Doc serialisable."""

    rule_files = (INFECTION_STATES, *VOCABULARY_FILES)

    def __init__(self, nlp: Language, name: str = "extractor_facts", patterns: str = "") -> None:
        register_extensions()
        self.name = name
        self.load_rules(rules_directory(patterns))

    def load_rules(self, directory: Path) -> None:
        self.rules_dir = directory
        self.concepts = concepts_by_id(directory)
        self.infection_cues = cue_patterns(directory)

    def __call__(self, doc: Doc) -> Doc:
        note_id = doc._.note_id or "note"
        note_date = dt.date.fromisoformat(doc._.note_date) if doc._.note_date else None
        records = []
        sentences = SentenceIndex(doc)
        text = note_text(doc)
        for ent in doc.ents:
            if ent._.concept is None:
                continue
            concept = self.concepts.get(ent._.concept)
            fact = build_fact(ent, concept, note_id, note_date, sentences.sent(ent), text, self.infection_cues)
            records.append(fact.model_dump_json(exclude_none=True))
            for extra in ent._.lab_series or ():
                # another value of the same table row: same words cited, its own value and date
                lab = {k: v for k, v in extra["lab"].items() if k in LabResult.model_fields}
                update = {"lab": LabResult(**lab), "time": _time_ref(extra["time"])}
                records.append(fact.model_copy(update=update).model_dump_json(exclude_none=True))
        doc._.fact_records = records
        _drop_foreign_user_data(doc)
        return doc


def _drop_foreign_user_data(doc: Doc) -> None:
    """Remove other libraries' extension values (objects that do not serialise) and the shared text."""
    doc.user_data.pop(TEXT_KEY, None)
    for key in list(doc.user_data):
        if isinstance(key, tuple) and len(key) >= 2 and key[0] == "._." and key[1] not in _OUR_KEYS:
            del doc.user_data[key]


@Language.factory(
    "extractor_facts",
    default_config={"patterns": ""},
    assigns=["doc._.fact_records"],
    requires=["doc.ents", "span._.context"],
)
def make_facts(nlp: Language, name: str, patterns: str) -> FactAssembler:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return FactAssembler(nlp, name, patterns)
