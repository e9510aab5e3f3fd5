"""Concepts: every vocabulary term of ``patterns/`` found in the note, as ``doc.ents``.

Terms match case-insensitively as whole token sequences (``PhraseIndex``: the
``LOWER`` hashes of their tokens, looked up without building a Doc per term); short
abbreviations that are also English words match only in the case the vocabulary gives
(``ORTH``); token patterns cover the rest. Overlaps resolve to
the longest match, so "lupus nephritis" wins over "lupus". Token patterns run only
on the sentences that hold their anchor (of each pattern's required tokens, the one
that accepts the fewest words): spaCy's Matcher evaluates every ``IN`` predicate on
every token, which was most of this stage's time. An abbreviation the note
defines ("mycophenolate mofetil (MMF)", found by scispaCy's Schwartz & Hearst
detector) takes the concept of its long form everywhere in the note.

Phrases of plain words (letters, hyphens between letters, digits and single spaces, no
word the tokenizer treats as a special case) are split on their spaces and hyphens: the
tokenizer would split them the same way, and the vocabulary holds tens of thousands of
them (a test checks the two ways agree on every phrase); the others go through the
tokenizer.

medspaCy's TargetMatcher is not used here: it adds entities one at a time
(quadratic in matches) and stores rule objects that do not serialise. The same
vocabulary is exported as medspaCy TargetRules for the benchmark's baseline.
"""

import bisect
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from spacy.attrs import LOWER, ORTH, SENT_START
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from extractor.extensions import register_extensions
from extractor.pipeline.concept_filters import ConceptFilters
from extractor.pipeline.note_text import note_text
from extractor.pipeline.phrase_index import PhraseIndex
from extractor.pipeline.rule_files import RuleFileComponent, rules_directory
from extractor.resources import CONCEPT_FILES, Concept, concepts_by_id, load_vocabularies

_RESULT_KINDS = {"LAB", "SCORE", "VITAL"}
NEGATED_NAME = "negated_by_name"  # ``span._.detail`` key: the name itself says absent ("afebrile")
_NEGATED_KEY = "!"  # a phrase-index key ``concept_id + "!"``: one of the concept's negated names


