"""Reading notes in (CONTRACT JSON Lines, or one plain ``.txt``), with line-numbered errors.

A malformed line is reported with its line number and skipped; the rest of the file
is read. The reader never logs or raises with note text in the message.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
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


REQUIRED = ("patient_id", "note_id", "text")
KNOWN = {"patient_id", "note_id", "text", "date", "type", "sex", "birth_date"}


def parse_date(value: Any) -> dt.date | None:
    """An ISO 8601 date or date-time, as a date; None when absent or unparseable."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


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
    dates = {}
    for name in ("date", "birth_date"):
        raw = record.get(name)
        dates[name] = parse_date(raw)
        if raw not in (None, "") and dates[name] is None:
            report.warnings.append((line, Errors.E013.format(line=line, value=name)))
    optional = {
        name: record[name] if isinstance(record.get(name), str) else None
        for name in ("type", "sex")
    }
    return Note(
        patient_id=str(record["patient_id"]),
        note_id=str(record["note_id"]),
        text=record["text"],
        extra={k: v for k, v in record.items() if k not in KNOWN},
        **dates,
        **optional,
    )


def read_jsonl(path: Path, report: ReadReport | None = None) -> Iterator[Note]:
    """Stream notes from a CONTRACT JSON Lines file; bad lines go to ``report``."""
    report = report if report is not None else ReadReport()
    seen: set[str] = set()
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            report.read += 1
            try:
                record = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                problem = type(exc).__name__
                report.rejected.append((line_no, Errors.E010.format(line=line_no, problem=problem)))
                continue
            note = note_from_record(record, line_no, report)
            if note is None:
                continue
            if note.note_id in seen:
                report.rejected.append(
                    (line_no, Errors.E016.format(line=line_no, note_id=note.note_id))
                )
                continue
            seen.add(note.note_id)
            report.accepted += 1
            yield note


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
    yield Note(patient_id=path.stem, note_id=path.name, text=text)


def read_notes(path: Path, report: ReadReport | None = None) -> Iterator[Note]:
    """Notes from a ``.jsonl`` file or a single ``.txt`` note, chosen by suffix."""
    if path.suffix.lower() == ".txt":
        return read_text_file(path, report)
    return read_jsonl(path, report)
