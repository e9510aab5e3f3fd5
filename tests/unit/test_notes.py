"""Reading notes: bad lines are reported with their line number and skipped; nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path

from extractor.notes import ReadReport, read_notes


def test_bad_lines_reported_and_rest_read(tmp_path: Path) -> None:
    lines = [
        json.dumps({"patient_id": "P1", "note_id": "N1", "text": "SLE", "date": "2025-01-02"}),
        "{not json",
        json.dumps({"patient_id": "P1", "text": "no id"}),
        json.dumps({"patient_id": "P1", "note_id": "N3", "text": 42}),
        json.dumps(["a list"]),
        "",
        json.dumps({"patient_id": "P1", "note_id": "N1", "text": "duplicate id"}),
        json.dumps({"patient_id": "P2", "note_id": "N4", "text": "ok", "date": "yesterday", "site": "x"}),
    ]
    path = tmp_path / "notes.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ReadReport()
    notes = list(read_notes(path, report))
    assert [n.note_id for n in notes] == ["N1", "N4"]
    assert [line for line, _ in report.rejected] == [2, 3, 4, 5, 7]
    assert report.read == 7 and report.accepted == 2
    assert notes[1].date is None and notes[1].extra == {"site": "x"}
    # line 7 has no date (E026), line 8 an unreadable one (E013)
    assert [message[:6] for _, message in report.warnings] == ["[E026]", "[E013]"]
    assert [line for line, _ in report.warnings] == [7, 8]
    # messages name lines and fields, never the note text
    assert all("duplicate id" not in message for _, message in report.rejected)


def test_invalid_utf8_is_rejected_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_bytes(b'{"patient_id": "P", "note_id": "A", "text": "\xff"}\n'
                     + json.dumps({"patient_id": "P", "note_id": "B", "text": "ok"}).encode() + b"\n")
    report = ReadReport()
    assert [n.note_id for n in read_notes(path, report)] == ["B"]
    assert report.rejected[0][0] == 1


def test_plain_text_note(tmp_path: Path) -> None:
    path = tmp_path / "chart.txt"
    path.write_text("14 yo F with SLE", encoding="utf-8")
    (note,) = list(read_notes(path))
    assert note.note_id == "chart.txt" and note.text == "14 yo F with SLE"
