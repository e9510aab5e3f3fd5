"""Token patterns run only on sentences holding their anchor word, and find exactly what a full run finds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from spacy.language import Language
from spacy.tokens import Doc

from extractor.pipeline.concepts import ConceptMatcher, _anchor

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ([{"LOWER": {"IN": ["a", "b", "c"]}}, {"ORTH": "PE"}], ("ORTH", {"PE"})),
        ([{"ORTH": "AF"}, {"LOWER": {"IN": ["with", "w/"]}}, {"LOWER": "rvr"}], ("ORTH", {"AF"})),
        ([{"LOWER": {"IN": ["x", "y"]}, "OP": "*"}, {"LOWER": {"IN": ["p", "q", "r"]}}], ("LOWER", {"p", "q", "r"})),
        ([{"LOWER": "x", "OP": "?"}, {"IS_DIGIT": True}], None),
    ],
)
def test_anchor_is_the_narrowest_required_token(pattern: list[dict], expected: tuple | None) -> None:
    from spacy.attrs import LOWER, ORTH

    anchor = _anchor(tuple(pattern))
    if expected is None:
        assert anchor is None
    else:
        assert anchor == ({"ORTH": ORTH, "LOWER": LOWER}[expected[0]], expected[1])


def _every_sentence(matcher: ConceptMatcher, doc: Doc) -> list:
    return [(sentence, group) for sentence in doc.sents for group in matcher._group_matchers]


def _ents(nlp: Language, text: str) -> list[tuple[int, int, str, str]]:
    doc = nlp(nlp.make_doc(text))
    return [(e.start_char, e.end_char, e.label_, e._.concept) for e in doc.ents]


def test_anchored_run_equals_run_on_every_sentence(nlp: Language, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [json.loads(line)["text"] for line in (ROOT / "corpora/dev/notes.jsonl").read_text().splitlines()]
    texts.append("Paroxysmal AF with RVR. Seropositive RA. PPD negative 2019. On HD since March. PCP pneumonia.")
    anchored = [_ents(nlp, t) for t in texts]
    monkeypatch.setattr(ConceptMatcher, "_anchored_sentences", _every_sentence)
    assert [_ents(nlp, t) for t in texts] == anchored
    found = {concept for ents in anchored for *_, concept in ents}
    assert {"atrial_fibrillation", "rheumatoid_arthritis"} <= found
