"""Sentence bounds by character offset, computed once per Doc.

``Span.sent`` re-checks the whole Doc's sentence annotation on every call, which makes
per-entity look-ups quadratic on long notes; stages look sentences up here instead.
"""

from bisect import bisect_right
from typing import NamedTuple

from spacy.tokens import Doc, Span

from extractor.pipeline.note_text import note_text


class SentenceBounds(NamedTuple):
    """A sentence as character offsets, end-exclusive."""

    start_char: int
    end_char: int


class SentenceIndex:
    """The character bounds of every sentence of one Doc, searchable by offset."""

    def __init__(self, doc: Doc) -> None:
        self.length = len(note_text(doc))
        self.starts: list[int] = []
        self.ends: list[int] = []
        for sent in doc.sents:
            self.starts.append(sent.start_char)
            self.ends.append(sent.end_char)

    def sent(self, span: Span) -> SentenceBounds:
        """The sentence that contains ``span``'s start."""
        if not self.starts:
            return SentenceBounds(0, self.length)
        index = max(0, bisect_right(self.starts, span.start_char) - 1)
        return SentenceBounds(self.starts[index], self.ends[index])
