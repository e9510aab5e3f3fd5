"""Batch inputs: JSONL, CSV, Parquet and .txt files with a manifest give the same notes,
streamed, with line-numbered errors that never quote a note.

The small archive written here is the one every batch test uses (``archive_records``).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractor.notes import Note, ReadReport, iter_notes

TEMPLATES = (
    "{age} yo {word} with SLE diagnosed 2021.\nMeds: prednisone 10 mg daily, hydroxychloroquine 200 mg bid.\n",
    "Labs {date}: Hgb {hgb} g/dL, Plt 180 K/uL, eGFR {egfr} mL/min/1.73m2.\n",
    "No h/o TB. Denies seizures.\r\nMother has breast cancer.\n",
    "Follow-up visit. ANA 1:640 speckled. Creatinine {creat} mg/dL.\n",
    "Assessment: lupus nephritis class IV, on mycophenolate mofetil 1000 mg bid.\n",
)


def archive_records(patients: int = 6, per_patient: int = 5) -> list[dict[str, Any]]:
    """Short notes of a few patients; patient P0 has an eGFR below 30 in its latest note."""
    records = []
    for p in range(patients):
        for n in range(per_patient):
            date = dt.date(2025, 1, 6) + dt.timedelta(days=21 * n + p)
            egfr = 24 if p == 0 and n == per_patient - 1 else 62 + p + n
            text = TEMPLATES[n % len(TEMPLATES)].format(
                age=9 + p, word="girl" if p % 2 == 0 else "boy", date=date.isoformat(),
                hgb=9 + p / 10, egfr=egfr, creat=0.6 + n / 10,
            )
            if p == 0 and n == per_patient - 1:
                text = f"Labs {date.isoformat()}: eGFR {egfr} mL/min/1.73m2, Hgb 8.9 g/dL.\n"
            record = {"patient_id": f"P{p}", "note_id": f"P{p}-N{n}", "date": date.isoformat(), "text": text}
            if n == 0:
                record.update(sex="F" if p % 2 == 0 else "M", birth_date=f"{2015 - p}-03-0{1 + p % 9}")
            records.append(record)
    return records


def write_jsonl(path: Path, records: list[dict[str, Any]], extra_lines: dict[int, str] | None = None) -> Path:
    """One record a line; ``extra_lines`` inserts raw lines before the given 0-based record index."""
    extra_lines = extra_lines or {}
    with path.open("w", encoding="utf-8", newline="") as handle:
        for i, record in enumerate(records):
            if i in extra_lines:
                handle.write(extra_lines[i] + "\n")
            handle.write(json.dumps(record) + "\n")
    return path


COLUMNS = ("patient_id", "note_id", "date", "sex", "birth_date", "text")


def write_csv(path: Path, records: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for record in records:
            writer.writerow([record.get(name, "") for name in COLUMNS])
    return path


def write_parquet(path: Path, records: list[dict[str, Any]]) -> Path:
    table = pa.table({
        "patient_id": [r["patient_id"] for r in records],
        "note_id": [r["note_id"] for r in records],
        "date": pa.array([dt.date.fromisoformat(r["date"]) for r in records], pa.date32()),
        "sex": [r.get("sex") for r in records],
        "birth_date": [r.get("birth_date") for r in records],
        "text": [r["text"] for r in records],
    })
    pq.write_table(table, path, row_group_size=7)
    return path


def write_manifest_dir(directory: Path, records: list[dict[str, Any]]) -> Path:
    directory.mkdir()
    with (directory / "manifest.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        fields = ("patient_id", "note_id", "date", "sex", "birth_date")
        writer.writerow(("file", *fields))
        for record in records:
            name = f"{record['note_id']}.txt"
            (directory / name).write_bytes(record["text"].encode("utf-8"))
            writer.writerow([name, *(record.get(k, "") for k in fields)])
    return directory


def read_all(path: Path) -> tuple[list[tuple[int, Note]], ReadReport]:
    report = ReadReport()
    return list(iter_notes(path, report)), report


WRITERS = {
    "jsonl": lambda tmp, records: write_jsonl(tmp / "notes.jsonl", records),
    "csv": lambda tmp, records: write_csv(tmp / "notes.csv", records),
    "parquet": lambda tmp, records: write_parquet(tmp / "notes.parquet", records),
    "manifest": lambda tmp, records: write_manifest_dir(tmp / "notes", records),
}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_every_format_gives_the_same_notes_exactly(tmp_path: Path, kind: str) -> None:
    records = archive_records(patients=3, per_patient=5)
    numbered, report = read_all(WRITERS[kind](tmp_path, records))
    assert report.rejected == [] and report.warnings == []
    assert report.read == len(records)
    notes = [note for _, note in numbered]
    assert [n.note_id for n in notes] == [r["note_id"] for r in records]
    assert [n.text for n in notes] == [r["text"] for r in records]  # "\r\n" kept as written
    assert [n.date for n in notes] == [dt.date.fromisoformat(r["date"]) for r in records]
    assert notes[0].sex == "F" and notes[0].birth_date == dt.date(2015, 3, 1)
    assert report.size > 0 and report.position == report.size


def test_csv_rows_report_the_line_they_start_on(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_bytes(
        b"patient_id,note_id,date,text\r\n"
        b'P1,A,2025-01-02,"SLE\r\nsecond line"\r\n'  # lines 2-3
        b"P1,B,2025-01-02\r\n"  # line 4: a field short
        b"P1,C,2025-01-02,caf\xe9 secret\r\n"  # line 5: not UTF-8
        b",D,2025-01-02,no patient\r\n"  # line 6: empty required cell
        b"P2,E,not-a-date,ok\r\n"  # line 7: read, date warned
    )
    numbered, report = read_all(path)
    assert [(line, note.note_id) for line, note in numbered] == [(2, "A"), (7, "E")]
    assert numbered[0][1].text == "SLE\r\nsecond line"
    assert [line for line, _ in report.rejected] == [4, 5, 6]
    assert "[E018]" in report.rejected[0][1] and "[E019]" in report.rejected[1][1]
    assert "[E011]" in report.rejected[2][1]
    assert [line for line, _ in report.warnings] == [7]
    assert all("secret" not in message and "no patient" not in message for _, message in report.rejected)


def test_a_csv_without_a_required_column_is_rejected_whole(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("patient_id,note_id,body\nP1,A,SLE\n", encoding="utf-8")
    numbered, report = read_all(path)
    assert numbered == []
    assert len(report.rejected) == 1 and "[E017]" in report.rejected[0][1] and "text" in report.rejected[0][1]


def test_parquet_rows_are_numbered_and_a_corrupt_file_is_reported(tmp_path: Path) -> None:
    records = archive_records(patients=1, per_patient=3)
    records[1]["text"] = None
    numbered, report = read_all(write_parquet(tmp_path / "notes.parquet", records))
    assert [line for line, _ in numbered] == [1, 3]
    assert [line for line, _ in report.rejected] == [2]
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    numbered, report = read_all(broken)
    assert numbered == [] and "[E015]" in report.rejected[0][1]


def test_manifest_names_unreadable_and_missing_files_by_line(tmp_path: Path) -> None:
    records = archive_records(patients=1, per_patient=4)
    directory = write_manifest_dir(tmp_path / "notes", records)
    (directory / "P0-N1.txt").write_bytes(b"\xff\xfe not utf-8 secret")
    (directory / "P0-N2.txt").unlink()
    numbered, report = read_all(directory)
    assert [note.note_id for _, note in numbered] == ["P0-N0", "P0-N3"]
    assert [(line, message[:6]) for line, message in report.rejected] == [(3, "[E021]"), (4, "[E021]")]
    assert "UnicodeDecodeError" in report.rejected[0][1] and "secret" not in report.rejected[0][1]
    assert "FileNotFoundError" in report.rejected[1][1]


def test_a_directory_without_a_manifest_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("SLE", encoding="utf-8")
    numbered, report = read_all(tmp_path)
    assert numbered == [] and "[E022]" in report.rejected[0][1]
