"""The learned assertion stage's parts: mention marking, scope doubt, mode decisions, truncation."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
pytest.importorskip("torch")
pytest.importorskip("transformers")

from extractor.payloads import ContextPayload, Cue
from extractor.pipeline.assertion_model import (
    LABELS,
    AssertionModel,
    MentionEncoder,
    MentionInput,
    scope_uncertain,
)

TEXT = "Denies fever, reports rash and cough."


def _item(text: str, mention: str, section: str | None = None) -> MentionInput:
    start = text.index(mention)
    return MentionInput(text, 0, len(text), start, start + len(mention), section)


def _cue(text: str, words: str, category: str) -> Cue:
    start = text.index(words)
    return Cue(category=category, text=words, char_start=start, char_end=start + len(words))


def test_marked_input_names_section_and_brackets_the_mention() -> None:
    item = _item(TEXT, "rash", "family_history")
    marked, start, end = item.marked()
    assert marked == "family history: Denies fever, reports << rash >> and cough."
    assert marked[start:end] == "rash"
    assert item.text == TEXT  # the note is never rewritten


def test_scope_is_uncertain_across_a_comma_not_next_to_the_cue() -> None:
    cue = _cue(TEXT, "Denies", "NEGATED_EXISTENCE")
    far = _item(TEXT, "rash")
    near = _item(TEXT, "fever")
    assert scope_uncertain(far, ContextPayload(cues=(cue,)), "assertion", long_sentence=20)
    assert not scope_uncertain(near, ContextPayload(cues=(cue,)), "assertion", long_sentence=20)
    assert not scope_uncertain(far, ContextPayload(cues=(cue,)), "experiencer", long_sentence=20)


def test_a_long_sentence_makes_every_attribute_uncertain() -> None:
    text = "Seen today " + "and doing well " * 10 + "with rash."
    item = _item(text, "rash")
    assert all(scope_uncertain(item, ContextPayload(), attribute, long_sentence=20) for attribute in LABELS)


def _probs(assertion: str, p: float) -> dict[str, dict[str, float]]:
    probs = {a: {v: (1.0 if v == values[0] else 0.0) for v in values} for a, values in LABELS.items()}
    probs["assertion"] = {v: (p if v == assertion else (1 - p) / 3) for v in LABELS["assertion"]}
    return probs


def _stage(mode: str, threshold: float = 0.5) -> AssertionModel:
    stage = AssertionModel.__new__(AssertionModel)
    stage.mode, stage.threshold, stage.long_sentence = mode, threshold, 20
    return stage


def test_hybrid_takes_the_model_only_for_doubted_attributes_it_is_sure_of() -> None:
    rules = ContextPayload(assertion="absent", temporality="historical", experiencer="patient")
    stage = _stage("hybrid", threshold=0.8)
    sure = stage.decide(rules, _probs("present", 0.9), {"assertion"})
    assert sure.assertion == "present"
    assert sure.temporality == "historical"  # not doubted: the rules' value stays
    assert sure.sources == {"assertion": "model", "temporality": "rules", "experiencer": "rules"}
    unsure = stage.decide(rules, _probs("present", 0.7), {"assertion"})
    assert unsure.assertion == "absent"
    assert unsure.sources["assertion"] == "rules"


def test_model_mode_takes_every_label_from_the_model() -> None:
    rules = ContextPayload(assertion="absent", temporality="historical", experiencer="family")
    decided = _stage("model").decide(rules, _probs("possible", 0.4), set(LABELS))
    assert (decided.assertion, decided.temporality, decided.experiencer) == ("possible", "current", "patient")


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        AssertionModel(None, mode="vote")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def encoder() -> MentionEncoder:
    return MentionEncoder(max_length=32)


def test_long_input_keeps_a_window_around_the_mention(encoder: MentionEncoder) -> None:
    text = "word " * 400 + "no lupus nephritis" + " filler" * 400
    item = _item(text, "lupus nephritis")
    ids, first, last = encoder._window(item)
    assert len(ids) == 32
    assert encoder.tokenizer.decode(ids[first:last]) == "lupus nephritis"
    assert "no < < lupus nephritis > > filler" in encoder.tokenizer.decode(ids)


def test_encoding_is_deterministic_and_one_row_per_mention(encoder: MentionEncoder) -> None:
    items = [_item(TEXT, "rash"), _item(TEXT, "fever"), _item("x", "x")]
    first = encoder.encode(items, batch_size=2)
    second = encoder.encode(items, batch_size=3)
    assert first.shape == (3, encoder.dim)
    assert (first - second).abs().max().item() < 1e-5
    assert encoder.encode([]).shape == (0, encoder.dim)