class ConceptMatcher(RuleFileComponent):
    """Marks vocabulary concepts as entities labelled by kind, with ``span._.concept`` set."""

    rule_files = (*CONCEPT_FILES, "concept_filters.yaml")

    def __init__(self, nlp: Language, name: str = "extractor_concepts", patterns: str = "") -> None:
        register_extensions()
        self.name = name
        self.nlp = nlp
        self.load_rules(rules_directory(patterns))

    def load_rules(self, directory: Path) -> None:
        nlp = self.nlp
        self.rules_dir = directory
        self.concepts: dict[str, Concept] = concepts_by_id(directory)
        self._lower = PhraseIndex()
        self._exact = PhraseMatcher(nlp.vocab, attr="ORTH")
        # token patterns grouped by their anchor (a word every match holds): a sentence runs only
        # the groups whose anchor it holds, not every pattern on every sentence with any anchor
        self._token_groups: dict[tuple[int, frozenset[str]], Matcher] = {}
        self._unanchored = Matcher(nlp.vocab)
        self._long_forms: dict[str, str] = {}
        self.negated_names: dict[str, str] = {}  # lower-cased negated name -> concept id
        for vocab in load_vocabularies(directory):
            for concept in vocab.entries:
                self._add(nlp, concept)
        # per attribute: the sorted anchor words and, for each, the groups it anchors
        groups = list(self._token_groups.values())
        self._anchor_groups: dict[int, dict[int, list[int]]] = {ORTH: {}, LOWER: {}}
        for index, (attr, words) in enumerate(self._token_groups):
            for word in words:
                self._anchor_groups[attr].setdefault(nlp.vocab.strings.add(word), []).append(index)
        self._anchor_ids = {
            attr: np.sort(np.fromiter(ids, dtype=np.uint64, count=len(ids)))
            for attr, ids in self._anchor_groups.items()
            if ids
        }
        self._group_matchers = groups
        self._filters = ConceptFilters(self.concepts, directory / "concept_filters.yaml")
        self._kinds = {c.kind.value.upper() for c in self.concepts.values()}

    @property
    def labels(self) -> tuple[str, ...]:
        """The entity labels this stage assigns (its concepts' kinds); spaCy copies them into meta.json."""
        return tuple(sorted({concept.kind.value.upper() for concept in self.concepts.values()}))

    def _add(self, nlp: Language, concept: Concept) -> None:
        phrases = {concept.literal, *concept.synonyms} - set(concept.case_sensitive)
        if phrases:
            self._lower.add(concept.id, phrase_tokens(nlp, sorted(phrases)))
        if concept.negated_synonyms:
            self._lower.add(concept.id + _NEGATED_KEY, phrase_tokens(nlp, sorted(concept.negated_synonyms)))
            for name in concept.negated_synonyms:
                self.negated_names[name.lower()] = concept.id
        if concept.case_sensitive:
            self._exact.add(concept.id, list(nlp.tokenizer.pipe(sorted(concept.case_sensitive))))
        for pattern in concept.pattern:
            anchor = _anchor(pattern)
            if anchor is None:
                self._unanchored.add(concept.id, [list(pattern)])
                continue
            attr, words = anchor
            group = self._token_groups.setdefault((attr, frozenset(words)), Matcher(nlp.vocab))
            group.add(concept.id, [list(pattern)])
        for phrase in phrases:
            self._long_forms[phrase.lower()] = concept.id

    def __call__(self, doc: Doc) -> Doc:
        spans: list[Span] = [
            self._span(doc, start, end, concept_id) for concept_id, start, end in self._lower(doc.to_array(LOWER))
        ]
        for matcher in (self._exact, self._unanchored):
            if not len(matcher):
                continue  # an empty Matcher warns on every call
            for match_id, start, end in matcher(doc):
                spans.append(self._span(doc, start, end, doc.vocab.strings[match_id]))
        for sentence, matcher in self._anchored_sentences(doc):
            for match_id, start, end in matcher(sentence):
                concept_id = doc.vocab.strings[match_id]
                spans.append(self._span(doc, sentence.start + start, sentence.start + end, concept_id))
        spans.extend(self._abbreviation_spans(doc))
        # a heading only names a topic, except a test's name heading its own result ("ECG: NSR")
        starts, reach = _title_index(doc)
        spans = [s for s in spans if s.label_ in _RESULT_KINDS or not _in_title(s, starts, reach)]
        kept = filter_spans([*doc.ents, *spans])
        text = note_text(doc)
        doc.ents = [s for s in kept if s.label_ not in self._kinds or self._filters.keeps(text, s)]
        return doc

    def _anchored_sentences(self, doc: Doc) -> list[tuple[Span, Matcher]]:
        """Each sentence holding a group's anchor word, with that group's patterns."""
        if not len(doc) or not self._anchor_ids:
            return []
        table = doc.to_array([ORTH, LOWER, SENT_START])
        pairs: set[tuple[int, int]] = set()  # (token, group)
        for column, attr in enumerate((ORTH, LOWER)):
            ids = self._anchor_ids.get(attr)
            if ids is None:
                continue
            values = table[:, column]
            places = np.minimum(np.searchsorted(ids, values), len(ids) - 1)
            for token in np.flatnonzero(ids[places] == values).tolist():
                pairs.update((token, group) for group in self._anchor_groups[attr][int(values[token])])
        if not pairs:
            return []
        starts = np.flatnonzero(table[:, 2].astype(np.int64) == 1)
        if not len(starts) or starts[0] != 0:
            starts = np.concatenate(([0], starts))
        bounds = np.append(starts, len(doc)).tolist()
        chosen = sorted({(group, int(np.searchsorted(starts, token, side="right")) - 1) for token, group in pairs})
        return [(doc[bounds[i] : bounds[i + 1]], self._group_matchers[group]) for group, i in chosen]

    def _span(self, doc: Doc, start: int, end: int, concept_id: str) -> Span:
        negated = concept_id.endswith(_NEGATED_KEY)
        if negated:
            concept_id = concept_id[: -len(_NEGATED_KEY)]
        concept = self.concepts[concept_id]
        span = Span(doc, start, end, label=concept.kind.value.upper())
        span._.concept = concept_id
        if negated:
            span._.detail = {NEGATED_NAME: True}
        return span

    def _abbreviation_spans(self, doc: Doc) -> list[Span]:
        """Short forms the note defines, labelled with their long form's concept."""
        if not Doc.has_extension("abbreviations"):
            return []
        spans = []
        for short in doc._.abbreviations or ():
            long_form = short._.long_form
            concept_id = self._long_forms.get(long_form.text.lower()) if long_form else None
            if concept_id is not None:
                spans.append(self._span(doc, short.start, short.end, concept_id))
        return spans


