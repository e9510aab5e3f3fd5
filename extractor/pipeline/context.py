"""Context: ConText with our trigger rules, then one assertion per concept.

ConText (our small engine, ``context_engine.py``) marks which triggers modify which
concepts within a sentence. This stage turns
those marks, and the section the concept sits in, into the fact model's single-valued
qualifiers, by fixed priority (negated > hypothetical > possible > present; a family or
other-person trigger > the section's default) so a fact never carries contradicting
flags. The trigger words are kept as cues, with offsets, to explain the decision.
"""

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from spacy.language import Language
from spacy.tokens import Doc, Span

from extractor.extensions import register_extensions
from extractor.facts import Assertion, Experiencer, Kind, Temporality
from extractor.payloads import ContextPayload, Cue, set_payload
from extractor.pipeline.concepts import NEGATED_NAME
from extractor.pipeline.context_engine import ContextEngine, Trigger, TriggerRule
from extractor.pipeline.note_text import note_text
from extractor.pipeline.rule_files import RuleFileComponent, rules_directory
from extractor.pipeline.sections import SectionIndex, load_sections
from extractor.resources import Header, load_model

Category = Literal[
    "NEGATED_EXISTENCE",
    "POSSIBLE_EXISTENCE",
    "HYPOTHETICAL",
    "HISTORICAL",
    "FAMILY",
    "OTHER_EXPERIENCER",
    "PATIENT_EXPERIENCER",  # "personal history of" in a family-history paragraph: the patient's own
    "PSEUDO",
    "CONJ",
]
Direction = Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"]
# Words that are a lab's result, not a negation of the lab having been done.
RESULT_WORDS = {
    "negative", "neg", "(-)", "not detected", "undetectable", "-ve for", "negative for",
    "non", "nonreactive", "non-reactive",
}
# Words that are a procedure's finding, not a negation of the procedure having been done:
# "his first colonoscopy 6 years ago and it was negative", "biopsy negative"
FINDING_WORDS = {"negative", "neg", "(-)", "was negative", "were negative", "is negative", "are negative"}


class ContextRuleGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: Category
    direction: Direction
    literals: tuple[str, ...] = Field(min_length=1)
    max_scope: int | None = Field(default=None, ge=1)
    # entity kinds whose first mention in the scope ends it (a drug list's next drug)
    stops_at: tuple[Kind, ...] = ()


class ContextFile(Header):
    schema_: Literal["context/v1"] = Field(alias="schema")
    rules: tuple[ContextRuleGroup, ...]


def load_context_rules(directory: Path | None = None) -> ContextFile:
    """The ConText trigger file of a rule directory (the bundled one by default), validated."""
    return load_model(ContextFile, rules_directory(directory) / "context.yaml")


# "h/o MDD since 2019 on sertraline": a condition written with the date it has lasted since is
# ongoing, whatever history cue opens it (the facts gold: current, dated 2019)
_ONGOING_SINCE = re.compile(
    r"[ \t]*(?:\([ \t]*)?since[ \t]+(?:(?:19|20)\d{2}\b|\d{1,2}/(?:\d{1,2}/)?(?:19|20)?\d{2}\b)", re.IGNORECASE
)


def _ongoing_since(ent: Span) -> bool:
    """The mention is followed at once by "since <a date>" (the start of what still lasts)."""
    return _ONGOING_SINCE.match(note_text(ent.doc), ent.end_char) is not None  # Doc.text joins every token


# "No seizures since her stroke", "no antibiotics since the UTI": what a "since" counts from
# happened before the note (and, its date unwritten, not on the note's day); a drug after
# "since" ("since starting MMF") is taken now, so only events are read so
_SINCE_EVENT = re.compile(r"\bsince[ \t]+(?:(?:the|her|his|their|a|an|last|that)[ \t]+)?$", re.IGNORECASE)
_EVENT_LABELS = frozenset({"CONDITION", "INFECTION", "PROCEDURE", "VACCINE"})


def _since_event(ent: Span) -> bool:
    """The mention is what a "since" just before it counts from."""
    if ent.label_ not in _EVENT_LABELS:
        return False
    return _SINCE_EVENT.search(note_text(ent.doc), max(0, ent.start_char - 20), ent.start_char) is not None


def _inside(cue: Cue, other: Cue | None) -> bool:
    """True when ``cue`` lies within ``other`` ("history of" inside "no history of")."""
    return other is not None and other.char_start <= cue.char_start and cue.char_end <= other.char_end


