"""Reading notes in (CONTRACT JSON Lines, CSV, Parquet, ``.txt`` files), with line-numbered errors.

A malformed line is reported with its line number and skipped; the rest of the file
is read. The reader never logs or raises with note text in the message.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from extractor.errors import Errors


class Note(BaseModel):
    """One note as the CONTRACT defines it; unknown fields are kept in ``extra``."""

    model_config = ConfigDict(frozen=True)

    patient_id: str
    note_id: str
    text: str
    date: dt.date | None = None
    type: str | None = None
    sex: str | None = None
    birth_date: dt.date | None = None
    extra: dict[str, Any] = {}


@dataclass
class ReadReport:
    """What reading a notes file found: counts, and one message per rejected line."""

    read: int = 0
    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # read, then faulted in the pipeline
    size: int = 0  # how much input there is: bytes of a text file, rows of a Parquet file
    position: int = 0  # how much of it has been read, in the same unit (for progress and ETA)


REQUIRED = ("patient_id", "note_id", "text")
KNOWN = {"patient_id", "note_id", "text", "date", "type", "sex", "birth_date"}


# The dates a note may carry: wide enough for any chart, narrow enough that date arithmetic
# ("3 months ago", an age at screening) can never leave the calendar Python can represent.
EARLIEST_DATE = dt.date(1800, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ].*)?", re.ASCII | re.DOTALL)
STDIN = "-"


def parse_iso_day(value: str) -> dt.date:
    """The day of an ISO 8601 date ``YYYY-MM-DD`` or date-time, within the supported range.

    Strict: ``2025-03-01garbage``, ``20250301`` and ``2025-3-1`` are refused (ValueError).
    """
    problem = "not an ISO 8601 date (YYYY-MM-DD) or date-time"
    if not _ISO_DAY.fullmatch(value):
        raise ValueError(problem)
    try:
        day = dt.date.fromisoformat(value) if len(value) == 10 else dt.datetime.fromisoformat(value).date()
    except ValueError:
        raise ValueError(problem) from None  # Python's message would quote the value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"outside the supported range {EARLIEST_DATE} to {LATEST_DATE}")
    return day


def parse_date(value: Any) -> dt.date | None:
    """A strict ISO 8601 date or date-time, as a date; None when absent, unparseable or out of range."""
    if not isinstance(value, str) or value == "":
        return None
    try:
        return parse_iso_day(value)
    except ValueError:
        return None


def _shown(value: Any) -> str:
    """A field value as an error message may quote it: short, and never more than 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def note_from_record(record: Any, line: int, report: ReadReport) -> Note | None:
    """Validate one decoded record; on a fault, record it in ``report`` and return None."""
    if not isinstance(record, dict):
        report.rejected.append((line, Errors.E014.format(line=line)))
        return None
    for name in REQUIRED:
        if name not in record or record[name] is None:
            report.rejected.append((line, Errors.E011.format(line=line, field=name)))
            return None
    if not isinstance(record["text"], str):
        report.rejected.append(
            (line, Errors.E012.format(line=line, field="text", expected="a string"))
        )
        return None
    for name in ("patient_id", "note_id"):
        if not isinstance(record[name], str | int) or isinstance(record[name], bool):
            report.rejected.append(
                (line, Errors.E012.format(line=line, field=name, expected="a string"))
            )
            return None
    optional = {
        name: record[name] if isinstance(record.get(name), str) else None
        for name in ("type", "sex")
    }
    for name in ("patient_id", "note_id", "text", "type", "sex"):
        value = record[name] if name in REQUIRED else optional[name]
        if isinstance(value, str) and not _valid_utf8((value,)):
            report.rejected.append((line, Errors.E024.format(line=line, field=name)))
            return None
    dates = {}
    for name in ("date", "birth_date"):
        raw = record.get(name)
        dates[name] = parse_date(raw)
        if raw not in (None, "") and dates[name] is None:
            report.warnings.append((line, Errors.E013.format(line=line, field=name, value=_shown(raw))))
    if dates["date"] is None and record.get("date") in (None, ""):
        report.warnings.append((line, Errors.E026.format(line=line, note_id=_shown(str(record["note_id"]))[1:-1])))
    elif dates["date"] is not None and dates["date"] > dt.date.today():
        report.warnings.append((line, Errors.E030.format(
            line=line, note_id=str(record["note_id"]), date=dates["date"], today=dt.date.today(),
        )))
    return Note(
        patient_id=str(record["patient_id"]),
        note_id=str(record["note_id"]),
        text=record["text"],
        extra={k: v for k, v in record.items() if k not in KNOWN},
        **dates,
        **optional,
    )


