"""Sections: medspaCy's Sectionizer with our header rules, and what each section means.

A header counts only at the start of a line and when a colon or the end of the line
follows it, so "Medications were reviewed" is text, not a header, and one-letter SOAP
headers ("A:", "P:") are safe. The section of every concept span is recorded; the
context stage reads it for section-aware defaults (family history → family experiencer,
past medical history → historical, medication list → current medication).
"""

from pathlib import Path
from typing import Any, Literal

from medspacy.section_detection import Sectionizer, SectionRule
from pydantic import BaseModel, ConfigDict, Field
from spacy.language import Language
from spacy.tokens import Doc

from extractor.extensions import register_extensions
from extractor.facts import Experiencer, MedResponse, MedStatus, Temporality
from extractor.pipeline.note_text import note_text
from extractor.pipeline.rule_files import RuleFileComponent, rules_directory
from extractor.resources import Header, load_model


class SectionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str = Field(pattern=r"^[a-z_]+$")
    headers: tuple[str, ...]
    experiencer: Experiencer | None = None
    temporality: Temporality | None = None
    med_status: MedStatus | None = None
    med_response: MedResponse | None = None


class SectionsFile(Header):
    schema_: Literal["sections/v1"] = Field(alias="schema")
    sections: tuple[SectionEntry, ...]


def load_sections(directory: Path | None = None) -> SectionsFile:
    """The section rules file of a rule directory (the bundled one by default), validated."""
    return load_model(SectionsFile, rules_directory(directory) / "sections.yaml")


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


class SectionTagger(RuleFileComponent):
    """Finds section headers; records each section as plain ``[category, start, end, title_end]``."""

    rule_files = ("sections.yaml",)

    def __init__(self, nlp: Language, name: str = "extractor_sections", patterns: str = "") -> None:
        register_extensions()
        self.name = name
        self.nlp = nlp
        self.load_rules(rules_directory(patterns))

    def load_rules(self, directory: Path) -> None:
        self.rules = load_sections(directory)
        self.rules_dir = directory
        self._sectionizer = _HeaderSectionizer(
            self.nlp,
            name=f"{self.name}_medspacy",
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
        length, n_tokens = len(note_text(doc)), len(doc)
        spans = []
        for category, title_start, title_end, body_end in self._sections(doc):
            start = doc[title_start].idx if title_start < n_tokens else length
            end = doc[body_end].idx if body_end < n_tokens else length
            title_end_char = doc[title_end - 1].idx + len(doc[title_end - 1]) if title_end else start
            spans.append([category, start, end, title_end_char])
        doc._.section_bounds = spans
        return doc

    def _sections(self, doc: Doc) -> list[tuple[str | None, int, int, int]]:
        """(category, title start, title end, body end) token bounds, as medspaCy's Sectionizer makes them.

        Its matcher and header filters find the headers; the sections are built here
        because the Sectionizer also writes ``token._.section`` on every token (a fifth
        of this stage's time) and keeps Section objects that do not serialise.
        """
        sectionizer = self._sectionizer
        matcher = sectionizer._Sectionizer__matcher  # medspaCy keeps its matcher private
        matches = sectionizer.filter_end_lines(doc, sectionizer.filter_start_lines(doc, matcher(doc)))
        headers = [
            (matcher.rule_map[doc.vocab.strings[match_id]].category, start, end) for match_id, start, end in matches
        ]
        sections: list[tuple[str | None, int, int, int]] = []
        if not headers or headers[0][1] != 0:
            sections.append((None, 0, 0, headers[0][1] if headers else len(doc)))
        for index, (category, start, end) in enumerate(headers):
            body_end = headers[index + 1][1] if index + 1 < len(headers) else len(doc)
            sections.append((category, start, end, body_end))
        return sections


def section_at(doc: Doc, char: int) -> str | None:
    """The category of the section containing character ``char``, if any."""
    for category, start, end, _title_end in doc._.section_bounds or ():
        if start <= char < end:
            return category
    return None


@Language.factory("extractor_sections", default_config={"patterns": ""}, assigns=["doc._.section_bounds"])
def make_sections(nlp: Language, name: str, patterns: str) -> SectionTagger:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return SectionTagger(nlp, name, patterns)
