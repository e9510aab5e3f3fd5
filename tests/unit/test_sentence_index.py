"""The shared sentence index: the same bounds as ``Doc.sents``, kept once per Doc, never stale."""

from __future__ import annotations

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc

from extractor.pipeline.sentence_index import KEY, SentenceIndex

TEXTS = [
    "",
    "   ",
    "No fever.",
    "Meds:\n1. prednisone 10 mg\n2. HCQ 200 mg p.o. daily\n\n",
    "ROS:\n- no fever\n- no rash   \nPlan: as above.  ",
]


@pytest.fixture(scope="module")
def splitter_nlp() -> spacy.language.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("extractor_sentences")
    return nlp


def _from_spacy(doc: Doc) -> tuple[list[int], list[int], list[int], list[int]]:
    sents = list(doc.sents)
    return (
        [s.start for s in sents],
        [s.end for s in sents],
        [s.start_char for s in sents],
        [s.end_char for s in sents],
    )


@pytest.mark.parametrize("text", TEXTS)
def test_bounds_are_spacys(splitter_nlp: spacy.language.Language, text: str) -> None:
    doc = splitter_nlp(text)
    index = SentenceIndex.of(doc)
    assert (index.token_starts, index.token_ends, index.starts, index.ends) == _from_spacy(doc)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([*"ab .:\n-1(", "Dr.", "mg", "\n\n"]), max_size=40).map("".join))
def test_bounds_are_spacys_on_any_text(splitter_nlp: spacy.language.Language, text: str) -> None:
    doc = splitter_nlp(text)
    index = SentenceIndex.of(doc)
    assert (index.token_starts, index.token_ends, index.starts, index.ends) == _from_spacy(doc)


def test_kept_once_and_reused(splitter_nlp: spacy.language.Language) -> None:
    doc = splitter_nlp("No fever. No rash.")
    first = SentenceIndex.of(doc)
    kept = doc.user_data[KEY]
    second = SentenceIndex.of(doc)
    assert doc.user_data[KEY] is kept  # not built again
    assert second.starts == first.starts == [0, 10]


def test_the_splitter_drops_bounds_read_before_it(splitter_nlp: spacy.language.Language) -> None:
    """Bounds kept from an earlier split (a stale entry) are never served after a new one."""
    doc = splitter_nlp.make_doc("No fever. No rash.")
    doc.user_data[KEY] = (18, len(doc), [0], [18], [0], [len(doc)])  # one sentence, as if unsplit
    splitter_nlp.get_pipe("extractor_sentences")(doc)
    assert SentenceIndex.of(doc).starts == [0, 10]


def test_a_doc_holding_the_index_still_serialises(splitter_nlp: spacy.language.Language) -> None:
    doc = splitter_nlp("No fever. No rash.")
    SentenceIndex.of(doc)
    again = Doc(splitter_nlp.vocab).from_bytes(doc.to_bytes())
    assert SentenceIndex.of(again).starts == [0, 10]


def test_unset_sentences_raise_spacys_error() -> None:
    doc = spacy.blank("en")("No fever. No rash.")
    with pytest.raises(ValueError, match="E030"):
        SentenceIndex.of(doc)
