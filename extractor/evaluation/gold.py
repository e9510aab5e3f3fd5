"""Reading a gold directory: brat note pairs plus, when present, each note's patient and date.

The layout (docs/brat-gold.md): ``notes/<note_id>.txt`` + ``<note_id>.ann`` and
``patients/<patient_id>.yaml`` listing the patient's notes with their dates. The dates
matter: the pipeline resolves "3 months ago" against the note's date, so a gold note
run without its date would be scored against the wrong dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from extractor.evaluation.brat import GoldEntity, parse_ann
from extractor.evaluation.errors import EvalErrors, GoldError, describe_validation
from extractor.notes import Note


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class PatientNote(_Strict):
    """One note of a gold patient: its id, the date it was written, its type."""

    note_id: str
    date: dt.date | None = None
    type: str | None = None


class PatientFile(_Strict):
    """``patients/<patient_id>.yaml``: who the patient is and which notes are theirs."""

    patient_id: str
    sex: str | None = None
    birth_date: dt.date | None = None
    screening_date: dt.date | None = None
    trials: tuple[str, ...] = ()
    notes: tuple[PatientNote, ...] = ()


@dataclass(frozen=True)
class GoldNote:
    """A gold note: its text, its annotated entities, and what the pipeline needs to run it."""

    note_id: str
    text: str
    entities: tuple[GoldEntity, ...]
    patient_id: str
    date: dt.date | None = None
    type: str | None = None
    sex: str | None = None
    birth_date: dt.date | None = None

    def to_note(self) -> Note:
        """The note as the pipeline takes it in, with its date, patient and demographics."""
        return Note(
            patient_id=self.patient_id,
            note_id=self.note_id,
            text=self.text,
            date=self.date,
            type=self.type,
            sex=self.sex,
            birth_date=self.birth_date,
        )


def read_text_exact(path: Path) -> str:
    """A file's text with its line endings kept: offsets count every character."""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def read_patient_file(path: Path) -> PatientFile:
    """One patient YAML, validated; faults name the file and the field, never the content."""
    try:
        data = yaml.safe_load(read_text_exact(path))
    except yaml.YAMLError as exc:
        raise GoldError(EvalErrors.E313.format(path=path, errors=type(exc).__name__)) from None
    try:
        return PatientFile.model_validate(data)
    except ValidationError as exc:
        summary = describe_validation(exc.errors(include_input=False, include_url=False))
        raise GoldError(EvalErrors.E313.format(path=path, errors=summary)) from None


def read_patients(directory: Path) -> dict[str, tuple[PatientFile, PatientNote]]:
    """Note id -> (its patient, its entry) over every ``*.yaml`` in ``directory``."""
    by_note: dict[str, tuple[PatientFile, PatientNote]] = {}
    owner: dict[str, Path] = {}
    for path in sorted(directory.glob("*.yaml")):
        patient = read_patient_file(path)
        for entry in patient.notes:
            if entry.note_id in by_note:
                raise GoldError(
                    EvalErrors.E314.format(
                        path=directory,
                        note_id=entry.note_id,
                        first=owner[entry.note_id].name,
                        second=path.name,
                    )
                )
            by_note[entry.note_id] = (patient, entry)
            owner[entry.note_id] = path
    return by_note


class ManifestNote(_Strict):
    """One chosen note of a corpus taken from outside the project, and its split."""

    note_id: str
    source_file: str
    split: Literal["dev", "test"]
    sha256: str


class Manifest(_Strict):
    """``manifest.yaml``: which notes a gold directory holds, where they came from, which split."""

    schema_: str = Field(alias="schema")
    name: str
    description: str
    source: str
    license: str
    notes: tuple[ManifestNote, ...]


def read_split(directory: Path, split: str) -> set[str]:
    """The note ids of one split (dev: rules are tuned on it; test: it only measures)."""
    path = directory / "manifest.yaml"
    if not path.is_file():
        raise GoldError(EvalErrors.E324.format(path=directory, problem="no manifest.yaml"))
    try:
        manifest = Manifest.model_validate(yaml.safe_load(read_text_exact(path)))
    except (yaml.YAMLError, ValidationError) as exc:
        raise GoldError(EvalErrors.E324.format(path=path, problem=f"unreadable ({type(exc).__name__})")) from None
    wanted = {note.note_id for note in manifest.notes if note.split == split}
    if not wanted:
        raise GoldError(EvalErrors.E324.format(path=path, problem=f"no note in split {split!r}"))
    return wanted


def gold_layout(directory: Path) -> tuple[Path, Path | None]:
    """Where the note pairs and the patient files are, for ``DIR`` or ``DIR/notes``.

    ``DIR`` may hold ``notes/`` and ``patients/`` (``corpora/dev``), or be the notes
    directory itself, with ``patients/`` inside it or beside it.
    """
    notes_dir = directory / "notes" if (directory / "notes").is_dir() else directory
    candidates = [directory / "patients"]
    if notes_dir == directory:
        candidates.append(directory.parent / "patients")
    patients_dir = next((path for path in candidates if path.is_dir()), None)
    return notes_dir, patients_dir


def read_gold_dir(directory: Path, only: Collection[str] | None = None) -> list[GoldNote]:
    """Every ``.txt``/``.ann`` pair of a gold directory, parsed and checked, by note id.

    Without patient files a note's id and patient id are its file stem and it has no
    date. A ``.txt`` without its ``.ann`` (or the reverse) is an error: an unannotated
    note would count every fact found in it as spurious. ``only`` keeps those note ids
    (a split); each of them must then be there with its ``.ann``.
    """
    notes_dir, patients_dir = gold_layout(directory)
    patients = read_patients(patients_dir) if patients_dir else {}
    texts = {path.stem: path for path in notes_dir.glob("*.txt") if only is None or path.stem in only}
    anns = {path.stem: path for path in notes_dir.glob("*.ann") if only is None or path.stem in only}
    for stem in sorted(texts.keys() ^ anns.keys()):
        present, missing = (texts[stem], ".ann") if stem in texts else (anns[stem], ".txt")
        raise GoldError(EvalErrors.E312.format(path=notes_dir, name=present.name, missing=missing))
    if not texts:
        raise GoldError(EvalErrors.E320.format(path=notes_dir))
    notes = []
    for stem in sorted(texts):
        text = read_text_exact(texts[stem])
        entities = parse_ann(read_text_exact(anns[stem]), text, str(anns[stem]))
        patient, entry = patients.get(stem, (None, None))
        notes.append(
            GoldNote(
                note_id=stem,
                text=text,
                entities=tuple(entities),
                patient_id=patient.patient_id if patient else stem,
                date=entry.date if entry else None,
                type=entry.type if entry else None,
                sex=patient.sex if patient else None,
                birth_date=patient.birth_date if patient else None,
            )
        )
    return notes
