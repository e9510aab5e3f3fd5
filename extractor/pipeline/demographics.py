"""Demographics: age and sex as the note states them ("14 yo F", "a 9-year-old boy").

Patterns come from ``patterns/demographics.yaml``. Matches become entities labelled
``DEMOGRAPHIC`` unless they overlap a vocabulary concept, which keeps its place.
"""

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from extractor.extensions import register_extensions
from extractor.pipeline.note_text import note_text
from extractor.pipeline.rule_files import RuleFileComponent, rules_directory
from extractor.resources import Header, load_model


class DemographicsFile(Header):
    schema_: Literal["demographics/v1"] = Field(alias="schema")
    age: tuple[str, ...]
    sex: tuple[str, ...]
    sex_words: dict[str, Literal["F", "M"]]


class DemographicsTagger(RuleFileComponent):
    """Adds ``age`` and ``sex`` entities with ``span._.detail`` holding the value."""

    rule_files = ("demographics.yaml",)
    labels = ("DEMOGRAPHIC",)  # spaCy copies a component's labels into meta.json

    def __init__(self, nlp: Language, name: str = "extractor_demographics", patterns: str = "") -> None:
        register_extensions()
        self.name = name
        self.load_rules(rules_directory(patterns))

    def load_rules(self, directory: Path) -> None:
        self.rules: DemographicsFile = load_model(DemographicsFile, directory / "demographics.yaml")
        self.rules_dir = directory
        self._age = [re.compile(p) for p in self.rules.age]
        self._sex = [re.compile(p) for p in self.rules.sex]

    def __call__(self, doc: Doc) -> Doc:
        found: list[Span] = []
        text = note_text(doc)
        for regex in self._age:
            for match in regex.finditer(text):
                groups = match.groupdict()
                if groups.get("years"):
                    years = float(groups["years"]) + (0.5 if groups.get("half") or groups.get("half_sign") else 0.0)
                else:
                    years = round(int(groups["months"]) / 12, 2)
                if years > 120:
                    continue
                span = doc.char_span(match.start(), match.end(), alignment_mode="expand")
                if span is not None:
                    found.append(self._entity(span, "age", {"years": years}))
        for regex in self._sex:
            for match in regex.finditer(text):
                sex = self.rules.sex_words.get(match.group("sex").lower())
                span = doc.char_span(match.start("sex"), match.end("sex"), alignment_mode="strict")
                if sex is not None and span is not None:
                    found.append(self._entity(span, "sex", {"sex": sex}))
        if found:
            taken = bytearray(len(doc))  # tokens already in an entity: overlap tests stay linear
            for ent in doc.ents:
                taken[ent.start : ent.end] = b"\x01" * len(ent)
            free = [s for s in filter_spans(found) if not any(taken[s.start : s.end])]
            doc.ents = sorted([*doc.ents, *free], key=lambda s: s.start)
        return doc

    @staticmethod
    def _entity(span: Span, concept: str, detail: dict[str, Any]) -> Span:
        entity = Span(span.doc, span.start, span.end, label="DEMOGRAPHIC")
        entity._.concept = concept
        entity._.detail = detail
        return entity



@Language.factory("extractor_demographics", default_config={"patterns": ""}, assigns=["doc.ents"])
def make_demographics(nlp: Language, name: str, patterns: str) -> DemographicsTagger:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return DemographicsTagger(nlp, name, patterns)
