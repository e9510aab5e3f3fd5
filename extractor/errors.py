"""Numbered error messages: each says what went wrong and what to do next.

Messages never include note text (patient data): only ids, paths, line numbers and
field names.
"""

from __future__ import annotations


class ResourceError(ValueError):
    """A rule, vocabulary or trial file is missing or malformed."""


class NoteError(ValueError):
    """An input note is malformed; the note is skipped and the run goes on."""


class Errors:
    E001 = "[E001] Resource file {path} does not exist. Check the patterns directory."
    E002 = "[E002] {path}, line {line}: not valid YAML ({problem}). Fix the syntax."
    E003 = "[E003] {path} does not match its schema: {errors}"
    E004 = (
        "[E004] Concept id {concept!r} is defined in both {first} and {second}. "
        "Concept ids must be unique across vocabularies."
    )
    E005 = "[E005] Concept {concept!r} in {path} has no usable literal or synonym."
    E010 = "[E010] line {line}: not valid JSON ({problem}). The note was skipped."
    E011 = "[E011] line {line}: missing required field {field!r}. The note was skipped."
    E012 = "[E012] line {line}: field {field!r} must be {expected}. The note was skipped."
    E013 = (
        "[E013] line {line}: {field} {value} is not an ISO 8601 date (YYYY-MM-DD or a date-time) "
        "from 1800 to 2999; it is ignored and relative times stay unresolved."
    )
    E014 = "[E014] line {line}: the line is not a JSON object. The note was skipped."
    E015 = "[E015] {path}: cannot read the file ({problem})."
    E016 = "[E016] line {line}: note id {note_id!r} was already read; the duplicate was skipped."
    E017 = "[E017] {path}: required column(s) {columns} missing; no note of this file was read."
    E018 = "[E018] line {line}: {found} fields where the header has {expected}. The note was skipped."
    E019 = "[E019] line {line}: not valid UTF-8. The note was skipped."
    E021 = "[E021] line {line}: cannot read note file {file!r} ({problem}). The note was skipped."
    E022 = "[E022] {path}: no manifest.csv or manifest.jsonl; a directory of notes needs one."
    E023 = "[E023] line {line}: not valid CSV ({problem}). The note was skipped."
    E024 = (
        "[E024] line {line}: field {field!r} is not valid Unicode (it holds a lone surrogate such as "
        "\\ud800). The note was skipped."
    )
    E025 = "[E025] line {line}: key {key} appears twice in one JSON object. The note was skipped."
    E026 = (
        "[E026] line {line}: note {note_id!r} has no date; its relative times stay unresolved and it "
        "cannot set the screening date. Give each note a date."
    )
    E027 = (
        "[E027] line {line}: file {file} is outside the manifest's directory; only files beside the "
        "manifest are read. The note was skipped."
    )
    E028 = (
        "[E028] line {line}: note {note_id!r} has {length} characters, over the pipeline's limit of "
        "{limit}. Split it into smaller notes. The note was skipped."
    )
    E029 = "[E029] line {line}: note {note_id!r} failed in the pipeline ({reason}). The note was skipped."
    E030 = (
        "[E030] line {line}: note {note_id!r} is dated {date}, after today ({today}). Check the date: "
        "unless --screening-date says otherwise it is not read when screening."
    )
    E032 = "[E032] patient {patient_id!r}: screening failed ({reason}); no verdict was written for them."
    E033 = (
        "[E033] {count} note(s) dated after the screening date {date} were not read: {ids}. "
        "Give --screening-date to read them."
    )
    E020 = (
        "[E020] Character span {start}:{end} is outside the text (length {length}). "
        "Offsets are Python str indices, end-exclusive."
    )
