"""Charted statements that name no concept ("NKDA"): found as whole words, offsets exact."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from extractor.notes import Note
from extractor.screening.statements import find_statements, known_statements, statement_matchers

CASES = [
    ("Allergies: NKDA\nMeds: none", ["NKDA"]),
    ("allergies: nkda.", ["nkda"]),
    ("No known drug allergies.", ["No known drug allergies"]),
    ("Allergies:  none known", ["Allergies:  none known"]),
    ("NKA", ["NKA"]),
    ("nka", []),  # the short abbreviation only in the case written
    ("NKDAX score", []),  # not inside a longer word
    ("Allergies: penicillin (hives)", []),
    ("No known drug allergies. Later: NKDA", ["No known drug allergies", "NKDA"]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_no_known_drug_allergy_is_found_as_written(text: str, expected: list[str]) -> None:
    note = Note(note_id="N1", patient_id="P1", text=text, date=dt.date(2025, 3, 1))
    found = list(find_statements("no_known_drug_allergy", [note]))
    assert [text[f.char_start : f.char_end] for f in found] == expected


def test_statement_ids_come_from_the_bundled_file() -> None:
    assert "no_known_drug_allergy" in known_statements()


def test_a_statements_file_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "statements.yaml"
    path.write_text(
        "schema: statements/v1\nname: s\ndescription: d\nversion: 1\nsource: s\nlicense: l\n"
        "entries:\n  - {id: x, description: d, literals: [x], colour: red}\n",
        encoding="utf-8",
    )
    with pytest.raises(Exception, match="colour"):
        statement_matchers(path)


KIDNEY_CASES = [
    ("kidneys_uninvolved", "A/P: SLE, LN quiescent, continue HCQ", ["LN quiescent"]),
    ("kidneys_uninvolved", "Lupus nephritis quiescent since 2019.", ["Lupus nephritis quiescent"]),
    ("kidneys_uninvolved", "LN active, UPCR 2.1", []),
    ("no_induction_expected",
     "I don't anticipate any need for high-dose steroids, CYC or a change in MMF",
     ["don't anticipate any need for"]),
    ("no_induction_expected", "Nephrology: no need for re-induction.", ["no need for re-induction"]),
    ("no_induction_expected", "If class IV she will need induction.", []),
]


@pytest.mark.parametrize(("statement", "text", "expected"), KIDNEY_CASES)
def test_a_quiescent_kidney_and_no_induction_expected_are_found(
    statement: str, text: str, expected: list[str]
) -> None:
    # what exc-severe-nephritis's not_met rests on (GUIDELINES section 6: "nephritis in
    # remission with nephrology expecting no induction -> not_met")
    note = Note(note_id="N1", patient_id="P1", text=text, date=dt.date(2025, 3, 1))
    found = list(find_statements(statement, [note]))
    assert [text[f.char_start : f.char_end] for f in found] == expected
