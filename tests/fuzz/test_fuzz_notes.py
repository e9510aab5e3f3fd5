"""Fuzzing the note readers: any bytes in, notes or numbered rejections out, never an
exception, never note text in a message, and every accepted note usable downstream."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

from fuzz_inputs import FUZZ, MARKER, json_line, note_records
from hypothesis import given
from hypothesis import strategies as st

from extractor.notes import EARLIEST_DATE, LATEST_DATE, ReadReport, iter_notes, read_notes


def check(report: ReadReport, notes: list[Any], unique: bool = True) -> None:
    for _line, message in [*report.rejected, *report.warnings]:
        assert message.startswith("[E0"), message
        assert MARKER not in message
    for note in notes:
        note.text.encode("utf-8")  # writable back out
        note.note_id.encode("utf-8")
        for day in (note.date, note.birth_date):
            assert day is None or EARLIEST_DATE <= day <= LATEST_DATE
    ids = [note.note_id for note in notes]
    assert not unique or len(ids) == len(set(ids))  # iter_notes leaves duplicates to its caller


@FUZZ
@given(st.lists(st.one_of(note_records().map(lambda r: json_line(r, ascii_only=True)),
                          note_records().map(lambda r: json_line(r, ascii_only=False)),
                          st.binary(max_size=40)), max_size=6),
       st.booleans())
def test_jsonl_never_raises(lines: list[bytes], bom: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "notes.jsonl"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + b"\n".join(line.replace(b"\n", b" ") for line in lines))
        report = ReadReport()
        notes = list(read_notes(path, report))
        check(report, notes)


@FUZZ
@given(st.lists(note_records(), max_size=5), st.binary(max_size=30))
def test_csv_never_raises(records: list[dict[str, Any]], junk: bytes) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    fields = ["patient_id", "note_id", "text", "date", "birth_date", "sex"]
    writer.writerow(fields)
    for record in records:
        writer.writerow([str(record.get(name, "")) for name in fields])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "notes.csv"
        path.write_bytes(buffer.getvalue().encode("utf-8", errors="surrogatepass") + junk)
        report = ReadReport()
        notes = [note for _, note in iter_notes(path, report)]
        check(report, notes, unique=False)


@FUZZ
@given(st.lists(st.fixed_dictionaries({"file": st.one_of(
    st.sampled_from(["a.txt", "../a.txt", "/etc/hostname", "sub/../a.txt", ".", "", "a\x00.txt", "missing.txt"]),
    st.text(max_size=10)), "patient_id": st.text(min_size=1, max_size=5), "note_id": st.text(min_size=1, max_size=5),
    "date": st.sampled_from(["2025-01-01", "0001-01-01", "x"])}), max_size=4))
def test_manifest_never_reads_outside_its_directory(rows: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "a.txt").write_text(f"{MARKER} outside")
        notes_dir = Path(tmp) / "notes"
        (notes_dir / "sub").mkdir(parents=True)
        (notes_dir / "a.txt").write_text(f"{MARKER} inside")
        (notes_dir / "manifest.jsonl").write_bytes(b"\n".join(json_line(r, ascii_only=True) for r in rows))
        report = ReadReport()
        notes = [note for _, note in iter_notes(notes_dir, report)]
        assert all(note.text.endswith("inside") for note in notes)
        for _line, message in report.rejected:
            assert message.startswith("[E0") and MARKER not in message

