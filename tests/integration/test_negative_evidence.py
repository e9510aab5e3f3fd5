"""A not_met resting on a statement cites it; only pure silence cites nothing.

Each case drafts a one-criterion exclusion with ``trial draft`` (similarity off) and
screens a one-note patient: the denial must be the cited evidence, exact offsets.
"""

from __future__ import annotations

import datetime as dt

import pytest
from spacy.language import Language

from extractor.compiler.draft import Drafter
from extractor.notes import Note
from extractor.screening import screen
from extractor.screening.language import load_trial_file
from extractor.screening.outcome import Status

CASES = [
    # (criterion, note text, the words the not_met must cite)
    # the denial is cited with its clause (corpora/dev/GUIDELINES.md section 6: "the clause")
    ("History of seizures", "No history of seizures. Doing well.", "No history of seizures"),
    ("HIV infection", "HIV nonreactive on screening labs.", "HIV nonreactive on screening labs"),
    ("Myocardial infarction within 6 months", "Denies myocardial infarction.", "Denies myocardial infarction"),
    ("Active tuberculosis", "Tuberculosis was ruled out.", "Tuberculosis was ruled out"),
]


@pytest.fixture(scope="module")
def drafter() -> Drafter:
    return Drafter()


def _screen(nlp: Language, drafter: Drafter, tmp_path, criterion: str, text: str):  # type: ignore[no-untyped-def]
    draft = drafter.draft(f"Exclusion Criteria:\n  - {criterion}\n", name="neg", title="neg", source="test")
    path = tmp_path / "neg.yaml"
    path.write_text(draft.to_yaml(), encoding="utf-8")
    note = Note(patient_id="P1", note_id="N1", date=dt.date(2025, 3, 1), text=text)
    (verdict,) = screen([note], load_trial_file(path), nlp=nlp)
    return verdict.criteria[0], note


@pytest.mark.parametrize(("criterion", "text", "cited"), CASES, ids=[c[0] for c in CASES])
def test_not_met_cites_the_denial(  # type: ignore[no-untyped-def]
    nlp: Language, drafter: Drafter, tmp_path, criterion: str, text: str, cited: str
) -> None:
    result, note = _screen(nlp, drafter, tmp_path, criterion, text)
    assert result.status is Status.NOT_MET
    assert [e.text for e in result.evidence] == [cited]
    for evidence in result.evidence:
        assert note.text[evidence.char_start:evidence.char_end] == evidence.text


def test_pure_silence_cites_nothing(nlp: Language, drafter: Drafter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result, _ = _screen(nlp, drafter, tmp_path, "History of seizures", "Seen for a sore knee. Ibuprofen as needed.")
    assert result.status is Status.NOT_MET
    assert result.evidence == ()
    assert "nothing relevant" in result.reason
