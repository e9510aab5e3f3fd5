"""The pipeline API: ``load()`` the pipeline, extract facts, assert a mention.

The pipeline is spaCy + medspaCy, assembled from registered factories whose rules all
live in ``patterns/``: sentences → sections → abbreviations → concepts → demographics →
context → time → labs → medications → facts. ``extract_notes`` turns notes into plain
``Fact`` records; nothing downstream needs spaCy. ``extractor`` re-exports these names
and imports this module (and spaCy) only when one of them is first used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from extractor.errors import Errors
from extractor.extensions import facts_of, register_extensions
from extractor.facts import Fact
from extractor.modes import MODEL_MODES, AssertionMode
from extractor.notes import Note
from extractor.payloads import context_of
from extractor.pipeline.concepts import NEGATED_NAME

PIPELINE: tuple[str, ...] = (
    "extractor_sentences",
    "extractor_sections",
    "extractor_abbreviations",
    "extractor_concepts",
    "extractor_demographics",
    "extractor_context",
    "extractor_time",
    "extractor_labs",
    "extractor_medications",
    "extractor_facts",
)

MAX_NOTE_CHARS = 5_000_000

def load(
    config: dict[str, dict[str, Any]] | None = None,
    disable: Iterable[str] = (),
    assertion: AssertionMode | str = AssertionMode.RULES,
) -> Language:
    """The full pipeline; ``config`` maps a component name to its settings.

    ``assertion``: ``rules`` (ConText only), ``model`` or ``hybrid`` (adds
    ``extractor_assertion_model`` after ``extractor_context``; needs the ``model`` extra).
    """
    import extractor.pipeline  # noqa: F401  (registers the factories)

    try:
        mode = AssertionMode(assertion)
    except ValueError:
        raise ValueError(f"assertion must be one of {[m.value for m in AssertionMode]}, not {assertion!r}") from None
    register_extensions()
    config = config or {}
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "extractor.Tokenizer.v1"}}})
    nlp.max_length = MAX_NOTE_CHARS  # no parser or NER: memory grows linearly with text
    skipped = set(disable)
    for name in PIPELINE:
        if name in skipped:
            continue
        nlp.add_pipe(name, config=config.get(name, {}))
        if name == "extractor_context" and mode in MODEL_MODES:
            model_config = {**config.get("extractor_assertion_model", {}), "mode": mode.value}
            nlp.add_pipe("extractor_assertion_model", config=model_config)
    return nlp


def make_doc(nlp: Language, text: str, note_id: str = "note", note_date: dt.date | None = None) -> Doc:
    """A tokenised Doc carrying the note's id and date, ready for the pipeline."""
    doc = nlp.make_doc(text)
    doc._.note_id = note_id
    doc._.note_date = note_date.isoformat() if note_date else None
    return doc


def extract_notes(
    notes: Iterable[Note],
    nlp: Language | None = None,
    batch_size: int = 32,
    n_process: int = 1,
) -> Iterator[tuple[Note, list[Fact]]]:
    """Facts for each note, in input order; ``n_process`` > 1 uses worker processes."""
    nlp = nlp or load()
    buffered: list[Note] = []

    def docs() -> Iterator[Doc]:
        for note in notes:
            buffered.append(note)
            yield make_doc(nlp, note.text, note.note_id, note.date)

    for doc in nlp.pipe(docs(), batch_size=batch_size, n_process=n_process):
        note = buffered.pop(0)
        yield note, facts_of(doc, note.patient_id)


def extract_text(
    text: str, note_date: dt.date | None = None, note_id: str = "note", nlp: Language | None = None
) -> list[Fact]:
    """Facts of one text; convenient for scripts and tests."""
    nlp = nlp or load()
    return nlp(make_doc(nlp, text, note_id, note_date))._.facts


ASSERTION_STAGES = ("extractor_sentences", "extractor_sections", "extractor_context", "extractor_time")
MODEL_STAGE = "extractor_assertion_model"  # runs after the rules when the pipeline has it


def assert_mention(
    text: str,
    char_start: int,
    char_end: int,
    nlp: Language | None = None,
    note_date: dt.date | None = None,
) -> dict[str, Any]:
    """Negation, certainty, temporality and experiencer of a mention found by any tool.

    The mention is given as a character span of ``text``; it is classified in its
    sentence by the same ConText rules and section defaults as our own facts.
    """
    if not 0 <= char_start <= char_end <= len(text):
        raise ValueError(Errors.E020.format(start=char_start, end=char_end, length=len(text)))
    nlp = nlp or load()
    doc = make_doc(nlp, text, note_date=note_date)
    for name in ASSERTION_STAGES[:2]:
        doc = nlp.get_pipe(name)(doc)
    span = doc.char_span(char_start, char_end, alignment_mode="expand")
    if span is None or len(span) == 0:
        raise ValueError(Errors.E020.format(start=char_start, end=char_end, length=len(text)))
    mention = Span(doc, span.start, span.end, label="CONDITION")
    mention._.concept = "mention"
    concepts = nlp.get_pipe("extractor_concepts") if "extractor_concepts" in nlp.pipe_names else None
    if concepts is not None and span.text.lower() in concepts.negated_names:
        mention._.detail = {NEGATED_NAME: True}  # "afebrile": a name that says absent
    doc.ents = [mention]
    stages = list(ASSERTION_STAGES[2:])
    if MODEL_STAGE in nlp.pipe_names:
        stages.insert(1, MODEL_STAGE)
    for name in stages:
        doc = nlp.get_pipe(name)(doc)
    context = context_of(doc.ents[0])
    return {
        "assertion": context.assertion.value,
        "experiencer": context.experiencer.value,
        "temporality": context.temporality.value,
        "section": doc.ents[0]._.note_section,
        "cues": [cue.model_dump() for cue in context.cues],
    }
