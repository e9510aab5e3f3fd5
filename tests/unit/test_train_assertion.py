"""What the assertion-model training reads: never an MTSamples TEST note (scripts/train_assertion.py)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from support import load_script

REPO = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((REPO / "corpora" / "mtsamples" / "manifest.yaml").read_text(encoding="utf-8"))


def _load_script():
    return load_script("train_assertion")


def test_the_rule_labelled_sample_skips_every_gold_note(tmp_path: Path) -> None:
    gold = sorted(entry["source_file"] for entry in MANIFEST["notes"])
    others = ["A other.txt", "B other.txt", "Z other.txt"]
    for name in [*gold, *others]:
        (tmp_path / name).write_text("text", encoding="utf-8")
    chosen = [path.name for path in _load_script().rule_labelled_notes(tmp_path, 200)]
    assert chosen == others
    assert [path.name for path in _load_script().rule_labelled_notes(tmp_path, 2)] == others[:2]


def test_the_committed_head_was_trained_on_the_dev_split_gold() -> None:
    summary = json.loads((REPO / "models" / "assertion" / "training.json").read_text(encoding="utf-8"))
    dev_notes = {entry["note_id"] for entry in MANIFEST["notes"] if entry["split"] == "dev"}
    notes_dir = REPO / "corpora" / "mtsamples" / "notes"
    dev_mentions = sum(
        1
        for note_id in dev_notes
        for line in (notes_dir / f"{note_id}.ann").read_text(encoding="utf-8").splitlines()
        if line.startswith("T")
    )
    assert summary["examples"]["mtsamples_dev_gold"] == dev_mentions
