"""Tokenizer: spaCy's English rules, with a cache that stays warm on clinical notes.

spaCy caches the tokens of each whitespace-delimited chunk, but stops caching for the
rest of a Doc once any special case ("Dr.", "a.m.", ":)") has been seen in it (a
safeguard for multi-chunk special cases, spaCy #1250). Nearly every clinical note has
one early, so spaCy re-splits affixes of almost every chunk of every note: about a
third of the pipeline's time. Here each chunk not seen before is first tokenised
alone, where that safeguard does not apply, which puts it in spaCy's cache; the note
is then tokenised as usual. The tokens are exactly spaCy's (the chunk is split by the
same rules either way); only the time changes. The text itself is kept with the Doc
(``note_text``), so no stage has to join it back from the tokens.

"Hepatitis B." keeps "B." as two tokens, so a sentence can end there; a word run on into
a list number ("Valium.2.", "MEDICATIONS:1.") or a heading ("NONE.PHYSICAL") is split from
it (``RUN_ON_INFIXES``); spaCy's emoticons made with a digit (":1", "<3", "0.0") are not kept
whole (``DIGIT_EMOTICONS``), so "HISTORY:1." ends its heading with a colon.

A chunk, or what is left of it once brackets and punctuation are split off, that is
letters only is taken whole (``token_match``) instead of being searched for prefixes,
suffixes and infixes: no English affix rule matches a run of ASCII letters, so the
tokens are the same, and most of a note's words skip three regex searches. A letters-only
special case ("cannot") still splits: spaCy looks special cases up before ``token_match``.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import spacy
from spacy.lang.tokenizer_exceptions import emoticons
from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

from extractor.pipeline.note_text import KEY as TEXT_KEY

# transcribed text run on where a line break was lost: a full stop or colon between a word
# and a list number ("Valium.2.", "MEDICATIONS:1."); a list number run into its item
# ("2)HTN", "4)s/p vitrectomy"); a full stop between a capitalised word, a closing bracket or a year and the
# capitalised heading that follows ("NONE.PHYSICAL EXAMINATION:", "(CVA).HISTORY",
# "1/5/93.MEDS:"). Each is two tokens, so the word and the heading are found.
RUN_ON_INFIXES = (
    r"(?<=[A-Za-z]{2})\.(?=[0-9])",
    r"(?<=[A-Za-z]{2}):(?=[0-9])",
    r"(?<=[0-9])\)(?=[A-Za-z]{2}|[A-Za-z]/[A-Za-z])",
    r"(?<=[A-Z]{2})\.(?=[A-Z]{2})",
    r"(?<=[A-Za-z0-9])[)\]](?=\.[A-Z]{2})",
    r"(?<=[)\]])\.(?=[A-Z]{2})",
    r"(?<=[0-9]{2})\.(?=[A-Z]{2})",
)
# spaCy's emoticons made with a digit are numbers and list items in a note: "HISTORY:1.",
# "<3 cm", "0.0", "8)" (a list item) are not faces
DIGIT_EMOTICONS = frozenset(e for e in emoticons if any(char.isdigit() for char in e))
# a run of ASCII letters: no affix rule of English applies to it (see the module docstring)
LETTERS_ONLY = re.compile(r"[A-Za-z]+\Z")
SEEN_LIMIT = 200_000  # chunks remembered; past this the memory is dropped and rebuilt


class ClinicalTokenizer:
    """Wraps a spaCy ``Tokenizer``: the same tokens, with chunks cached before the note."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self._seen: set[str] = set()

    def __call__(self, text: str) -> Doc:
        new = set(text.split()) - self._seen
        if new:
            if len(self._seen) + len(new) > SEEN_LIMIT:
                self._seen.clear()
            for chunk in new:
                self.tokenizer(chunk)
            self._seen.update(new)
        doc = self.tokenizer(text)
        doc.user_data[TEXT_KEY] = text  # the stages read it from here (note_text)
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        """Docs for ``texts``, in order."""
        for text in texts:
            yield self(text)

    def explain(self, text: str) -> list[tuple[str, str]]:
        """Which rule made each token (spaCy's own debugging aid)."""
        return self.tokenizer.explain(text)

    def __getattr__(self, name: str) -> Any:
        # rules, vocab, prefix_search, ...: the wrapped tokenizer's settings
        if name == "tokenizer":  # not set yet (unpickling)
            raise AttributeError(name)
        return getattr(self.tokenizer, name)

    def to_disk(self, path: Path, **kwargs: Any) -> None:
        """The wrapped tokenizer's settings."""
        self.tokenizer.to_disk(path, **kwargs)

    def from_disk(self, path: Path, **kwargs: Any) -> "ClinicalTokenizer":
        self.tokenizer.from_disk(path, **kwargs)
        self._seen.clear()
        return self

    def to_bytes(self, **kwargs: Any) -> bytes:
        """The wrapped tokenizer's settings."""
        return self.tokenizer.to_bytes(**kwargs)

    def from_bytes(self, data: bytes, **kwargs: Any) -> "ClinicalTokenizer":
        self.tokenizer.from_bytes(data, **kwargs)
        self._seen.clear()
        return self


@spacy.registry.tokenizers("extractor.Tokenizer.v1")
def make_tokenizer() -> Callable[[Language], ClinicalTokenizer]:
    """Registered tokenizer: spaCy's English rules, letter periods split, cache kept warm."""

    def create(nlp: Language) -> ClinicalTokenizer:
        defaults = nlp.Defaults
        if defaults.token_match is not None:
            raise ValueError(f"{nlp.lang}: a language with its own token_match needs its own tokenizer here")
        tokenizer = Tokenizer(
            nlp.vocab,
            rules={
                key: value
                for key, value in defaults.tokenizer_exceptions.items()
                if not (len(key) == 2 and key[0].isalpha() and key[1] == ".") and key not in DIGIT_EMOTICONS
            },
            prefix_search=compile_prefix_regex(defaults.prefixes).search,
            suffix_search=compile_suffix_regex([*defaults.suffixes, r"(?<=^[A-Za-z])\."]).search,
            # transcribed lists run on: "IV Valium.2. IV Benadryl", "MEDICATIONS:1. Lasix"
            infix_finditer=compile_infix_regex([*defaults.infixes, *RUN_ON_INFIXES]).finditer,
            token_match=LETTERS_ONLY.match,
            url_match=defaults.url_match,
        )
        return ClinicalTokenizer(tokenizer)

    return create
