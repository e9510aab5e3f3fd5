"""The warm-cache tokenizer gives spaCy's tokens exactly, and the note text travels with the Doc."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.language import Language
from spacy.tokenizer import Tokenizer

from extractor.pipeline.note_text import KEY, note_text
from extractor.pipeline.tokenizer import ClinicalTokenizer

PIECES = st.sampled_from([
    "Dr.", "a.m.", "p.m.", "Mr.", "e.g.", ":)", "hepatitis B.", "don't", "s/p", "1:320", "10mg", "x2", "(MMF)",
    "U.S.", "vs.", "\n", "  ", "\t", "\r\n", "\xa0", "mother.The", "Hgb 9.6", "http://x.org", "—", "é", ";",
    "Valium.2.", "MEDICATIONS:1.", "q.6h", "10:30", "cannot", "(cannot)", "gonna,", "Im", "dont.", "ain't",
    "y'all", "'s", "CD19's", "Hb.", "(SLE)", "it's", "nonfemale", "mg/dL", "NONE.PHYSICAL", "2)HTN",
    "(CVA).HISTORY", "it).PMH:", "1/5/93.MEDS:", "U.S.A.", "H.PYLORI", "4)s/p", "2)h/o",
])


WRAPPED_WORD = r"[(\[\"']?[A-Za-z]{1,8}['.,:;)\]\"]{0,2}"  # a word in brackets, quotes or punctuation


def _plain(nlp: Language) -> Tokenizer:
    """spaCy's own tokenizer with exactly our rules, cache behaviour untouched, and without our
    letters-only ``token_match`` shortcut (English has none), so the shortcut is tested too."""
    ours = nlp.tokenizer.tokenizer
    return Tokenizer(
        nlp.vocab,
        rules=ours.rules,
        prefix_search=ours.prefix_search,
        suffix_search=ours.suffix_search,
        infix_finditer=ours.infix_finditer,
        token_match=None,
        url_match=ours.url_match,
    )


def _tokens(doc: spacy.tokens.Doc) -> list[tuple[str, int, bool]]:
    return [(t.text, t.idx, bool(t.whitespace_)) for t in doc]


@pytest.fixture(scope="module")
def plain(nlp: Language) -> Tokenizer:
    return _plain(nlp)


def test_pipeline_uses_the_clinical_tokenizer(nlp: Language) -> None:
    assert isinstance(nlp.tokenizer, ClinicalTokenizer)
    assert [t.text for t in nlp.make_doc("HBV, hepatitis B. Next")] == ["HBV", ",", "hepatitis", "B", ".", "Next"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(PIECES, st.text(max_size=10)), max_size=30).map(" ".join))
def test_same_tokens_as_spacy(nlp: Language, plain: Tokenizer, text: str) -> None:
    # twice: the second call reads every chunk from the warmed cache
    for _ in range(2):
        assert _tokens(nlp.make_doc(text)) == _tokens(plain(text))


def test_same_tokens_on_a_whole_chart(nlp: Language, plain: Tokenizer) -> None:
    root = Path(__file__).resolve().parents[2] / "corpora" / "dev" / "notes.jsonl"
    texts = [json.loads(line)["text"] for line in root.read_text(encoding="utf-8").splitlines()]
    for text in texts:
        assert _tokens(nlp.make_doc(text)) == _tokens(plain(text))


def test_note_text_is_the_input_and_is_not_serialised(nlp: Language) -> None:
    text = "Dx: SLE.\r\nNo h/o TB.  Hgb 9.6\n"
    doc = nlp.make_doc(text)
    assert doc.user_data[KEY] == text == note_text(doc)
    done = nlp(doc)
    assert KEY not in done.user_data


def test_note_text_recomputed_when_missing(nlp: Language) -> None:
    doc = nlp.tokenizer.tokenizer("lupus nephritis class IV")  # spaCy's own: no text attached
    assert KEY not in doc.user_data
    assert note_text(doc) == "lupus nephritis class IV"


def test_tokenizer_round_trips_through_disk(nlp: Language, tmp_path: Path) -> None:
    nlp.tokenizer.to_disk(tmp_path / "tokenizer")
    other = ClinicalTokenizer(_plain(nlp)).from_disk(tmp_path / "tokenizer")
    text = "Hepatitis B. Dr. Smith saw her at 9 a.m."
    assert _tokens(other(text)) == _tokens(nlp.make_doc(text))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(PIECES, st.from_regex(WRAPPED_WORD, fullmatch=True)), max_size=20).map(" ".join))
def test_letters_only_shortcut_changes_no_token(nlp: Language, plain: Tokenizer, text: str) -> None:
    # words with brackets and punctuation around them: the shortcut applies once they are split off
    assert _tokens(nlp.make_doc(text)) == _tokens(plain(text))


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("IV Valium.2. IV Benadryl.", ["IV", "Valium", ".", "2", ".", "IV", "Benadryl", "."]),
        ("Lasix.3. Coumadin", ["Lasix", ".", "3", ".", "Coumadin"]),
        ("MEDICATIONS:1. Lasix", ["MEDICATIONS", ":", "1", ".", "Lasix"]),  # ":1" is no emoticon here
        ("size <3 cm; 0.0 mg", ["size", "<", "3", "cm", ";", "0.0", "mg"]),
        ("q.6h at 10:30, 3.5 mg", ["q.6h", "at", "10:30", ",", "3.5", "mg"]),
    ],
)
def test_a_word_run_on_into_a_list_number_is_split(nlp: Language, text: str, tokens: list[str]) -> None:
    assert [t.text for t in nlp.make_doc(text)] == tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("NONE.PHYSICAL EXAMINATION:", ["NONE", ".", "PHYSICAL", "EXAMINATION", ":"]),
        ("(CVA).HISTORY", ["(", "CVA", ")", ".", "HISTORY"]),
        ("it).PMH: 1)DM type 2", ["it", ")", ".", "PMH", ":", "1", ")", "DM", "type", "2"]),
        ("on 1/5/93.MEDS: none", ["on", "1/5/93", ".", "MEDS", ":", "none"]),
        # initials and a one-letter piece are not headings
        ("U.S.A. H.PYLORI 2)a", ["U.S.A.", "H.PYLORI", "2)a"]),
    ],
)
def test_a_heading_run_on_after_a_full_stop_is_split(nlp: Language, text: str, tokens: list[str]) -> None:
    assert [t.text for t in nlp.make_doc(text)] == tokens


def test_drugs_of_a_run_on_list_are_found(nlp: Language) -> None:
    doc = nlp(nlp.make_doc("MEDICATIONS:1. IV Valium.2. IV Benadryl."))
    assert {e._.concept for e in doc.ents if e.label_ == "MEDICATION"} == {"diazepam", "diphenhydramine"}
