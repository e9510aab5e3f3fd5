"""Sentence boundaries that survive clinical text, at a fraction of PyRuSH's cost.

Clinical notes break sentences with layout as often as with punctuation: bulleted and
numbered lists, lab-table rows, headers run into text ("mother.The child") and
line-wrapped dictation where a newline is not a boundary. The rules are regular
expressions over the raw text (``patterns/sentences.yaml``), one linear pass each;
boundaries are then mapped to token starts. The text is never modified.
"""

import re
from pathlib import Path
from typing import Literal

import numpy
from pydantic import Field
from spacy.attrs import IDX, IS_SPACE, SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from extractor.pipeline.note_text import note_text
from extractor.pipeline.rule_files import RuleFileComponent, rules_directory
from extractor.pipeline.sentence_index import KEY as SENTENCES_KEY
from extractor.resources import Header, load_model

_LIST_NUMBER = re.compile(r"[ \t]*\d{1,3}")


class SentenceRules(Header):
    """``patterns/sentences.yaml``: where sentences end, as data."""

    schema_: Literal["sentences/v1"] = Field(alias="schema")
    abbreviations: tuple[str, ...]
    boundary_after: tuple[str, ...]
    boundary_before: tuple[str, ...]
    no_boundary_before: tuple[str, ...]


class SentenceSplitter(RuleFileComponent):
    """Marks ``token.is_sent_start`` on every token from rules over the raw text."""

    rule_files = ("sentences.yaml",)

    def __init__(self, nlp: Language, name: str = "extractor_sentences", patterns: str = "") -> None:
        self.name = name
        self.load_rules(rules_directory(patterns))

    def load_rules(self, directory: Path) -> None:
        rules = load_model(SentenceRules, directory / "sentences.yaml")
        self.rules_dir = directory
        abbrev = "|".join(re.escape(a) for a in sorted(rules.abbreviations, key=len, reverse=True))
        self._abbrev = re.compile(rf"(?i)(?:^|(?<=[\s(]))(?:{abbrev})$")
        self._after = [re.compile(p) for p in rules.boundary_after]
        self._before = [re.compile(p) for p in rules.boundary_before]
        self._veto = [re.compile(p) for p in rules.no_boundary_before]

    def boundaries(self, text: str) -> list[int]:
        """Character offsets at which a new sentence starts, sorted, excluding 0."""
        starts: set[int] = set()
        for regex in self._after:
            for match in regex.finditer(text):
                end = match.end()
                if match.group(0).rstrip().endswith(".") and (
                    self._is_abbreviation(text, match) or self._is_list_number(text, match)
                ):
                    continue
                starts.add(end)
        for regex in self._before:
            for match in regex.finditer(text):
                starts.add(match.start())
        vetoed: set[int] = set()
        for regex in self._veto:
            for match in regex.finditer(text):
                vetoed.add(match.start())
        return sorted(s for s in starts if 0 < s < len(text) and s not in vetoed)

    def _is_abbreviation(self, text: str, match: re.Match[str]) -> bool:
        """True when the period that ends ``match`` closes a known abbreviation ("Dr.", "b.i.d.")."""
        period = match.group(0).rstrip()
        stop = match.start() + len(period)
        window = text[max(0, stop - 12) : stop]
        return bool(self._abbrev.search(window))

    @staticmethod
    def _is_list_number(text: str, match: re.Match[str]) -> bool:
        """True for the period of a list number at the start of a line ("2. HCQ 200 mg")."""
        line_start = text.rfind("\n", 0, match.start()) + 1
        return _LIST_NUMBER.fullmatch(text, line_start, match.start()) is not None

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) == 0:
            return doc
        starts = numpy.asarray(sorted(self.boundaries(note_text(doc))), dtype=numpy.int64)
        table = doc.to_array([IDX, IS_SPACE]).astype(numpy.int64)
        n_tokens = len(doc)
        # for each token, the first token at or after it that is not whitespace (n_tokens if none)
        real = numpy.where(table[:, 1] == 1, n_tokens, numpy.arange(n_tokens))
        next_real = numpy.append(numpy.minimum.accumulate(real[::-1])[::-1], n_tokens)
        # a boundary falls on the first token at or after its character, moved past whitespace
        chosen = numpy.maximum.accumulate(next_real[numpy.searchsorted(table[:, 0], starts, side="left")])
        # spaCy reads SENT_START as uint64: -1 (not a start) must wrap, not be an int32
        flags = numpy.full((n_tokens, 1), -1, dtype="int64").astype("uint64")
        flags[0, 0] = 1
        flags[chosen[chosen < n_tokens], 0] = 1
        # one array write: setting token.is_sent_start one by one is quadratic in spaCy
        doc.from_array([SENT_START], flags)
        doc.user_data.pop(SENTENCES_KEY, None)  # bounds read before these starts are stale
        return doc



@Language.factory(
    "extractor_sentences",
    default_config={"patterns": ""},
    assigns=["token.is_sent_start"],
)
def make_sentences(nlp: Language, name: str, patterns: str) -> SentenceSplitter:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return SentenceSplitter(nlp, name, patterns)
