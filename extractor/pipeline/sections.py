"""Sections: header rules matched with medspaCy's matcher, and what each section means.

A header counts only at the start of a line and when a colon or the end of the line
follows it, so "Medications were reviewed" is text, not a header, and one-letter SOAP
headers ("A:", "P:") are safe. Transcribed notes often lose the line break before a
heading ("...tired of taking it).PMH: 1)DM type 2 ... No DM in relatives.SHX: Married"):
a header also counts inside a line when it follows the full stop that ends a sentence, is
written in capitals and a colon follows it (``inline_header``). The section of every concept span is recorded; the
context stage reads it for section-aware defaults (family history → family experiencer,
past medical history → historical, medication list → current medication).
"""

import bisect
import re
from pathlib import Path
from typing import Any, Literal

from medspacy.common.medspacy_matcher import MedspacyMatcher
from medspacy.section_detection import SectionRule
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


NEWLINE = re.compile(r"[\n\r]+[\s]*$")  # medspaCy's: a token whose trailing text ends its line


def starts_line(doc: Doc, token: int) -> bool:
    """Whether token ``token`` opens a line (medspaCy's ``is_start_line``)."""
    return token == 0 or NEWLINE.search(doc[token - 1].text_with_ws) is not None


def ends_header(doc: Doc, end: int) -> bool:
    """Whether a header ending before token ``end`` is followed by a colon, a dash or the line's end."""
    if end >= len(doc):
        return True
    following = doc[end]
    return following.text in {":", "-"} or (following.is_space and "\n" in following.text)


def inline_header(doc: Doc, start: int, end: int) -> bool:
    """Whether a header inside a line was a heading whose line break was lost: it follows a
    full stop, is written in capitals (two letters or more) and a colon follows it."""
    if start == 0 or end >= len(doc) or doc[start - 1].text != "." or doc[end].text != ":":
        return False
    title = doc[start:end].text
    return title.isupper() and sum(char.isalpha() for char in title) >= 2


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
        self._matcher = MedspacyMatcher(self.nlp, name=f"{self.name}_headers", phrase_matcher_attr="LOWER")
        self._matcher.add(
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

        medspaCy's public ``MedspacyMatcher`` finds the header phrases (longest of
        overlapping matches); a header counts at the start of a line and before a colon,
        a dash or the line's end, or inside a line as ``inline_header`` says. The
        Sectionizer itself is not used: it also writes ``token._.section`` on every token
        (a fifth of this stage's time) and keeps Section objects that do not serialise.
        """
        rule_map = self._matcher.rule_map
        headers = [
            (rule_map[doc.vocab.strings[match_id]].category, start, end)
            for match_id, start, end in self._matcher(doc)
            if (starts_line(doc, start) and ends_header(doc, end)) or inline_header(doc, start, end)
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


@Language.factory("extractor_sections", default_config={"patterns": ""}, assigns=["doc._.section_bounds"])
def make_sections(nlp: Language, name: str, patterns: str) -> SectionTagger:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return SectionTagger(nlp, name, patterns)
