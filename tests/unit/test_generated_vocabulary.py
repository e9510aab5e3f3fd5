"""The generated vocabularies are what ``scripts/build_vocabulary.py`` makes from the installed packages."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from support import load_script

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    return load_script("build_vocabulary")


@pytest.fixture(scope="module")
def built() -> dict[Path, str]:
    pytest.importorskip("drug_named_entity_recognition")
    return _script().outputs()


def test_generated_files_are_up_to_date(built: dict[Path, str]) -> None:
    stale = [p.name for p, text in built.items() if p.read_text(encoding="utf-8") != text]
    assert stale == [], "rebuild with: .venv/bin/python scripts/build_vocabulary.py"


def test_generated_files_name_source_and_licence(built: dict[Path, str]) -> None:
    for text in built.values():
        data = json.loads(text)
        assert data["source"] and data["license"] and "GENERATED" in data["description"]


@pytest.mark.parametrize(
    ("term", "kept"),
    [
        ("Dilated cardiomyopathy", "dilated cardiomyopathy"),
        ("Cirrhosis (of liver) NOS", None),  # read through variants(), not as written
        ("Chest pain, unspecified", None),
        ("Other specified disorders of kidney", None),
        ("Malignant neoplasm of right breast", None),
        ("Gout flare", None),
        ("Shock", None),
    ],
)
def test_only_precise_terms_become_match_phrases(term: str, kept: str | None) -> None:
    precise = _script().precise
    assert precise(term) == kept


def test_an_inclusion_term_with_a_parenthesis_is_read_both_ways() -> None:
    assert _script().variants("Cirrhosis (of liver)") == ["Cirrhosis", "Cirrhosis of liver"]


def test_a_generated_phrase_never_holds_a_hand_written_one() -> None:
    script = _script()
    hand = {"angina": "angina", "malignant neoplasm": "malignancy"}
    assert script.contains_hand_phrase("stable angina", hand)
    assert script.contains_hand_phrase("malignant neoplasm of lip", hand)
    assert not script.contains_hand_phrase("dilated cardiomyopathy", hand)
