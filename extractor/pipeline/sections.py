"""Sections: medspaCy's Sectionizer with our header rules, and what each section means.

A header counts only at the start of a line and when a colon or the end of the line
follows it, so "Medications were reviewed" is text, not a header, and one-letter SOAP
headers ("A:", "P:") are safe. The section of every concept span is recorded; the
context stage reads it for section-aware defaults (family history → family experiencer,
past medical history → historical, medication list → current medication).
"""

import bisect
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
    found = SectionIndex(doc._.section_bounds).at(char)
    return found[0] if found is not None else None


class SectionIndex:
    """The section holding a character, by bisection: sections are sorted and disjoint, so a
    look-up costs log(sections) and a long note's thousands of look-ups stay linear overall."""

    def __init__(self, bounds: Any) -> None:
        self.bounds: list[Any] = list(bounds or ())
        self.starts = [bound[1] for bound in self.bounds]

    def at(self, char: int) -> Any:
        """``(category, start, end, title_end)`` of the section containing ``char``, or None."""
        index = bisect.bisect_right(self.starts, char) - 1
        while index >= 0:
            _category, start, end, _title_end = self.bounds[index]
            if start < end:  # the one non-empty section that can hold char; empty ones hold nothing
                return self.bounds[index] if char < end else None
            index -= 1
        return None


@Language.factory("extractor_sections", default_config={"rules": ""}, assigns=["doc._.section_bounds"])
def make_sections(nlp: Language, name: str, rules: str) -> SectionTagger:
    """Registered factory; ``rules`` is a path to a sections YAML file, empty for the bundled one."""
    return SectionTagger(nlp, name, rules)