# words the tokenizer leaves whole (letters, or digits), or splits only at their hyphens
_PLAIN = re.compile(r"(?:[A-Za-z]+(?:-[A-Za-z]+)*|[0-9]+)(?: (?:[A-Za-z]+(?:-[A-Za-z]+)*|[0-9]+))*")


def phrase_tokens(nlp: Language, phrases: Iterable[str]) -> list[list[str]]:
    """The tokens of vocabulary phrases, as a note's text would be tokenised."""
    tokenizer = getattr(nlp.tokenizer, "tokenizer", nlp.tokenizer)  # ClinicalTokenizer wraps spaCy's
    special = getattr(tokenizer, "rules", None) or {}
    tokens = []
    for phrase in phrases:
        words = phrase.split(" ")
        if _PLAIN.fullmatch(phrase) and not any(w in special or w.lower() in special for w in words):
            tokens.append([part for word in words for part in _hyphen_split(word)])
        else:
            tokens.append([t.text for t in tokenizer(phrase)])
    return tokens


def _hyphen_split(word: str) -> list[str]:
    """spaCy's infix rule: a hyphen between letters is a token of its own."""
    if "-" not in word:
        return [word]
    parts = word.split("-")
    return [piece for part in parts[:-1] for piece in (part, "-")] + [parts[-1]]


def _anchor(pattern: tuple[dict[str, Any], ...]) -> tuple[int, set[str]] | None:
    """The required token of a pattern with the fewest possible words, as (attribute, words)."""
    best: tuple[int, set[str]] | None = None
    for token in pattern:
        if token.get("OP", "1") not in ("1", "+"):
            continue
        for name, attr in (("ORTH", ORTH), ("LOWER", LOWER)):
            words = _words(token.get(name))
            if words and set(token) <= {name, "OP"} and (best is None or len(words) < len(best[1])):
                best = (attr, words)
    return best


def _words(value: Any) -> set[str]:
    """The words a token attribute accepts: a literal or an ``IN`` list, nothing else."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict) and set(value) == {"IN"}:
        return set(value["IN"])
    return set()


@Language.factory("extractor_concepts", default_config={"patterns": ""}, assigns=["doc.ents", "span._.concept"])
def make_concepts(nlp: Language, name: str, patterns: str) -> ConceptMatcher:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return ConceptMatcher(nlp, name, patterns)


def _title_index(doc: Doc) -> tuple[list[int], list[int]]:
    """Section titles as sorted starts and, for each, the furthest title end up to it."""
    titles = sorted((start, title_end) for _c, start, _e, title_end in doc._.section_bounds or ())
    starts, reach, furthest = [], [], -1
    for start, end in titles:
        furthest = max(furthest, end)
        starts.append(start)
        reach.append(furthest)
    return starts, reach


def _in_title(span: Span, starts: list[int], reach: list[int]) -> bool:
    """Whether ``span`` lies inside a section title (by bisection: linear in a long note)."""
    index = bisect.bisect_right(starts, span.start_char) - 1
    return index >= 0 and reach[index] >= span.end_char
