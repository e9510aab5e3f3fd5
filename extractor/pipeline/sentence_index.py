"""Sentence bounds by character offset, computed once per Doc and shared by the stages.

``Span.sent`` re-checks the whole Doc's sentence annotation on every call, which makes
per-entity look-ups quadratic on long notes, and iterating ``Doc.sents`` builds a Span
per sentence in Python; four stages need the bounds of every note. The bounds are read
from the token arrays once (``SentenceIndex.of``) and kept in the Doc's user data, like
the note's text (``note_text``); the facts stage removes them, so they are never
serialised. Only the sentence splitter, the first stage, sets sentence starts.
"""

from bisect import bisect_right
from typing import NamedTuple

import numpy
from spacy.attrs import IDX, LENGTH, SENT_START
from spacy.tokens import Doc, Span

from extractor.pipeline.note_text import note_text

KEY = "extractor.sentences"


class SentenceBounds(NamedTuple):
    """A sentence as character offsets, end-exclusive."""

    start_char: int
    end_char: int


class SentenceIndex:
    """The bounds of every sentence of one Doc, in tokens and characters, searchable by offset."""

    def __init__(self, doc: Doc) -> None:
        self.length = len(note_text(doc))
        self.tokens = len(doc)
        if not doc.has_annotation("SENT_START"):
            list(doc.sents)  # spaCy's own error: the sentences were never set
        self.token_starts: list[int] = []
        self.token_ends: list[int] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        if not len(doc):
            return
        table = doc.to_array([SENT_START, IDX, LENGTH]).astype(numpy.int64)
        # a token starts a sentence where SENT_START is 1 (-1 wraps to a large uint64 and is
        # not 1); the first token always does, as in Doc.sents
        token_starts = numpy.union1d(numpy.flatnonzero(table[:, 0] == 1), [0])
        last = numpy.append(token_starts[1:], len(doc)) - 1  # each sentence's last token
        self.token_starts = token_starts.tolist()
        self.token_ends = (last + 1).tolist()
        self.starts = table[token_starts, 1].tolist()
        self.ends = (table[last, 1] + table[last, 2]).tolist()

    @classmethod
    def of(cls, doc: Doc) -> "SentenceIndex":
        """The Doc's index, built on the first call and kept for the later stages.

        It is kept as a tuple of lists, which ``Doc.to_bytes`` can write (a Doc between
        stages still serialises); a kept tuple for another token count is stale.
        """
        kept = doc.user_data.get(KEY)
        if isinstance(kept, tuple) and len(kept) == 6 and kept[1] == len(doc):
            index = cls.__new__(cls)
            index.length, index.tokens, index.starts, index.ends, index.token_starts, index.token_ends = kept
            return index
        index = cls(doc)
        doc.user_data[KEY] = (
            index.length, index.tokens, index.starts, index.ends, index.token_starts, index.token_ends
        )
        return index

    def sent(self, span: Span) -> SentenceBounds:
        """The sentence that contains ``span``'s start."""
        if not self.starts:
            return SentenceBounds(0, self.length)
        index = max(0, bisect_right(self.starts, span.start_char) - 1)
        return SentenceBounds(self.starts[index], self.ends[index])
