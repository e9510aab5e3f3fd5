"""A case-insensitive phrase matcher over string hashes, built without creating lexemes.

spaCy's PhraseMatcher needs a Doc per phrase, and every new word of those Docs becomes a
lexeme with its attributes computed: for a vocabulary of tens of thousands of terms that
was most of the pipeline's load time. Here a phrase is the tuple of the string hashes of
its lower-cased tokens (``LOWER`` values, computed with ``get_string_id`` without touching
the vocabulary); a note is matched by finding, with a binary search, the tokens that start some
phrase and looking up only the phrase lengths that start with them. Every occurrence is
returned, overlapping ones too, as the PhraseMatcher does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from spacy.strings import get_string_id


class PhraseIndex:
    """Token sequences (lower case) mapped to the ids of the concepts they name."""

    def __init__(self) -> None:
        self._owners: dict[tuple[int, ...], list[str]] = defaultdict(list)
        self._lengths: dict[int, set[int]] = defaultdict(set)
        self._firsts = np.zeros(0, dtype=np.uint64)
        self._sorted_lengths: dict[int, tuple[int, ...]] = {}

    def add(self, key: str, phrases: Iterable[Sequence[str]]) -> None:
        """Add phrases, each given as its tokens, for ``key``."""
        for tokens in phrases:
            if not tokens:
                continue
            hashes = tuple(get_string_id(token.lower()) for token in tokens)
            if key not in self._owners[hashes]:
                self._owners[hashes].append(key)
            self._lengths[hashes[0]].add(len(hashes))
        self._sorted_lengths = {}  # rebuilt, with the first tokens, at the next match

    def __len__(self) -> int:
        return len(self._owners)

    def __call__(self, lower: np.ndarray) -> list[tuple[str, int, int]]:
        """``(key, start, end)`` of every phrase in a token sequence of ``LOWER`` hashes."""
        if not self._sorted_lengths and self._lengths:
            self._sorted_lengths = {first: tuple(sorted(n)) for first, n in self._lengths.items()}
            self._firsts = np.sort(np.fromiter(self._lengths, dtype=np.uint64, count=len(self._lengths)))
        if not len(lower) or not len(self._firsts):
            return []
        values = lower.tolist()
        total = len(values)
        found = []
        # the tokens that start some phrase: a binary search in the sorted first tokens (np.isin
        # would sort the tens of thousands of first tokens again for every note)
        places = np.minimum(np.searchsorted(self._firsts, lower), len(self._firsts) - 1)
        for start in np.flatnonzero(self._firsts[places] == lower).tolist():
            for length in self._sorted_lengths[values[start]]:
                if start + length > total:
                    break
                owners = self._owners.get(tuple(values[start : start + length]))
                if owners:
                    found.extend((key, start, start + length) for key in owners)
        return found
