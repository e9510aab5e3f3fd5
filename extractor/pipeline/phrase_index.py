"""A case-insensitive phrase matcher over string hashes, built without creating lexemes.

spaCy's PhraseMatcher needs a Doc per phrase, and every new word of those Docs becomes a
lexeme with its attributes computed: for a vocabulary of tens of thousands of terms that
was most of the pipeline's load time. Here a phrase is the tuple of the string hashes of
its lower-cased tokens (``LOWER`` values, computed with ``get_string_id`` without touching
the vocabulary); a note is matched by finding, with a binary search, the tokens that start some
phrase, then walking on token by token while the words so far begin some phrase (a trie
walk over a set of prefixes: a common first word such as "left" stops at the second token
instead of trying every phrase length that starts with it). Every occurrence is returned,
overlapping ones too, as the PhraseMatcher does.
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
        self._firsts_set: set[int] = set()
        self._prefixes: set[tuple[int, ...]] = set()  # every phrase's beginnings of two or more tokens
        self._firsts = np.zeros(0, dtype=np.uint64)
        self._stale = False

    def add(self, key: str, phrases: Iterable[Sequence[str]]) -> None:
        """Add phrases, each given as its tokens, for ``key``."""
        for tokens in phrases:
            if not tokens:
                continue
            hashes = tuple(get_string_id(token.lower()) for token in tokens)
            if key not in self._owners[hashes]:
                self._owners[hashes].append(key)
            self._firsts_set.add(hashes[0])
            self._prefixes.update(hashes[:n] for n in range(2, len(hashes) + 1))
        self._stale = True  # the sorted first tokens are rebuilt at the next match

    def __len__(self) -> int:
        return len(self._owners)

    def __call__(self, lower: np.ndarray) -> list[tuple[str, int, int]]:
        """``(key, start, end)`` of every phrase in a token sequence of ``LOWER`` hashes."""
        if self._stale:
            self._firsts = np.sort(np.fromiter(self._firsts_set, dtype=np.uint64, count=len(self._firsts_set)))
            self._stale = False
        if not len(lower) or not len(self._firsts):
            return []
        values = lower.tolist()
        total = len(values)
        owners_of = self._owners.get
        prefixes = self._prefixes
        found = []
        # the tokens that start some phrase: a binary search in the sorted first tokens (np.isin
        # would sort the tens of thousands of first tokens again for every note)
        places = np.minimum(np.searchsorted(self._firsts, lower), len(self._firsts) - 1)
        for start in np.flatnonzero(self._firsts[places] == lower).tolist():
            owners = owners_of((values[start],))
            if owners:
                found.extend((key, start, start + 1) for key in owners)
            end = start + 2
            while end <= total and (words := tuple(values[start:end])) in prefixes:
                owners = owners_of(words)
                if owners:
                    found.extend((key, start, end) for key in owners)
                end += 1
        return found
