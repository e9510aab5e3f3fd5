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
    Evidence,
    Fact,
    InfectionState,
    Kind,
    LabResult,
    TimeRef,
)
from extractor.payloads import SpanPayloads, TimePayload, payloads_of
from extractor.pipeline.infections import RULE_FILE as INFECTION_STATES
from extractor.pipeline.infections import cue_patterns, infection_state
from extractor.pipeline.note_text import KEY as TEXT_KEY
from extractor.pipeline.note_text import note_text
from extractor.pipeline.oncology import RULE_FILE as ONCOLOGY
from extractor.pipeline.oncology import OncologyReader, oncology_reader
from extractor.pipeline.qualifiers import QualifierReader, qualifier_reader
from extractor.pipeline.rule_files import RuleFileComponent, rules_directory
from extractor.pipeline.sentence_index import KEY as SENTENCES_KEY
from extractor.pipeline.sentence_index import SentenceBounds, SentenceIndex
from extractor.resources import CONCEPT_FILES, Concept, concepts_by_id

_OUR_KEYS = set(DOC_EXTENSIONS) | set(SPAN_EXTENSIONS)


def _time_ref(time: TimePayload | None) -> TimeRef | None:
    """The fact's time: none for an expression that did not resolve to a date."""
    return None if time is None or time.precision == "unresolved" else time.ref()


def build_fact(
    ent: Span,
    payloads: SpanPayloads,
    concept: Concept | None,
    codes: tuple[Code, ...],
    note_id: str,
    note_date: dt.date | None,
    sent: SentenceBounds,
    text: str,
    infection_cues: tuple[tuple[InfectionState, re.Pattern[str]], ...] = (),
    qualifiers: QualifierReader | None = None,
    oncology: OncologyReader | None = None,
) -> Fact:
    """One Fact from one annotated entity (its ``payloads``) in its sentence."""
    context = payloads.context
    kind = Kind(ent.label_.lower())
    start, end = ent.start_char, ent.end_char
    attrs: dict[str, Any] = dict(concept.attrs) if concept else {}
    attrs.update(payloads.detail or {})
    for name, value in (qualifiers or qualifier_reader()).read(
        text, payloads.concept, start, end, sent.start_char, sent.end_char
    ).items():
        attrs.setdefault(name, value)
    if context.cues:
        attrs["context_cues"] = [cue.model_dump() for cue in context.cues]
    time = _time_ref(payloads.time)
    fact: dict[str, Any] = {
        "kind": kind,
        "concept": payloads.concept,
        "label": concept.literal if concept else payloads.concept,
        "codes": codes,
        "assertion": context.assertion,
        "experiencer": context.experiencer,
        "temporality": context.temporality,
        "time": time,
        "attrs": attrs,
        "note_date": note_date,
        "evidence": Evidence(
            note_id=note_id,
            char_start=start,
            char_end=end,
            text=text[start:end],
            section=payloads.section,
            sentence_start=sent.start_char,
            sentence_end=sent.end_char,
        ),
    }
    if kind in (Kind.LAB, Kind.SCORE, Kind.VITAL) and payloads.lab is not None:
        fact["lab"] = payloads.lab.result()
    if kind is Kind.MEDICATION and payloads.medication is not None:
        fact["medication"] = payloads.medication.details()
    if concept is not None and concept.attrs.get("category") == "malignancy":
        fact["oncology"] = (oncology or oncology_reader()).read(text, start, end, sent.start_char, sent.end_char)
    if kind is Kind.INFECTION:
        fact["infection_state"] = infection_state(
            ent, fact["assertion"], fact["temporality"], sent, text, infection_cues
        )
    return Fact(**fact)


class FactAssembler(RuleFileComponent):
    """Writes ``doc._.fact_records`` and leaves the Doc serialisable."""

    rule_files = (INFECTION_STATES, "qualifiers.yaml", ONCOLOGY, *CONCEPT_FILES)

    def __init__(self, nlp: Language, name: str = "extractor_facts", patterns: str = "") -> None:
        register_extensions()
        self.name = name
        self.load_rules(rules_directory(patterns))

    def load_rules(self, directory: Path) -> None:
        self.rules_dir = directory
        self.concepts = concepts_by_id(directory)
        self._codes: dict[str, tuple[Code, ...]] = {}  # the fact model's codes, per concept id
        self.infection_cues = cue_patterns(directory)
        self.qualifiers = QualifierReader(directory / "qualifiers.yaml")
        self.oncology = OncologyReader(directory / ONCOLOGY)

    def __call__(self, doc: Doc) -> Doc:
        note_id = doc._.note_id or "note"
        note_date = dt.date.fromisoformat(doc._.note_date) if doc._.note_date else None
        records = []
        sentences = SentenceIndex.of(doc)
        text = note_text(doc)
        for ent in doc.ents:
            payloads = payloads_of(ent)
            if payloads.concept is None or (ent.label_ == "VITAL" and payloads.lab is None):
                continue  # a vital sign is a fact only with its value
            concept = self.concepts.get(payloads.concept)
            fact = build_fact(
                ent, payloads, concept, self._codes_of(concept), note_id, note_date, sentences.sent(ent), text,
                self.infection_cues, self.qualifiers, self.oncology,
            )
            records.append(fact.model_dump_json(exclude_none=True))
            for extra in payloads.lab_series:
                # another value of the same table row: same words cited, its own value and date
                update = {
                    "lab": LabResult.model_validate(extra["lab"]),
                    "time": _time_ref(TimePayload.model_validate(extra["time"])),
                }
                records.append(fact.model_copy(update=update).model_dump_json(exclude_none=True))
        doc._.fact_records = records
        _drop_foreign_user_data(doc)
        return doc

    def _codes_of(self, concept: Concept | None) -> tuple[Code, ...]:
        """A concept's codes as the fact model's (built once per concept, not per mention)."""
        if concept is None:
            return ()
        if concept.id not in self._codes:
            self._codes[concept.id] = tuple(Code(**c.model_dump()) for c in concept.codes)
        return self._codes[concept.id]


def _drop_foreign_user_data(doc: Doc) -> None:
    """Remove other libraries' extension values (objects that do not serialise), the shared text
    and the sentence index."""
    doc.user_data.pop(TEXT_KEY, None)
    doc.user_data.pop(SENTENCES_KEY, None)
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
