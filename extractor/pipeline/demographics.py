"""Demographics: age and sex as the note states them ("14 yo F", "a 9-year-old boy").

Patterns come from ``patterns/demographics.yaml``. Matches become entities labelled
``DEMOGRAPHIC`` unless they overlap a vocabulary concept, which keeps its place.
"""

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from extractor.extensions import register_extensions
from extractor.pipeline.note_text import note_text
from extractor.resources import load_model, patterns_dir


class DemographicsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: str = Field(alias="schema", pattern=r"^demographics/v1$")
    name: str
    description: str
    version: int | str
    source: str
    license: str
    age: tuple[str, ...]
    sex: tuple[str, ...]
    sex_words: dict[str, str]


class DemographicsTagger:
    """Adds ``age`` and ``sex`` entities with ``span._.detail`` holding the value."""

    def __init__(self, nlp: Language, name: str = "extractor_demographics", rules: str = "") -> None:
        register_extensions()
        self.name = name
        self.rules: DemographicsFile = load_model(
            DemographicsFile, Path(rules) if rules else patterns_dir() / "demographics.yaml"
        )
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

    def to_disk(self, path: Path, *, exclude: Any = ()) -> None:
        """Rules are package data; nothing to save."""

    def from_disk(self, path: Path, *, exclude: Any = ()) -> "DemographicsTagger":
        return self


@Language.factory("extractor_demographics", default_config={"rules": ""}, assigns=["doc.ents"])
def make_demographics(nlp: Language, name: str, rules: str) -> DemographicsTagger:
    """Registered factory; ``rules`` is a path to a demographics file, empty for the bundled one."""
    return DemographicsTagger(nlp, name, rules)