class ContextTagger(RuleFileComponent):
    """Runs ConText and leaves a ``ContextPayload`` on every entity (``extractor.payloads``)."""

    rule_files = ("context.yaml", "sections.yaml")

    def __init__(self, nlp: Language, name: str = "extractor_context", patterns: str = "") -> None:
        register_extensions()
        self.name = name
        self.nlp = nlp
        self.load_rules(rules_directory(patterns))

    def load_rules(self, directory: Path) -> None:
        rule_file = load_context_rules(directory)
        seen: set[tuple[str, str]] = set()
        rules = []
        for group in rule_file.rules:
            for literal in group.literals:
                key = (literal.lower(), group.category)
                if key not in seen:
                    seen.add(key)
                    rules.append(
                        TriggerRule(
                            literal, group.category, group.direction, group.max_scope,
                            frozenset(kind.value.upper() for kind in group.stops_at),
                        )
                    )
        self._engine = ContextEngine(self.nlp, f"{self.name}_triggers", rules)
        self.sections = {s.category: s for s in load_sections(directory).sections}
        self.rules_dir = directory

    def __call__(self, doc: Doc) -> Doc:
        ents = doc.ents
        sections = SectionIndex(doc._.section_bounds)
        # most mentions have no trigger: their payload is their section's defaults, one per section
        plain: dict[str | None, ContextPayload] = {}
        for ent, triggers in zip(ents, self._engine(doc, ents), strict=True):
            found = sections.at(ent.start_char)
            section = found[0] if found is not None else None
            ent._.note_section = section
            detail = ent._.detail
            if triggers or (detail and detail.get(NEGATED_NAME)):
                payload = self._qualify(ent, triggers, section, detail)
            elif section in plain:
                payload = plain[section]
            else:
                payload = plain[section] = self._qualify(ent, [], section, None)
            if payload.temporality is not Temporality.HISTORICAL and _since_event(ent):
                payload = payload.model_copy(update={"temporality": Temporality.HISTORICAL})
            set_payload(ent, payload)
        return doc

    def _qualify(
        self, ent: Span, triggers: list[Trigger], section_name: str | None, detail: dict[str, Any] | None
    ) -> ContextPayload:
        """One value per qualifier, by fixed priority, from the triggers and the section's defaults."""
        categories: dict[str, Cue] = {}
        doc = ent.doc
        for trigger in triggers:
            span = doc[trigger.start : trigger.end]
            if trigger.category == "NEGATED_EXISTENCE" and ent.label_ == "LAB" and span.text.lower() in RESULT_WORDS:
                continue  # "HBsAg negative" is a result, read by the lab stage
            if trigger.category == "NEGATED_EXISTENCE" and ent.label_ == "PROCEDURE" and (
                span.text.lower() in FINDING_WORDS
            ):
                continue  # "colonoscopy ... was negative": done, with nothing found
            if trigger.category not in categories:
                categories[trigger.category] = Cue(
                    category=trigger.category, text=span.text, char_start=span.start_char, char_end=span.end_char
                )
        if detail and detail.get(NEGATED_NAME) and "NEGATED_EXISTENCE" not in categories:
            # "afebrile", "nonsmoker": the name is the negation
            categories["NEGATED_EXISTENCE"] = Cue(
                category="NEGATED_EXISTENCE", text=ent.text, char_start=ent.start_char, char_end=ent.end_char
            )
        section = self.sections.get(section_name or "")
        if "NEGATED_EXISTENCE" in categories:
            assertion = Assertion.ABSENT
        elif "HYPOTHETICAL" in categories:
            assertion = Assertion.HYPOTHETICAL
        elif "POSSIBLE_EXISTENCE" in categories:
            assertion = Assertion.POSSIBLE
        else:
            assertion = Assertion.PRESENT
        if "FAMILY" in categories:
            experiencer = Experiencer.FAMILY
        elif "OTHER_EXPERIENCER" in categories:
            experiencer = Experiencer.OTHER
        elif "PATIENT_EXPERIENCER" in categories:
            experiencer = Experiencer.PATIENT  # the sentence says so, whatever the section's default
        else:
            experiencer = (section.experiencer if section else None) or Experiencer.PATIENT
        if (
            "HISTORICAL" in categories
            and not _inside(categories["HISTORICAL"], categories.get("NEGATED_EXISTENCE"))
            and not (ent.label_ == "CONDITION" and _ongoing_since(ent))
        ):
            temporality = Temporality.HISTORICAL
        else:
            temporality = (section.temporality if section else None) or Temporality.CURRENT
        return ContextPayload(
            assertion=assertion, experiencer=experiencer, temporality=temporality, cues=tuple(categories.values())
        )


@Language.factory(
    "extractor_context",
    default_config={"patterns": ""},
    assigns=["span._.context", "span._.note_section"],
    requires=["doc.ents", "token.is_sent_start"],
)
def make_context(nlp: Language, name: str, patterns: str) -> ContextTagger:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return ContextTagger(nlp, name, patterns)
