"""Charted statements that are not facts about a concept ("NKDA"), found in a patient's notes.

The pipeline turns words into facts about concepts; a few statements a screening decision
rests on name no concept: an allergy list that says it is empty. They are phrases in
``patterns/statements.yaml``, compiled once into one expression per file and searched in
each note of the patient only when a criterion asks (a not_met's ``negative_evidence``, or a
rule citing a test charted as not resulted).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from extractor.notes import Note
from extractor.resources import Header, load_model, patterns_dir


class StatementEntry(BaseModel):
    """One statement: its id (named by trials), what it says, and the words that say it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str = Field(min_length=1)
    literals: tuple[str, ...] = ()
    case_sensitive: tuple[str, ...] = ()
    # regular expressions (case-insensitive) for a statement whose words vary between a test's
    # name and what became of it ("CBC/CMP not drawn", "CD19 (flow)   NOT PERFORMED")
    patterns: tuple[str, ...] = ()
    # a statement about the whole history ("NKDA", "no kidney involvement to date"), copied
    # forward note after note: cited where first written, as copy-forward text counts once
    # (GUIDELINES section 6); a finding of the day ("Lungs clear") is cited where last written
    history: bool = False


class StatementsFile(Header):
    """``statements.yaml``: charted statements screening cites, with the words for each."""

    schema_: Literal["statements/v1"] = Field(alias="schema")
    entries: tuple[StatementEntry, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Found:
    """Where a statement is written: a note and end-exclusive character offsets into it."""

    statement: str
    note_id: str
    char_start: int
    char_end: int


def _alternation(words: tuple[str, ...]) -> str:
    # whole words: not inside a longer word ("NKA" in "NKAT"); spaces match any run of spaces
    parts = sorted({r"\s+".join(map(re.escape, word.split())) for word in words}, key=len, reverse=True)
    return r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)"


@functools.lru_cache(maxsize=4)
def statement_matchers(path: Path | None = None) -> dict[str, tuple[re.Pattern[str], ...]]:
    """Statement id -> its compiled expressions (case-insensitive, then case-sensitive), built once."""
    spec: StatementsFile = load_model(StatementsFile, path or patterns_dir() / "statements.yaml")
    matchers = {}
    for entry in spec.entries:
        found = []
        if entry.literals:
            found.append(re.compile(_alternation(entry.literals), re.IGNORECASE))
        if entry.case_sensitive:
            found.append(re.compile(_alternation(entry.case_sensitive)))
        found.extend(re.compile(pattern, re.IGNORECASE) for pattern in entry.patterns)
        matchers[entry.id] = tuple(found)
    return matchers


@functools.lru_cache(maxsize=4)
def history_statements(path: Path | None = None) -> frozenset[str]:
    """Ids of the statements about the whole history (cited where first written)."""
    spec: StatementsFile = load_model(StatementsFile, path or patterns_dir() / "statements.yaml")
    return frozenset(entry.id for entry in spec.entries if entry.history)


def known_statements() -> frozenset[str]:
    """Ids a trial may name in ``stated``."""
    return frozenset(statement_matchers())


def find_statements(statement: str, notes: list[Note]) -> Iterator[Found]:
    """Every place ``statement`` is written in ``notes``, in note order then text order."""
    for note in notes:
        for pattern in statement_matchers().get(statement, ()):
            for match in pattern.finditer(note.text):
                yield Found(statement, note.note_id, match.start(), match.end())
