"""Concept lookup for the trial compiler: phrases of eligibility text → vocabulary concepts.

Behind one small interface (``Lexicon``) so the compiler does not care where concepts come
from: the vocabularies of ``patterns/`` (``extractor.resources.load_vocabularies``) and the
drug classes of ``extractor.vocabulary`` (``drug_classes.yaml``, with their names).
Exact and synonym matches come first (whole tokens, case-insensitive, hyphens and a
final plural "s" ignored either way; ``case_sensitive`` abbreviations in their written case, or in
any case in a text written without capitals, unless they spell a word);
``similar`` ranks the vocabulary's terms by cosine similarity of MiniLM sentence
embeddings (``extractor.compiler.similarity``) for phrasings no synonym covers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from extractor.facts import Kind
from extractor.resources import Concept, load_vocabularies

_TOKEN = re.compile(r"[^\W_]+|[^\w\s]", re.UNICODE)
_MAX_TERM_TOKENS = 10


@dataclass(frozen=True)
class Token:
    """One token of a phrase with its character offsets in that phrase."""

    text: str
    start: int
    end: int

    @property
    def key(self) -> str:
        return self.text.lower()


def tokenize(text: str) -> list[Token]:
    """Words and single punctuation marks, with offsets."""
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉⁰¹²³⁴⁵⁶⁷⁸⁹", "01234567890123456789")


def _keys(tokens: Sequence[Token], exact_case: bool = False) -> tuple[str, ...]:
    """A term's matching key: tokens without hyphens and slashes, sub- and superscript
    digits as digits (SpO₂ = SpO2)."""
    return tuple((t.text if exact_case else t.key).translate(_DIGITS) for t in tokens if t.text not in "-‐–/")


@dataclass(frozen=True)
class Term:
    """A way of writing a concept: its literal, a synonym, or a class's name."""

    text: str
    concept: str  # a concept id, or a class name when ``is_class``
    kind: Kind
    is_class: bool = False
    literal: bool = False


@dataclass(frozen=True)
class Hit:
    """A concept found in a phrase: where, which term, how, how sure."""

    start: int
    end: int
    term: Term
    match: str  # exact | synonym | similar
    confidence: float


class Lexicon:
    """Terms of the vocabularies, looked up by token sequence."""

    def __init__(
        self, terms: Iterable[Term], case_sensitive: Iterable[Term] = (), words: Iterable[str] = ()
    ) -> None:
        """``words``: abbreviations that are also words or units ("ALL", "Mg"), never matched
        in a text written without capitals."""
        self.terms = tuple(terms)
        self._by_key: dict[tuple[str, ...], Term] = {}
        for term in sorted(self.terms, key=lambda t: (not t.literal, t.is_class)):
            self._by_key.setdefault(_keys(tokenize(term.text)), term)
        self._by_case: dict[tuple[str, ...], Term] = {}
        self._uncased: dict[tuple[str, ...], Term] = {}
        spelled = {_keys(tokenize(word)) for word in words}
        senses: dict[tuple[str, ...], set[str]] = {}
        for term in case_sensitive:
            self._by_case.setdefault(_keys(tokenize(term.text), exact_case=True), term)
            key = _keys(tokenize(term.text))
            if key not in spelled and len("".join(key)) >= 2:
                self._uncased.setdefault(key, term)
                senses.setdefault(key, set()).add(term.concept)
        for key, concepts in senses.items():
            if len(concepts) > 1:  # "psa": PSA or PsA? Only the written case can tell
                del self._uncased[key]
        self.kinds = {t.concept: t.kind for t in self.terms}
        self.words = frozenset(t.key for term in self.terms for t in tokenize(term.text) if t.text.isalpha())

    @classmethod
    def from_vocabularies(cls, words: Iterable[str] = ()) -> Lexicon:
        """Every concept of ``patterns/``: literal, synonyms, abbreviations, class names
        (``words``: see ``__init__``)."""
        terms: list[Term] = []
        cased: list[Term] = []
        classes: dict[str, Kind] = {}
        for vocab in load_vocabularies():
            for concept in vocab.entries:
                terms.extend(_concept_terms(concept))
                cased.extend(Term(text, concept.id, concept.kind) for text in concept.case_sensitive)
                for name in concept.attrs.get("classes", ()) if isinstance(concept.attrs.get("classes"), list) else ():
                    classes.setdefault(name, concept.kind)
        from extractor.vocabulary import vocabulary  # drug classes with their written names

        for name, written in vocabulary().class_names.items():
            classes.setdefault(name, Kind.MEDICATION)
            terms += [Term(written, name, classes[name], is_class=True)]
        for name, kind in classes.items():
            spoken = name.replace("_", " ")
            terms += [Term(spoken, name, kind, is_class=True), Term(spoken + "s", name, kind, is_class=True)]
        return cls(terms, cased, words)

    def find(self, text: str) -> list[Hit]:
        """Exact and synonym matches, longest first, not overlapping, in text order. A text
        with no capital letter (some registries and corpora lower-case everything) also
        matches the abbreviations that spell no word in lower case ("copd", "aml")."""
        tokens = tokenize(text)
        uncased = not any(c.isupper() for c in text)
        hits: list[Hit] = []
        index = 0
        while index < len(tokens):
            hit = self._longest(text, tokens, index, uncased)
            if hit is None:
                index += 1
                continue
            hits.append(hit[0])
            index = hit[1]
        return hits

    def _longest(self, text: str, tokens: list[Token], index: int, uncased: bool) -> tuple[Hit, int] | None:
        if tokens[index].text in "-‐–/":
            return None
        for stop in range(min(len(tokens), index + _MAX_TERM_TOKENS), index, -1):
            window = tokens[index:stop]
            if window[-1].text in "-‐–/,;.()":
                continue
            term = self._by_case.get(_keys(window, exact_case=True)) or self._lookup(_keys(window))
            if term is None and uncased:
                term = self._uncased.get(_keys(window))
            if term is not None:
                match = "exact" if term.literal else "synonym"
                return Hit(window[0].start, window[-1].end, term, match, 1.0), stop
        return None

    def _lookup(self, key: tuple[str, ...]) -> Term | None:
        if not key:
            return None
        term = self._by_key.get(key)
        if term is None and key[-1].endswith("s") and len(key[-1]) > 3:
            term = self._by_key.get((*key[:-1], key[-1][:-1]))
        if term is None and key[-1].endswith("es") and len(key[-1]) > 4:
            term = self._by_key.get((*key[:-1], key[-1][:-2]))
        if term is None and len(key) > 1 and len(key[-1]) > 3 and not key[-1].endswith("s"):
            term = self._by_key.get((*key[:-1], key[-1] + "s"))  # a vocabulary that names the plural
        return term


def _concept_terms(concept: Concept) -> list[Term]:
    class_only = bool(concept.attrs.get("class_only"))
    classes = concept.attrs.get("classes") or []
    # a class-only entry ("antimalarials") stands for its class: trials name the class
    target = classes[0] if class_only and classes else concept.id
    terms = [Term(concept.literal, target, concept.kind, is_class=class_only and bool(classes), literal=True)]
    terms += [Term(text, target, concept.kind, is_class=class_only and bool(classes)) for text in concept.synonyms]
    return terms


@functools.cache
def default_lexicon() -> Lexicon:
    """The lexicon of the installed vocabularies, built once."""
    from extractor.compiler.rules import eligibility_rules

    return Lexicon.from_vocabularies(eligibility_rules().abbreviation_words)