class DuplicateKey(ValueError):
    """A JSON object gave ``key`` twice (raised by ``no_duplicate_keys``)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (``json`` would keep the last silently).

    The ``object_pairs_hook`` of every JSON the project reads notes from: note files here,
    request bodies in ``service.guards``."""
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise DuplicateKey(key)
        record[key] = value
    return record


def decode_record(raw: bytes, line_no: int, report: ReadReport) -> Any:
    """One JSON Lines line decoded, or ``report``'s reason why not (and ``_UNREADABLE``)."""
    if line_no == 1:
        raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark, as editors write it
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
    except DuplicateKey as exc:
        report.rejected.append((line_no, Errors.E025.format(line=line_no, key=_shown(exc.key))))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        report.rejected.append((line_no, Errors.E010.format(line=line_no, problem=type(exc).__name__)))
    return _UNREADABLE


_UNREADABLE = object()


def _jsonl_records(path: Path, report: ReadReport) -> Iterator[tuple[int, Any]]:
    """Decoded JSON values with their line numbers; undecodable lines go to ``report``.

    ``path`` ``-`` reads standard input.
    """
    if str(path) == STDIN:
        yield from _jsonl_lines(sys.stdin.buffer, report)
        return
    report.size = path.stat().st_size
    with path.open("rb") as handle:
        yield from _jsonl_lines(handle, report)


def _jsonl_lines(handle: Iterable[bytes], report: ReadReport) -> Iterator[tuple[int, Any]]:
    for line_no, raw in enumerate(handle, start=1):
        report.position += len(raw)
        if not raw.strip():
            continue
        report.read += 1
        record = decode_record(raw, line_no, report)
        if record is not _UNREADABLE:
            yield line_no, record


def iter_jsonl(path: Path, report: ReadReport) -> Iterator[tuple[int, Note]]:
    """Every valid note of a JSON Lines file with its line number.

    Duplicate ids are not removed and ``report.accepted`` is left alone: the caller
    decides what a duplicate is (``read_jsonl`` within the file, ``extractor batch``
    across resumed runs through its store).
    """
    for line_no, record in _jsonl_records(path, report):
        note = note_from_record(record, line_no, report)
        if note is not None:
            yield line_no, note


def unique_numbered(numbered: Iterable[tuple[int, Note]], report: ReadReport) -> Iterator[tuple[int, Note]]:
    """Notes whose id was not read before, with their line; a repeated id is reported and skipped."""
    seen: set[str] = set()
    for line_no, note in numbered:
        if note.note_id in seen:
            report.rejected.append((line_no, Errors.E016.format(line=line_no, note_id=note.note_id)))
            continue
        seen.add(note.note_id)
        report.accepted += 1
        yield line_no, note


def unique_notes(numbered: Iterable[tuple[int, Note]], report: ReadReport) -> Iterator[Note]:
    """Notes whose id was not read before; a repeated id is reported and skipped."""
    return (note for _, note in unique_numbered(numbered, report))


def read_jsonl(path: Path, report: ReadReport | None = None) -> Iterator[Note]:
    """Stream notes from a CONTRACT JSON Lines file; bad lines go to ``report``."""
    report = report if report is not None else ReadReport()
    return unique_notes(iter_jsonl(path, report), report)


