"""``PhraseIndex`` finds what spaCy's PhraseMatcher on ``LOWER`` finds, without a Doc per phrase."""

from __future__ import annotations

import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.attrs import LOWER
from spacy.language import Language
from spacy.matcher import PhraseMatcher

import extractor
from extractor.pipeline.concepts import phrase_tokens
from extractor.pipeline.phrase_index import PhraseIndex
from extractor.resources import concepts_by_id

PHRASES = {
    "hf": ["heart failure", "congestive heart failure", "CHF"],
    "htn": ["hypertension", "high blood pressure"],
    "bp": ["blood pressure"],
    "cp": ["chest pain"],
}
WORDS = ["heart", "failure", "congestive", "Heart", "CHF", "high", "blood", "pressure", "chest", "pain",
         "hypertension", "no", "and", ",", "."]


def _both(nlp: Language) -> tuple[PhraseIndex, PhraseMatcher]:
    index, matcher = PhraseIndex(), PhraseMatcher(nlp.vocab, attr="LOWER")
    for key, phrases in PHRASES.items():
        index.add(key, [[t.text for t in nlp.make_doc(p)] for p in phrases])
        matcher.add(key, [nlp.make_doc(p) for p in phrases])
    return index, matcher


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=30))
def test_same_matches_as_the_phrase_matcher(words: list[str]) -> None:
    nlp = spacy.blank("en")
    index, matcher = _both(nlp)
    doc = nlp.make_doc(" ".join(words))
    expected = sorted((nlp.vocab.strings[m], s, e) for m, s, e in matcher(doc))
    assert sorted(index(doc.to_array(LOWER))) == expected


def test_overlapping_and_nested_phrases_all_match() -> None:
    nlp = spacy.blank("en")
    index, _ = _both(nlp)
    doc = nlp.make_doc("Congestive heart failure and high blood pressure")
    assert sorted(index(doc.to_array(LOWER))) == [("bp", 5, 7), ("hf", 0, 3), ("hf", 1, 3), ("htn", 4, 7)]


def test_plain_phrases_split_as_the_tokenizer_splits_them() -> None:
    """The shortcut of ``phrase_tokens`` gives the tokenizer's tokens for every vocabulary phrase."""
    nlp = extractor.load(disable=[
        "extractor_sentences", "extractor_sections", "abbreviation_detector", "extractor_concepts",
        "extractor_demographics", "extractor_context", "extractor_time", "extractor_labs",
        "extractor_medications", "extractor_facts",
    ])
    phrases = sorted({p for c in concepts_by_id().values() for p in (c.literal, *c.synonyms)})
    shortcut = phrase_tokens(nlp, phrases)
    assert shortcut == [[t.text for t in nlp.make_doc(p)] for p in phrases]
