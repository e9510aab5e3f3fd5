"""The MTSamples gold's split and its derived assertion TSV (scripts/mtsamples_gold.py)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml
from support import load_script

from extractor.evaluation.errors import GoldError
from extractor.evaluation.gold import read_gold_dir, read_split

REPO = Path(__file__).resolve().parents[3]


def _load_script():
    return load_script("mtsamples_gold")


NOTES = {
    "MT-aaaa": (
        "dev",
        "HISTORY:  No chest pain.Mother had breast cancer.\nPLAN: Return if fever.",
        [("Condition", "chest pain", {"Assertion": "absent"}, "chest_pain"),
         ("Condition", "breast cancer", {"Experiencer": "family"}, "breast_cancer"),
         ("Condition", "fever", {"Assertion": "hypothetical"}, "fever")],
    ),
    "MT-bbbb": ("test", "S/p appendectomy in 2001.", [("Procedure", "appendectomy", {"Temporality": "historical"},
                                                          "appendectomy")]),
}


@pytest.fixture
def gold_dir(tmp_path: Path) -> Path:
    (tmp_path / "notes").mkdir()
    rows = []
    for note_id, (split, text, entities) in NOTES.items():
        (tmp_path / "notes" / f"{note_id}.txt").write_text(text, encoding="utf-8")
        lines = []
        for i, (kind, mention, attrs, concept) in enumerate(entities, start=1):
            start = text.index(mention)
            lines.append(f"T{i}\t{kind} {start} {start + len(mention)}\t{mention}")
            lines.extend(f"A{i}{name}\t{name} T{i} {value}" for name, value in attrs.items())
            lines.append(f"#{i}\tAnnotatorNotes T{i}\tconcept={concept}")
        (tmp_path / "notes" / f"{note_id}.ann").write_text("\n".join(lines) + "\n", encoding="utf-8")
        rows.append({"note_id": note_id, "source_file": f"{note_id}.txt", "split": split,
                     "sha256": hashlib.sha256(text.encode()).hexdigest()})
    manifest = {"schema": "mtsamples-manifest/v1", "name": "t", "description": "t", "source": "t",
                "license": "CC0-1.0", "notes": rows}
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    return tmp_path


def test_split_keeps_only_its_notes(gold_dir: Path) -> None:
    assert read_split(gold_dir, "dev") == {"MT-aaaa"}
    notes = read_gold_dir(gold_dir, read_split(gold_dir, "test"))
    assert [note.note_id for note in notes] == ["MT-bbbb"]


def test_split_without_manifest_is_a_numbered_error(tmp_path: Path) -> None:
    with pytest.raises(GoldError, match=r"\[E324\]"):
        read_split(tmp_path, "dev")


def test_tsv_rows_carry_the_kit_labels_and_their_sentence(gold_dir: Path) -> None:
    rows = [row.split("\t") for row in _load_script().tsv_rows("dev", gold_dir)]
    assert rows == [
        ["1", "chest pain", "HISTORY: No chest pain.", "Negated", "Recent", "Patient"],
        ["2", "breast cancer", "Mother had breast cancer.", "Affirmed", "Recent", "Family member"],
        ["3", "fever", "PLAN: Return if fever.", "Affirmed", "Hypothetical", "Patient"],
    ]
    test_rows = [row.split("\t") for row in _load_script().tsv_rows("test", gold_dir)]
    assert test_rows == [["1", "appendectomy", "S/p appendectomy in 2001.", "Affirmed", "Historical", "Patient"]]


def test_the_bundled_manifest_matches_the_bundled_texts() -> None:
    root = REPO / "corpora" / "mtsamples"
    manifest = yaml.safe_load((root / "manifest.yaml").read_text(encoding="utf-8"))
    assert len(manifest["notes"]) == 80
    assert sum(entry["split"] == "dev" for entry in manifest["notes"]) == 40
    for entry in manifest["notes"]:
        text = (root / "notes" / f"{entry['note_id']}.txt").read_bytes()
        assert hashlib.sha256(text).hexdigest() == entry["sha256"]


def test_the_bundled_gold_checks_clean() -> None:
    assert _load_script().check() == []


def _bundled_entities() -> list:
    root = REPO / "corpora" / "mtsamples"
    return [entity for note in read_gold_dir(root, {p.stem for p in (root / "notes").glob("*.ann")})
            for entity in note.entities]


# (pattern the span matches, concept it must not carry): corpora/mtsamples/ANNOTATION.md, "Decisions"
RECONCILED = [
    (r"(?i)otitis media", "upper_respiratory_infection"),
    (r"(?i)pharyngitis", "upper_respiratory_infection"),
    (r"(?i)bronchiolitis", "bronchitis"),
    (r"(?i)cholecyst|appendectomy|splenectomy|laparo", "intra_abdominal_surgery"),
    (r"(?i)meningioma|mesothelioma|nasopharyngeal|basal cell", "malignancy"),
    (r"(?i)augmentin|clavulan", "amoxicillin"),
]


@pytest.mark.parametrize(("pattern", "concept"), RECONCILED, ids=[c for _, c in RECONCILED])
def test_the_reconciled_gold_names_the_concept_written(pattern: str, concept: str) -> None:
    spans = [e for e in _bundled_entities() if re.search(pattern, e.text)]
    assert spans, f"no span matches {pattern!r}: the decision has nothing to guard"
    assert [e.text for e in spans if e.concept == concept] == []


def test_retired_ids_are_gone() -> None:
    retired = {"recurrent_infection", "smoking", "clavulanate", "contraception", "skin_cancer"}
    assert {e.concept for e in _bundled_entities()} & retired == set()


def test_ranges_carry_both_ends() -> None:
    ranged = [e for e in _bundled_entities() if "value_high" in e.values]
    assert len(ranged) >= 6
    assert all(e.values["value"] < e.values["value_high"] for e in ranged)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_committed_tsv_is_derived_from_the_current_gold(split: str) -> None:
    committed = (REPO / "corpora" / "assertion" / f"mtsamples_{split}.tsv").read_text(encoding="utf-8")
    derived = "\n".join([_load_script().HEADER, *_load_script().tsv_rows(split)]) + "\n"
    assert committed == derived, f"rerun: scripts/mtsamples_gold.py tsv --split {split} -o ..."
    assert len(committed.splitlines()) > 500