def read_text_file(path: Path, report: ReadReport | None = None) -> Iterator[Note]:
    """One plain-text note; its id is the file name and its patient id the file stem."""
    report = report if report is not None else ReadReport()
    report.read += 1
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.rejected.append((0, Errors.E015.format(path=path.name, problem=type(exc).__name__)))
        return
    report.accepted += 1
    report.warnings.append((0, Errors.E026.format(line=0, note_id=path.name)))
    yield Note(patient_id=path.stem, note_id=path.name, text=text)


def read_numbered(path: Path, report: ReadReport) -> Iterator[tuple[int, Note]]:
    """Notes from a ``.jsonl`` file (``-``: standard input) or a single ``.txt`` note (line 0),
    chosen by suffix, each with its line number; repeated ids are reported and skipped."""
    if path.suffix.lower() == ".txt":
        return ((0, note) for note in read_text_file(path, report))
    return unique_numbered(iter_jsonl(path, report), report)


def read_notes(path: Path, report: ReadReport | None = None) -> Iterator[Note]:
    """Notes from a ``.jsonl`` file (``-``: standard input) or a single ``.txt`` note, chosen by suffix."""
    report = report if report is not None else ReadReport()
    return (note for _, note in read_numbered(path, report))


# ---------------------------------------------------------------- archives: CSV, Parquet, .txt + manifest

MANIFEST_NAMES = ("manifest.csv", "manifest.jsonl")
# A note in a CSV cell may be far longer than the csv module's default 128 KiB field limit.
_CSV_FIELD_LIMIT = 2**31 - 1


def _decoded_lines(handle: Iterable[bytes], report: ReadReport) -> Iterator[str]:
    """Lines decoded as UTF-8; undecodable bytes survive as surrogates so the row can be rejected."""
    for raw in handle:
        report.position += len(raw)
        yield raw.decode("utf-8", errors="surrogateescape")


