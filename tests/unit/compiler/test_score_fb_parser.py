"""``scripts/score_fb_parser.py``: the fixed dev/test split and the span scoring, on lines
written in the annotation file's format (1-based, end-exclusive offsets)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from extractor.compiler.lexicon import default_lexicon
from extractor.compiler.reader import Reader
from extractor.compiler.rules import eligibility_rules

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "score_fb_parser.py"


@pytest.fixture(scope="module")
def scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("score_fb_parser", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["score_fb_parser"] = module
    spec.loader.exec_module(module)
    return module


def test_the_split_is_fixed_by_the_text_and_halves_the_lines(scorer: ModuleType) -> None:
    texts = [f"criterion number {i}" for i in range(2000)]
    splits = [scorer.split_of(t) for t in texts]
    assert splits == [scorer.split_of(t) for t in texts]
    assert 900 < splits.count("dev") < 1100
    assert scorer.split_of("history of copd") == scorer.split_of("history of copd")


def test_spans_are_scored_exactly_and_by_overlap(scorer: ModuleType, tmp_path: Path) -> None:
    lines = [
        "1:17:chronic_disease\tactive infection",          # concept inside: overlap; extent exact
        "1:25:chronic_disease\tintercurrent illness now",  # unnamed: only with --unnamed (gold too long)
        "1:8:treatment\taspirin",                          # exact
    ]
    path = tmp_path / "ner.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reader = Reader(eligibility_rules(), default_lexicon())
    concepts = scorer.score_ner(reader, path, "all")
    assert concepts["chronic_disease"]["gold"] == 2
    assert concepts["chronic_disease"]["r_overlap"] == 0.5
    assert concepts["chronic_disease"]["p"] == 1.0  # "active infection": the whole phrase
    assert concepts["treatment"]["f1"] == 1.0
    both = scorer.score_ner(reader, path, "all", unnamed=True)
    assert both["chronic_disease"]["r_overlap"] == 1.0
    assert both["chronic_disease"]["r"] == 0.5
    halves = [scorer.score_ner(reader, path, split)["treatment"]["gold"] for split in ("dev", "test")]
    assert sum(halves) == 1


@pytest.mark.parametrize(("text", "label"), [
    ("history of hypercholesterolemia (> 240 mg/dL)", "clinical_variable"),  # compared: a measure
    ("bradycardia of less than 50 beats/min", "clinical_variable"),
    ("history of hypercholesterolemia", "chronic_disease"),
    ("hypercholesterolemia treated with statins for > 3 months", "chronic_disease"),  # not what is compared
])
def test_a_condition_a_threshold_compares_is_a_clinical_variable(scorer: ModuleType, text: str, label: str) -> None:
    reader = Reader(eligibility_rules(), default_lexicon())
    spans = scorer.predicted(reader, text)
    named = [lab for start, end, lab in spans if any(w in text[start:end] for w in ("cholesterol", "brady"))]
    assert named == [label]
