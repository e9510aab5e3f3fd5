"""Numbered messages for faults in gold material and test sets, each saying what to fix.

Gold is read strictly: a typo in an annotation would otherwise turn silently into a
missed or spurious fact and move every score. Messages name the file, line, ids and
labels, never the note text (patient data), not even the span text of a brat line.
"""

from __future__ import annotations


class GoldError(ValueError):
    """Gold material (brat, patient YAML, verdict lines, TSV test set) is malformed."""


class EvalErrors:
    E300 = (
        "[E300] {path}, line {line}: cannot read this line ({problem}). brat lines are "
        "'T1<TAB>Type start end<TAB>text', 'A1<TAB>Name T1 value' or "
        "'#1<TAB>AnnotatorNotes T1<TAB>key=value; key=value'."
    )
    E301 = "[E301] {path}, line {line}: unknown entity type {type!r}; expected one of {expected}."
    E302 = (
        "[E302] {path}, line {line}: span {start}:{end} is outside the text (length {length}). "
        "Offsets are Python str indices, end-exclusive."
    )
    E303 = (
        "[E303] {path}, line {line}: the span text written in the .ann does not equal the "
        ".txt text at {start}:{end}. Fix the offsets or the written text."
    )
    E304 = "[E304] {path}, line {line}: unknown attribute {name!r}; expected one of {expected}."
    E305 = "[E305] {path}, line {line}: attribute {name} value {value!r} is not one of {expected}."
    E306 = "[E306] {path}, line {line}: {ref} is not a T entity of this file."
    E307 = "[E307] {path}, line {line}: unknown AnnotatorNotes key {key!r}; expected one of {expected}."
    E308 = "[E308] {path}, line {line}: {key}={value!r} is not {expected}."
    E309 = "[E309] {path}, line {line}: entity {ref} has no concept= in an AnnotatorNotes line."
    E310 = "[E310] {path}, line {line}: id {ref} is used twice in the file."
    E311 = "[E311] {path}, line {line}: entity {ref} has {what} twice."
    E312 = "[E312] {path}: {name} has no {missing} beside it; gold notes come in .txt/.ann pairs."
    E313 = "[E313] {path} does not match the patient schema: {errors}"
    E314 = "[E314] {path}: note {note_id!r} is listed by two patient files ({first} and {second})."
    E315 = "[E315] {where}: {problem}. The verdict line does not follow the CONTRACT."
    E316 = "[E316] {where}: patient {patient_id!r} of trial {trial!r} appears twice."
    E317 = (
        "[E317] {where}: evidence {note_id} {start}:{end} of criterion {criterion} "
        "{problem}. Gold evidence must cite the note text exactly."
    )
    E318 = "[E318] {path}, line {line}: expected 6 tab-separated fields, found {found}."
    E319 = "[E319] {path}, line {line}: {column} label {value!r} is not one of {expected}."
    E320 = "[E320] {path}: no gold notes found (expected <note_id>.txt with <note_id>.ann)."
    E321 = "[E321] {path}: the file is empty; a test set has a header row and then one row per mention."
    E322 = "[E322] {path}, line {line}: not a fact as `extractor extract` writes it ({problem})."
    E323 = "[E323] {path}: no verdicts{trial} found (a .jsonl with one patient a line, or a directory of .json)."
    E324 = (
        "[E324] {path}: {problem}. A split needs the gold directory's manifest.yaml "
        "(scripts/mtsamples_select.py writes it)."
    )


def describe_validation(errors: list[dict[str, object]]) -> str:
    """Pydantic errors as 'field: message', leaving out the input (it may quote note text).

    Pass ``exc.errors(include_input=False, include_url=False)``.
    """
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(top level)'}: {error['msg']}" for error in errors
    )
