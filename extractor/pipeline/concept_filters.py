"""Concept filters: vocabulary words that, by their neighbours, do not name their concept.

Rules are data (``patterns/concept_filters.yaml``): for some concepts (or medication
classes), the words right before or after a mention that show it names another thing
("vitamin B12 level" is a lab, "ischemia of the bowel" is not myocardial), and line
openings whose lines are not clinical text (a dictation's trailing "Keywords:" line, the
"Sample Name:" / "Description:" headings a transcription sample opens with).
Checks read only the mention's own line, so they cost a few string comparisons each.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from spacy.tokens import Span

from extractor.resources import Concept, Header, load_model, patterns_dir


class ConceptFilter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    concepts: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    followed_by: tuple[str, ...] = ()
    preceded_by: tuple[str, ...] = ()
    # the word alone on its line in capitals is a report's panel heading ("PREGNANCY" above
    # the hCG rows of a lab report), not the thing itself
    not_as_heading: bool = False


class ConceptFiltersFile(Header):
    schema_: Literal["concept-filters/v1"] = Field(alias="schema")
    skip_lines_starting: tuple[str, ...] = ()  # compared ignoring case
    skip_lines_starting_cased: tuple[str, ...] = ()  # compared as written: "Description:", not "DESCRIPTION:"
    filters: tuple[ConceptFilter, ...] = ()


def _words(phrases: tuple[str, ...]) -> str:
    return "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))


class ConceptFilters:
    """Decides whether a matched span really names its concept."""

    def __init__(self, concepts: dict[str, Concept], path: Path | None = None) -> None:
        spec: ConceptFiltersFile = load_model(ConceptFiltersFile, path or patterns_dir() / "concept_filters.yaml")
        self._skip = tuple(p.lower() for p in spec.skip_lines_starting)
        self._skip_cased = spec.skip_lines_starting_cased
        # how much of a line to read: the longest opening, plus a little indentation
        self._reach = max((len(p) for p in (*self._skip, *self._skip_cased)), default=0) + 4
        self._after: dict[str, re.Pattern[str]] = {}
        self._before: dict[str, re.Pattern[str]] = {}
        self._headings: set[str] = set()
        for rule in spec.filters:
            ids = set(rule.concepts) | {
                c.id for c in concepts.values() if set(rule.classes) & set(c.attrs.get("classes", ()))
            }
            for concept in ids:
                if rule.not_as_heading:
                    self._headings.add(concept)
                if rule.followed_by:
                    self._after[concept] = re.compile(rf"[ \t]*(?:{_words(rule.followed_by)})(?![\w])", re.I)
                if rule.preceded_by:
                    before = _words(rule.preceded_by)
                    self._before[concept] = re.compile(rf"(?<![\w-])(?:{before})[ \t]*$", re.I)

    def keeps(self, text: str, span: Span) -> bool:
        """False when the span's neighbours or its line show it is not its concept."""
        concept = span._.concept or ""
        line_start = text.rfind("\n", 0, span.start_char) + 1
        if self._reach > 4:
            opening = text[line_start : line_start + self._reach].lstrip()
            if opening.lower().startswith(self._skip) or opening.startswith(self._skip_cased):
                return False
        if concept in self._headings and _is_heading(text, line_start, span):
            return False
        after = self._after.get(concept)
        if after is not None and after.match(text, span.end_char):
            return False
        before = self._before.get(concept)
        return before is None or before.search(text, max(line_start, span.start_char - 30), span.start_char) is None


def _is_heading(text: str, line_start: int, span: Span) -> bool:
    """The span is its line's only words (an optional colon after), written in capitals."""
    line_end = text.find("\n", span.end_char)
    line = text[line_start : line_end if line_end >= 0 else len(text)].strip().rstrip(":").strip()
    return line == span.text and span.text.isupper()
