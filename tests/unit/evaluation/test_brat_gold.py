"""Reading brat gold strictly: every fault names file and line, never the note text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from extractor.evaluation.brat import PartialDate, parse_ann
from extractor.evaluation.errors import GoldError
from extractor.evaluation.gold import read_gold_dir
from extractor.facts import Kind

TEXT = "Hgb 9.6 g/dL today. No lupus nephritis.\r\nMother with breast cancer."
GOOD_ANN = "\n".join(
    [
        "T1\tLab 0 3\tHgb",
        "T2\tCondition 23 38\tlupus nephritis",
        "T3\tCondition 53 66\tbreast cancer",
        "A1\tAssertion T2 absent",
        "A2\tExperiencer T3 family",
        "#1\tAnnotatorNotes T1\tconcept=hemoglobin; value=9.6; unit=g/dL; "
        "canonical_value=96; canonical_unit=g/L; date=2025-02-14",
        "#2\tAnnotatorNotes T2\tconcept=lupus_nephritis",
        "#3\tAnnotatorNotes T3\tconcept=breast_cancer",
        "",
    ]
)


def test_parses_entities_attributes_and_typed_values() -> None:
    entities = parse_ann(GOOD_ANN, TEXT, "n1.ann")
    assert [(e.ref, e.kind, e.start, e.end, e.concept) for e in entities] == [
        ("T1", Kind.LAB, 0, 3, "hemoglobin"),
        ("T2", Kind.CONDITION, 23, 38, "lupus_nephritis"),
        ("T3", Kind.CONDITION, 53, 66, "breast_cancer"),
    ]
    hgb, nephritis, cancer = entities
    assert hgb.values == {
        "concept": "hemoglobin",
        "value": 9.6,
        "unit": "g/dL",
        "canonical_value": 96.0,
        "canonical_unit": "g/L",
        "date": PartialDate("2025-02-14", dt.date(2025, 2, 14), dt.date(2025, 2, 14)),
    }
    assert nephritis.attributes == {"Assertion": "absent"}
    assert cancer.attributes == {"Experiencer": "family"}


@pytest.mark.parametrize(
    ("written", "start", "end"),
    [
        ("2021-10", dt.date(2021, 10, 1), dt.date(2021, 10, 31)),
        ("2024-12", dt.date(2024, 12, 1), dt.date(2024, 12, 31)),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2019", dt.date(2019, 1, 1), dt.date(2019, 12, 31)),
    ],
)
def test_dates_may_be_as_coarse_as_the_chart(written: str, start: dt.date, end: dt.date) -> None:
    ann = GOOD_ANN.replace("date=2025-02-14", f"date={written}")
    date = parse_ann(ann, TEXT)[0].values["date"]
    assert (str(date), date.start, date.end) == (written, start, end)


def _with(line: str) -> str:
    """GOOD_ANN with one more line (the faulty one) at the end: line 9."""
    return GOOD_ANN + line + "\n"


@pytest.mark.parametrize(
    ("ann", "message"),
    [
        pytest.param(_with("T4\tDisease 0 3\tHgb"), "line 9: unknown entity type 'Disease'", id="type"),
        pytest.param(_with("T4\tLab 0 4\tHgb9"), "line 9: the span text", id="text-differs"),
        pytest.param(_with("T4\tLab 0 99\tHgb"), "line 9: span 0:99 is outside", id="outside"),
        pytest.param(_with("T4\tLab 0 3;5 7\tHgb 9."), "discontinuous", id="discontinuous"),
        pytest.param(_with("A3\tNegated T1"), "line 9: cannot read", id="binary-attribute"),
        pytest.param(_with("A3\tCertainty T1 low"), "unknown attribute 'Certainty'", id="attr"),
        pytest.param(_with("A3\tAssertion T1 negated"), "value 'negated' is not one of", id="value"),
        pytest.param(_with("A3\tAssertion T9 absent"), "line 9: T9 is not a T entity", id="dangling"),
        pytest.param(_with("A3\tAssertion T2 possible"), "T2 has attribute Assertion twice", id="twice"),
        pytest.param(_with("A1\tExperiencer T1 other"), "line 9: id A1 is used twice", id="dup-id"),
        pytest.param(
            _with("#4\tAnnotatorNotes T1\tconcept=x"),
            "T1 has AnnotatorNotes twice",
            id="notes-twice",
        ),
        pytest.param(_with("R1\tCauses Arg1:T1 Arg2:T2"), "only T, A and # lines", id="relation"),
        pytest.param(
            GOOD_ANN.replace("canonical_value=96", "canonical_value=ninety"),
            "line 6: canonical_value='ninety' is not a number",
            id="number",
        ),
        pytest.param(GOOD_ANN.replace("date=2025-02-14", "date=2025-13"), "an ISO date", id="month"),
        pytest.param(
            GOOD_ANN.replace("date=2025-02-14", "date=14/02/2025"),
            "an ISO date",
            id="date",
        ),
        pytest.param(
            GOOD_ANN.replace("unit=g/dL", "units=g/dL"),
            "unknown AnnotatorNotes key 'units'",
            id="key",
        ),
        pytest.param(
            GOOD_ANN.replace("#3\tAnnotatorNotes T3\tconcept=breast_cancer\n", ""),
            "line 3: entity T3 has no concept=",
            id="no-concept",
        ),
    ],
)
def test_faults_name_the_file_and_line(ann: str, message: str) -> None:
    with pytest.raises(GoldError, match=r"n1\.ann") as info:
        parse_ann(ann, TEXT, "n1.ann")
    assert message in str(info.value)
    assert "nephritis" not in str(info.value)  # no note text in the message
    assert "Hgb" not in str(info.value)


def _write_pair(directory: Path, stem: str, text: str, ann: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{stem}.txt").write_bytes(text.encode("utf-8"))
    (directory / f"{stem}.ann").write_text(ann, encoding="utf-8")


def test_gold_dir_keeps_crlf_offsets_and_takes_dates_from_patient_files(tmp_path: Path) -> None:
    _write_pair(tmp_path / "notes", "P1-N1", TEXT, GOOD_ANN)
    _write_pair(tmp_path / "notes", "P9-N1", "Seizure.", "")
    (tmp_path / "patients").mkdir()
    (tmp_path / "patients" / "P1.yaml").write_text(
        "patient_id: P1\nsex: F\nbirth_date: 2010-06-02\nscreening_date: 2025-03-01\n"
        "trials: [blinatumomab-sle]\n"
        "notes:\n  - {note_id: P1-N1, date: 2025-02-14, type: progress}\n",
        encoding="utf-8",
    )
    first, second = read_gold_dir(tmp_path)
    note = first.to_note()
    assert (note.note_id, note.patient_id, note.date, note.sex) == (
        "P1-N1",
        "P1",
        dt.date(2025, 2, 14),
        "F",
    )
    assert note.text == TEXT  # "\r\n" kept, so offsets after it still hold
    assert (second.note_id, second.patient_id, second.date, second.entities) == (
        "P9-N1",
        "P9-N1",
        None,
        (),
    )


def test_gold_dir_is_also_the_notes_directory_itself(tmp_path: Path) -> None:
    _write_pair(tmp_path / "notes", "P1-N1", TEXT, GOOD_ANN)
    (tmp_path / "patients").mkdir()
    (tmp_path / "patients" / "P1.yaml").write_text(
        "patient_id: P1\nnotes: [{note_id: P1-N1, date: 2025-02-14}]\n", encoding="utf-8"
    )
    (note,) = read_gold_dir(tmp_path / "notes")
    assert (note.patient_id, note.date) == ("P1", dt.date(2025, 2, 14))


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        pytest.param({"a.txt": "x"}, "a.txt has no .ann beside it", id="no-ann"),
        pytest.param({"a.ann": ""}, "a.ann has no .txt beside it", id="no-txt"),
        pytest.param({}, "no gold notes found", id="empty"),
        pytest.param(
            {"a.txt": "", "a.ann": "", "patients/P1.yaml": "patient_id: P1\nnote: []\n"},
            "P1.yaml does not match the patient schema: note: Extra inputs",
            id="yaml-key",
        ),
        pytest.param(
            {
                "a.txt": "",
                "a.ann": "",
                "patients/P1.yaml": "patient_id: P1\nnotes: [{note_id: a}]\n",
                "patients/P2.yaml": "patient_id: P2\nnotes: [{note_id: a}]\n",
            },
            "note 'a' is listed by two patient files (P1.yaml and P2.yaml)",
            id="two-owners",
        ),
    ],
)
def test_gold_dir_faults(tmp_path: Path, setup: dict[str, str], message: str) -> None:
    for name, content in setup.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(GoldError) as info:
        read_gold_dir(tmp_path)
    assert message in str(info.value)
