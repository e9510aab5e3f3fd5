"""Note readers refuse what they cannot read exactly, and say so: strict dates, duplicate
keys, lone surrogates, files outside a manifest's directory; a byte-order mark is fine."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from extractor.notes import ReadReport, iter_notes, parse_date, read_notes

DATES = [
    ("2025-03-01", dt.date(2025, 3, 1)),
    ("2025-03-01T14:30:00", dt.date(2025, 3, 1)),
    ("2025-03-01T14:30:00+01:00", dt.date(2025, 3, 1)),
    ("2025-03-01 14:30", dt.date(2025, 3, 1)),
    ("2025-03-01garbage", None),
    ("2025-03-01Tnot-a-time", None),
    ("20250301", None),
    ("2025-3-1", None),
    ("2025-02-30", None),
    ("０２０２５-03-01", None),  # full-width digits are not ISO digits
    ("1799-12-31", None),  # outside 1800..2999: date arithmetic could leave the calendar
    ("0001-01-01", None),
    ("3000-01-01", None),
    ("1800-01-01", dt.date(1800, 1, 1)),
    ("2999-12-31", dt.date(2999, 12, 31)),
    (20250301, None),
    ("", None),
]


@pytest.mark.parametrize(("raw", "expected"), DATES)
def test_dates_are_strict_iso_within_the_supported_range(raw: object, expected: dt.date | None) -> None:
    assert parse_date(raw) == expected


def read(path: Path) -> tuple[list[str], ReadReport]:
    report = ReadReport()
    return [note.note_id for note in read_notes(path, report)], report


def test_an_unreadable_date_is_quoted_in_the_warning_not_the_field_name(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text(json.dumps({"patient_id": "P", "note_id": "A", "text": "t", "date": "2025-03-01garbage"}) + "\n")
    ids, report = read(path)
    assert ids == ["A"]
    assert report.warnings == [(1, (
        "[E013] line 1: date '2025-03-01garbage' is not an ISO 8601 date (YYYY-MM-DD or a date-time) "
        "from 1800 to 2999; it is ignored and relative times stay unresolved."
    ))]


def test_a_missing_date_is_warned(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text(json.dumps({"patient_id": "P", "note_id": "A", "text": "t"}) + "\n")
    _, report = read(path)
    assert [message[:26] for _, message in report.warnings] == ["[E026] line 1: note 'A' ha"]


def test_duplicate_keys_are_rejected_not_resolved_last_wins(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text(
        '{"patient_id": "P", "note_id": "A", "text": "no seizure", "text": "seizure", "date": "2025-01-01"}\n'
        '{"patient_id": "P", "note_id": "B", "text": "t", "date": "2025-01-01", "extra": {"k": 1, "k": 2}}\n'
        '{"patient_id": "P", "note_id": "C", "text": "t", "date": "2025-01-01"}\n'
    )
    ids, report = read(path)
    assert ids == ["C"]
    assert report.rejected == [
        (1, "[E025] line 1: key 'text' appears twice in one JSON object. The note was skipped."),
        (2, "[E025] line 2: key 'k' appears twice in one JSON object. The note was skipped."),
    ]


def test_a_byte_order_mark_on_the_first_line_is_read(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    line = json.dumps({"patient_id": "P", "note_id": "A", "text": "t", "date": "2025-01-01"})
    path.write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\n" + line.replace('"A"', '"B"').encode() + b"\n")
    ids, report = read(path)
    assert ids == ["A", "B"] and report.rejected == []


def test_lone_surrogates_reject_the_note(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text(
        '{"patient_id": "P", "note_id": "A\\ud800", "text": "t", "date": "2025-01-01"}\n'
        '{"patient_id": "P", "note_id": "B", "text": "t", "date": "2025-01-01", "type": "\\udc00"}\n'
    )
    ids, report = read(path)
    assert ids == []
    assert [message[:36] for _, message in report.rejected] == [
        "[E024] line 1: field 'note_id' is no", "[E024] line 2: field 'type' is not v",
    ]


@pytest.mark.parametrize("name", ["../outside.txt", "sub/../../outside.txt", "/etc/hostname", "link.txt", "."])
def test_manifest_files_outside_its_directory_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "outside.txt").write_text("someone else's file")
    notes = tmp_path / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "inside.txt").write_text("SLE")
    (notes / "link.txt").symlink_to(tmp_path / "outside.txt")
    rows = [{"file": name, "patient_id": "P", "note_id": "X", "date": "2025-01-01"},
            {"file": "sub/../inside.txt", "patient_id": "P", "note_id": "Y", "date": "2025-01-01"}]
    (notes / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = ReadReport()
    assert [note.note_id for _, note in iter_notes(notes, report)] == ["Y"]
    ((line, message),) = report.rejected
    assert line == 1 and message.startswith("[E027] line 1: file ")
