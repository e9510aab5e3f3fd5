"""Whole notes against golden fact files: any change in what a chart yields shows up here.

Regenerate after an intended change with ``.venv/bin/python scripts/update_golden.py`` and
read the diff before committing it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from spacy.language import Language

import extractor
from extractor.notes import read_notes

ROOT = Path(__file__).resolve().parent.parent.parent
GOLDEN = ROOT / "tests" / "golden"
CHARTS = [ROOT / "corpora" / "sample" / "notes.jsonl", *sorted(GOLDEN.glob("*.notes.jsonl"))]


def golden_path(chart: Path) -> Path:
    """Where the expected facts of ``chart`` are kept."""
    name = "sample" if chart.parent.name == "sample" else chart.name.replace(".notes.jsonl", "")
    return GOLDEN / f"{name}.facts.json"


def facts_of(path: Path, nlp: Language) -> list[dict]:
    """Every fact of every note of a chart, as the golden file stores them."""
    return [
        fact.to_json_dict()
        for _note, facts in extractor.extract_notes(read_notes(path), nlp)
        for fact in facts
    ]


@pytest.mark.parametrize("chart", CHARTS, ids=[golden_path(c).name.split(".")[0] for c in CHARTS])
def test_chart_matches_golden(nlp: Language, chart: Path) -> None:
    expected = json.loads(golden_path(chart).read_text(encoding="utf-8"))
    actual = json.loads(json.dumps(facts_of(chart, nlp)))
    assert actual == expected


def test_golden_charts_exist() -> None:
    assert len(CHARTS) >= 2
