"""Phrase recognition as data (cases/phrases.yaml): lower-case abbreviations, plurals,
phrases no vocabulary names, and a concept's whole phrase."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from extractor.compiler.lexicon import Lexicon, Term, default_lexicon
from extractor.compiler.phrases import phrase_extent
from extractor.compiler.reader import Reader
from extractor.compiler.rules import eligibility_rules
from extractor.facts import Kind

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "phrases.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader(eligibility_rules(), default_lexicon())


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:40] for c in CASES])
def test_phrase(reader: Reader, case: dict[str, Any]) -> None:
    text = case["text"]
    _, hits, phrases = reader.recognise(text)
    if "concepts" in case:
        assert [[text[h.start:h.end], h.term.concept] for h in hits] == case["concepts"]
    if "unnamed" in case:
        assert [[text[p.start:p.end], p.kind] for p in phrases] == case["unnamed"]
    if "extent" in case:
        start, end = phrase_extent(text, hits[0].start, hits[0].end, reader.rules)
        assert text[start:end] == case["extent"]


def test_ambiguous_and_word_abbreviations_need_their_case() -> None:
    cased = [Term("PSA", "psa", Kind.LAB), Term("PsA", "psoriatic_arthritis", Kind.CONDITION),
             Term("ALL", "all_leukemia", Kind.CONDITION), Term("AML", "aml", Kind.CONDITION)]
    lexicon = Lexicon([], cased, words=["ALL"])
    assert [h.term.concept for h in lexicon.find("aml, all or psa")] == ["aml"]
    assert [h.term.concept for h in lexicon.find("AML, ALL or PsA")] == ["aml", "all_leukemia", "psoriatic_arthritis"]
    assert lexicon.find("Aml") == []  # a text with capitals keeps the written case


def test_unnamed_phrases_name_the_words_of_a_person_only_reason() -> None:
    from extractor.compiler.draft import Drafter

    draft = Drafter().draft("Exclusion Criteria:\n- Intercurrent illness that would limit compliance\n",
                            name="t", title="t", source="t")
    assert "no vocabulary names: Intercurrent illness" in draft.criteria[0].reason


def test_every_abbreviation_word_is_an_abbreviation_of_the_vocabularies() -> None:
    """A stale entry in abbreviation_words would hide nothing and mislead a reader."""
    from extractor.resources import load_vocabularies

    written = {text for vocab in load_vocabularies() for c in vocab.entries for text in c.case_sensitive}
    assert set(eligibility_rules().abbreviation_words) <= written