def _valid_utf8(cells: Iterable[str]) -> bool:
    try:
        for cell in cells:
            cell.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _csv_records(path: Path, report: ReadReport, required: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a CSV file with a header, as dicts, with the line each row starts on.

    Empty cells are absent values, except ``text`` (an empty note is still a note).
    """
    report.size = path.stat().st_size
    with path.open("rb") as handle:
        reader = csv_reader(_decoded_lines(handle, report))
        header = [name.strip().lstrip("\ufeff") for name in next(reader, [])]
        missing = [name for name in required if name not in header]
        if missing:
            report.rejected.append((1, Errors.E017.format(path=path.name, columns=", ".join(missing))))
            return
        yield from csv_rows(reader, header, report)


def csv_reader(lines: Iterable[str]) -> Any:
    """A ``csv.reader`` over decoded lines that takes a note of any length in a cell."""
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    return csv.reader(lines)


def csv_rows(
    reader: Any, header: list[str], report: ReadReport, first: int = 1
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows ``reader`` has after its header, as dicts, each with the line it starts on:
    the reader's line count plus ``first`` (1: lines numbered from 1, the header line 1; a
    shard of a sharded run numbers its lines from 0). Faulty rows go to ``report``."""
    start = reader.line_num + first
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.read += 1
            report.rejected.append((start, Errors.E023.format(line=start, problem=type(exc).__name__)))
            start = reader.line_num + first
            continue
        line_no, start = start, reader.line_num + first
        if not row:
            continue
        report.read += 1
        if len(row) != len(header):
            report.rejected.append((line_no, Errors.E018.format(line=line_no, found=len(row), expected=len(header))))
        elif not _valid_utf8(row):
            report.rejected.append((line_no, Errors.E019.format(line=line_no)))
        else:
            yield line_no, {
                name: value if name == "text" or value != "" else None for name, value in zip(header, row, strict=True)
            }


def iter_csv(path: Path, report: ReadReport) -> Iterator[tuple[int, Note]]:
    """Every valid note of a CSV file (header with the CONTRACT fields) with its line number.

    A line number is the line a row starts on (a quoted note may span lines); duplicates
    are left to the caller, as in ``iter_jsonl``.
    """
    for line_no, record in _csv_records(path, report, REQUIRED):
        note = note_from_record(record, line_no, report)
        if note is not None:
            yield line_no, note


def _iso_dates(record: dict[str, Any]) -> dict[str, Any]:
    """Parquet date and timestamp columns as ISO strings, the form ``note_from_record`` reads."""
    return {
        name: value.isoformat() if isinstance(value, dt.date) else value
        for name, value in record.items()
    }


def iter_parquet(path: Path, report: ReadReport) -> Iterator[tuple[int, Note]]:
    """Every valid note of a Parquet file, read one record batch at a time, with its row number.

    Errors name the row (1-based) as their line.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        report.rejected.append((0, Errors.E015.format(path=path.name, problem=type(exc).__name__)))
        return
    missing = [name for name in REQUIRED if name not in parquet.schema_arrow.names]
    if missing:
        report.rejected.append((0, Errors.E017.format(path=path.name, columns=", ".join(missing))))
        return
    report.size = parquet.metadata.num_rows
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=1024):
            for record in batch.to_pylist():
                row += 1
                report.position = row
                report.read += 1
                note = note_from_record(_iso_dates(record), row, report)
                if note is not None:
                    yield row, note
    except (OSError, pa.ArrowException) as exc:
        report.rejected.append((row + 1, Errors.E015.format(path=path.name, problem=type(exc).__name__)))


def iter_manifest_dir(directory: Path, report: ReadReport) -> Iterator[tuple[int, Note]]:
    """Notes as ``.txt`` files listed in ``manifest.csv`` or ``manifest.jsonl`` in the directory.

    Each manifest row names a ``file`` (relative to the directory) and gives its
    ``patient_id``, ``note_id`` and, strongly expected, ``date``; other CONTRACT fields are
    optional. A file's bytes are decoded as UTF-8 and kept exactly (no newline
    translation). Errors name the manifest line; files not listed are not read.
    """
    manifest = next((directory / name for name in MANIFEST_NAMES if (directory / name).is_file()), None)
    if manifest is None:
        report.rejected.append((0, Errors.E022.format(path=directory.name)))
        return
    if manifest.suffix == ".csv":
        records: Iterator[tuple[int, Any]] = _csv_records(manifest, report, ("file", "patient_id", "note_id"))
    else:
        records = _jsonl_records(manifest, report)
    for line_no, record in records:
        name = record.get("file") if isinstance(record, dict) else None
        if not isinstance(name, str) or not name:
            report.rejected.append((line_no, Errors.E011.format(line=line_no, field="file")))
            continue
        file = _inside(directory, name)
        if file is None:
            report.rejected.append((line_no, Errors.E027.format(line=line_no, file=_shown(name))))
            continue
        try:
            text = file.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            report.rejected.append(
                (line_no, Errors.E021.format(line=line_no, file=name, problem=type(exc).__name__))
            )
            continue
        note = note_from_record({**record, "text": text}, line_no, report)
        if note is not None:
            yield line_no, note


def _inside(directory: Path, name: str) -> Path | None:
    """``directory / name`` when it resolves inside ``directory`` (links followed), else None.

    A manifest names notes beside it; ``../../etc/passwd`` or an absolute path is refused.
    """
    try:
        root = directory.resolve()
        file = (directory / name).resolve()
    except (OSError, ValueError):  # a NUL byte, a loop of links
        return None
    return file if file.is_relative_to(root) and file != root else None


def iter_notes(path: Path, report: ReadReport) -> Iterator[tuple[int, Note]]:
    """Every valid note of an archive with its line (row) number, streamed.

    The archive is a directory of ``.txt`` files with a manifest, a ``.csv``, a
    ``.parquet``/``.pq`` file, or else a JSON Lines file. A file that cannot be read is
    reported in ``report`` (line 0), never raised. Duplicate ids are not removed.
    """
    if path.is_dir():
        reader = iter_manifest_dir
    else:
        reader = {".csv": iter_csv, ".parquet": iter_parquet, ".pq": iter_parquet}.get(
            path.suffix.lower(), iter_jsonl
        )
    try:
        yield from reader(path, report)
    except OSError as exc:
        report.rejected.append((0, Errors.E015.format(path=path.name, problem=type(exc).__name__)))
