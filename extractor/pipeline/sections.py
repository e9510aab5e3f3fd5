"""Sections: medspaCy's Sectionizer with our header rules, and what each section means.

A header counts only at the start of a line and when a colon or the end of the line
follows it, so "Medications were reviewed" is text, not a header, and one-letter SOAP
headers ("A:", "P:") are safe. The section of every concept span is recorded; the
context stage reads it for section-aware defaults (family history → family experiencer,
past medical history → historical, medication list → current medication).
"""

from pathlib import Path
from typing import Any

from medspacy.section_detection import Sectionizer, SectionRule
from pydantic import BaseModel, ConfigDict, Field
from spacy.language import Language
from spacy.tokens import Doc

from extractor.extensions import register_extensions
from extractor.pipeline.note_text import note_text
from extractor.resources import load_model, patterns_dir


class SectionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str = Field(pattern=r"^[a-z_]+$")
    headers: tuple[str, ...]
    experiencer: str | None = None
    temporality: str | None = None
    med_status: str | None = None
    med_response: str | None = None


class SectionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: str = Field(alias="schema", pattern=r"^sections/v1$")
    name: str
    description: str
    version: int | str
    source: str
    license: str
    sections: tuple[SectionEntry, ...]


def load_sections(path: Path | None = None) -> SectionsFile:
    """The section rules file, validated."""
    return load_model(SectionsFile, path or patterns_dir() / "sections.yaml")


class _HeaderSectionizer(Sectionizer):
    """medspaCy's Sectionizer whose end-of-header test also accepts a following colon."""

    def filter_end_lines(self, doc: Doc, matches: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        kept = []
        for match in matches:
            end = match[2]
            if end >= len(doc):
                kept.append(match)
                continue
            following = doc[end]
            if following.text in {":", "-"} or (following.is_space and "\n" in following.text):
                kept.append(match)
        return kept


class SectionTagger:
    """Finds section headers; records each section as plain ``[category, start, end, title_end]``."""

    def __init__(self, nlp: Language, name: str = "extractor_sections", rules: str = "") -> None:
        register_extensions()
        self.name = name
        self.rules = load_sections(Path(rules) if rules else None)
        self._sectionizer = _HeaderSectionizer(
            nlp,
            name=f"{name}_medspacy",
            rules=None,
            require_start_line=True,
            require_end_line=True,
            span_attrs=None,
        )
        self._sectionizer.add(
            [
                SectionRule(literal=header, category=entry.category)
                for entry in self.rules.sections
                for header in entry.headers
            ]
        )
        self.meaning = {entry.category: entry for entry in self.rules.sections}

    def __call__(self, doc: Doc) -> Doc:
        self._sectionizer(doc)
        spans = []
        length = len(note_text(doc))
        for section in doc._.sections:
            start = doc[section.title_start].idx if section.title_start < len(doc) else length
            end_token = section.body_end
            end = doc[end_token].idx if end_token < len(doc) else length
            title_end = doc[section.title_end - 1].idx + len(doc[section.title_end - 1]) if section.title_end else start
            spans.append([section.category, start, end, title_end])
        doc._.section_bounds = spans
        # medspaCy's Section objects do not serialise; our plain copy above replaces them
        doc._.sections = []
        return doc


def section_at(doc: Doc, char: int) -> str | None:
    """The category of the section containing character ``char``, if any."""
    for category, start, end, _title_end in doc._.section_bounds or ():
        if start <= char < end:
            return category
    return None


@Language.factory("extractor_sections", default_config={"rules": ""}, assigns=["doc._.section_bounds"])
def make_sections(nlp: Language, name: str, rules: str) -> SectionTagger:
    """Registered factory; ``rules`` is a path to a sections YAML file, empty for the bundled one."""
    return SectionTagger(nlp, name, rules)
