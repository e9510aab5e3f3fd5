"""The parenthesis pairs the abbreviation detector reads are exactly a token Matcher's."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.language import Language
from spacy.matcher import Matcher

from extractor.pipeline.abbreviations import MAX_INSIDE, ParenthesisPairs

TOKENS = st.lists(st.sampled_from(["(", ")", "SLE", "lupus", "x", "(", ")", "of"]), max_size=40).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(TOKENS)
def test_pairs_equal_the_matchers_in_its_order(nlp: Language, text: str) -> None:
    matcher = Matcher(nlp.vocab)
    matcher.add("parenthesis", [[{"ORTH": "("}, {"OP": f"{{1,{MAX_INSIDE}}}"}, {"ORTH": ")"}]])
    doc = nlp.make_doc(text)
    assert ParenthesisPairs(nlp.vocab.strings)(doc) == matcher(doc)


def test_nested_and_long_parentheticals(nlp: Language) -> None:
    doc = nlp.make_doc("a (b (c) d) e ( 1 2 3 4 5 6 7 8 9 ) f")
    pairs = [(start, end) for _, start, end in ParenthesisPairs(nlp.vocab.strings)(doc)]
    assert pairs == [(3, 6), (1, 6), (3, 8), (1, 8)]  # nine tokens inside: too long to be a definition


def test_the_detector_finds_a_definition_and_its_later_uses(nlp: Language) -> None:
    doc = nlp.get_pipe("extractor_abbreviations")(
        nlp.make_doc("Known to have chronic inflammatory demyelinating polyneuropathy (CIDP). CIDP is stable.")
    )
    found = sorted((short.start_char, short.text, str(short._.long_form)) for short in doc._.abbreviations)
    long_form = "chronic inflammatory demyelinating polyneuropathy"
    assert found == [(65, "CIDP", long_form), (72, "CIDP", long_form)]
