"""The learned assertion stage in the pipeline: offline load, stable labels, edge inputs, save/load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # the hub is off: the encoder must come from its wheel
os.environ["TRANSFORMERS_OFFLINE"] = "1"
pytest.importorskip("torch")
pytest.importorskip("transformers")

import spacy
from spacy.language import Language

import extractor

TEXTS = (
    "No fever, chills, night sweats, weight loss or lupus nephritis.",
    "Mother had breast cancer; the patient has SLE and takes prednisone 10 mg daily.",
)


def labels(nlp: Language, text: str) -> list[tuple[int, int, str, str, str]]:
    doc = nlp(extractor.make_doc(nlp, text))
    return [
        (e.start_char, e.end_char, e._.context.assertion, e._.context.temporality, e._.context.experiencer)
        for e in doc.ents
    ]


@pytest.fixture(scope="module")
def hybrid() -> Language:
    return extractor.load(assertion="hybrid")


@pytest.fixture(scope="module")
def model() -> Language:
    return extractor.load(assertion="model")


def test_modes_place_the_stage_after_the_rules(hybrid: Language) -> None:
    names = hybrid.pipe_names
    assert names.index("extractor_assertion_model") == names.index("extractor_context") + 1
    assert "extractor_assertion_model" not in extractor.load().pipe_names  # rules: the default
    with pytest.raises(ValueError, match="assertion"):
        extractor.load(assertion="vote")


def test_model_mode_labels_every_mention_and_says_so(model: Language) -> None:
    doc = model(extractor.make_doc(model, TEXTS[1]))
    assert doc.ents
    for ent in doc.ents:
        assert set(ent._.context.sources.values()) == {"model"}


def test_reruns_give_the_same_labels(model: Language, hybrid: Language) -> None:
    for nlp in (model, hybrid):
        for text in TEXTS:
            assert labels(nlp, text) == labels(nlp, text)


def test_empty_text_and_a_very_long_sentence(model: Language) -> None:
    assert model(extractor.make_doc(model, ""))._.facts == []
    text = "Patient seen " + "and doing well, " * 600 + "no history of lupus nephritis."
    facts = extractor.extract_text(text, nlp=model)
    assert [f.concept for f in facts] == ["lupus_nephritis"]
    evidence = facts[0].evidence
    assert text[evidence.char_start : evidence.char_end] == evidence.text == "lupus nephritis"


def test_assert_mention_uses_the_stage(model: Language) -> None:
    text = TEXTS[1]
    start = text.index("breast cancer")
    end = start + len("breast cancer")
    result = extractor.assert_mention(text, start, end, nlp=model)
    in_pipeline = {(s, e): (a, x) for s, e, a, _t, x in labels(model, text)}
    assert (result["assertion"], result["experiencer"]) == in_pipeline[(start, end)]


def test_round_trip_through_to_disk_and_spacy_load(hybrid: Language, tmp_path: Path) -> None:
    hybrid.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "extractor_assertion_model" / "head.safetensors").is_file()
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == hybrid.pipe_names
    for text in TEXTS:
        assert labels(loaded, text) == labels(hybrid, text)
