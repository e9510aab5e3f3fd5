"""Reading gold facts from brat standoff, strictly, in the layout of docs/brat-gold.md.

Every fault (unknown entity type, attribute or note key, a span whose written text
is not the note's text at its offsets, a dangling reference) raises ``GoldError``
naming the file and line: a silently skipped annotation would move every score.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from extractor.evaluation.errors import EvalErrors, GoldError
from extractor.facts import Assertion, Experiencer, InfectionState, Kind, MedStatus, Temporality

ENTITY_TYPES: dict[str, Kind] = {kind.value.capitalize(): kind for kind in Kind}

# Attribute name -> allowed values. The default value (first of each enum) may be
# written out, though the convention is to leave the attribute off.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "Assertion": tuple(value.value for value in Assertion),
    "Experiencer": tuple(value.value for value in Experiencer),
    "Temporality": tuple(value.value for value in Temporality),
    "InfectionState": tuple(value.value for value in InfectionState),
    "MedStatus": tuple(value.value for value in MedStatus),
    "Response": ("inadequate_response", "failure", "refractory", "intolerance", "allergy"),
}

QUALITATIVE = (
    "positive",
    "negative",
    "reactive",
    "nonreactive",
    "detected",
    "not_detected",
    "indeterminate",
    "equivocal",
)


def _concept(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]+", value):
        raise ValueError("a snake_case concept id")
    return value


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError("a number") from None


def _integer(value: str) -> int:
    if not re.fullmatch(r"\d+", value):
        raise ValueError("a whole number")
    return int(value)


@dataclass(frozen=True)
class PartialDate:
    """An ISO date as precise as the chart: ``2025-02-14``, ``2021-10`` or ``2021``.

    ``start``/``end`` are the first and last day it can mean, so "dx 10/2021" is
    annotated ``2021-10`` and any day of that October agrees with it.
    """

    text: str
    start: dt.date
    end: dt.date

    def __str__(self) -> str:
        return self.text


def _iso_date(value: str) -> PartialDate:
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value)
    try:
        if match is None:
            raise ValueError
        year, month, day = (int(part) if part else None for part in match.groups())
        if day is not None:
            start = end = dt.date(year, month, day)
        elif month is not None:
            start = dt.date(year, month, 1)
            end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
        else:
            start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    except ValueError:
        raise ValueError("an ISO date (YYYY-MM-DD, YYYY-MM or YYYY)") from None
    return PartialDate(value, start, end)


def _one_of(*allowed: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return value

    return check


def _text(value: str) -> str:
    if not value:
        raise ValueError("a non-empty text")
    return value


NOTE_KEYS: dict[str, Callable[[str], Any]] = {
    "concept": _concept,
    "value": _number,
    "value_high": _number,
    "comparator": _one_of("<", ">", "<=", ">="),
    "unit": _text,
    "canonical_value": _number,
    "canonical_unit": _text,
    "titer": _integer,
    "qualitative": _one_of(*QUALITATIVE),
    "uln_multiple": _number,
    "date": _iso_date,
    "dose": _number,
    "dose_unit": _text,
    "daily_dose": _number,
    "route": _text,
    "frequency": _text,
    "years": _number,
    "sex": _one_of("F", "M"),
    "systolic": _number,
    "diastolic": _number,
}


@dataclass(frozen=True)
class GoldEntity:
    """One annotated fact: kind, exact span, attributes as written, parsed note values."""

    ref: str
    kind: Kind
    start: int
    end: int
    text: str
    line: int
    attributes: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def concept(self) -> str:
        """The concept id (required in every entity's AnnotatorNotes)."""
        return str(self.values["concept"])


@dataclass
class _Entity:
    ref: str
    kind: Kind
    start: int
    end: int
    text: str
    line: int
    attributes: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] | None = None


_T_SPAN = re.compile(r"(\S+) (\d+) (\d+)")


class _Parser:
    """One pass over the lines; attributes and notes attach after every T is known."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.entities: dict[str, _Entity] = {}
        self.ids: set[str] = set()
        self.pending: list[tuple[int, str, str]] = []  # (line, kind of line, rest)

    def fail(self, template: str, line: int, **fields: Any) -> GoldError:
        return GoldError(template.format(path=self.path, line=line, **fields))

    def parse(self, ann: str) -> list[GoldEntity]:
        for line_no, raw in enumerate(ann.split("\n"), start=1):
            line = raw.removesuffix("\r")
            if not line.strip():
                continue
            parts = line.split("\t")
            ref = parts[0]
            if ref in self.ids:
                raise self.fail(EvalErrors.E310, line_no, ref=ref)
            self.ids.add(ref)
            if ref.startswith("T"):
                self.entity(line_no, parts)
            elif ref.startswith(("A", "#")):
                self.pending.append((line_no, ref[0], "\t".join(parts[1:])))
            else:
                raise self.fail(EvalErrors.E300, line_no, problem="only T, A and # lines are read")
        for line_no, line_kind, rest in self.pending:
            if line_kind == "A":
                self.attribute(line_no, rest)
            else:
                self.annotator_notes(line_no, rest)
        entities = sorted(self.entities.values(), key=lambda e: (e.start, e.end, e.ref))
        for entity in entities:
            if entity.values is None or "concept" not in entity.values:
                raise self.fail(EvalErrors.E309, entity.line, ref=entity.ref)
        return [
            GoldEntity(
                ref=e.ref,
                kind=e.kind,
                start=e.start,
                end=e.end,
                text=e.text,
                line=e.line,
                attributes=e.attributes,
                values=e.values or {},
            )
            for e in entities
        ]

    def entity(self, line_no: int, parts: list[str]) -> None:
        if len(parts) != 3:
            raise self.fail(EvalErrors.E300, line_no, problem="a T line has three tab-separated fields")
        match = _T_SPAN.fullmatch(parts[1])
        if match is None:
            problem = (
                "discontinuous spans are not used in this gold"
                if ";" in parts[1]
                else "the middle field must be 'Type start end'"
            )
            raise self.fail(EvalErrors.E300, line_no, problem=problem)
        type_name, start, end = match.group(1), int(match.group(2)), int(match.group(3))
        if type_name not in ENTITY_TYPES:
            raise self.fail(EvalErrors.E301, line_no, type=type_name, expected=", ".join(ENTITY_TYPES))
        if not start < end <= len(self.text):
            raise self.fail(EvalErrors.E302, line_no, start=start, end=end, length=len(self.text))
        if self.text[start:end] != parts[2]:
            raise self.fail(EvalErrors.E303, line_no, start=start, end=end)
        self.entities[parts[0]] = _Entity(
            ref=parts[0],
            kind=ENTITY_TYPES[type_name],
            start=start,
            end=end,
            text=parts[2],
            line=line_no,
        )

    def target(self, line_no: int, ref: str) -> _Entity:
        if ref not in self.entities:
            raise self.fail(EvalErrors.E306, line_no, ref=ref)
        return self.entities[ref]

    def attribute(self, line_no: int, rest: str) -> None:
        fields = rest.split(" ")
        if "\t" in rest or len(fields) != 3:
            raise self.fail(EvalErrors.E300, line_no, problem="an A line reads 'Name T1 value'")
        name, ref, value = fields
        if name not in ATTRIBUTES:
            raise self.fail(EvalErrors.E304, line_no, name=name, expected=", ".join(ATTRIBUTES))
        if value not in ATTRIBUTES[name]:
            raise self.fail(
                EvalErrors.E305,
                line_no,
                name=name,
                value=value,
                expected=", ".join(ATTRIBUTES[name]),
            )
        entity = self.target(line_no, ref)
        if name in entity.attributes:
            raise self.fail(EvalErrors.E311, line_no, ref=ref, what=f"attribute {name}")
        entity.attributes[name] = value

    def annotator_notes(self, line_no: int, rest: str) -> None:
        fields = rest.split("\t")
        head = fields[0].split(" ")
        if len(fields) != 2 or len(head) != 2 or head[0] != "AnnotatorNotes":
            raise self.fail(
                EvalErrors.E300,
                line_no,
                problem="a # line reads 'AnnotatorNotes T1<TAB>key=value; ...'",
            )
        entity = self.target(line_no, head[1])
        if entity.values is not None:
            raise self.fail(EvalErrors.E311, line_no, ref=head[1], what="AnnotatorNotes")
        entity.values = self.note_values(line_no, fields[1])

    def note_values(self, line_no: int, body: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for pair in (part.strip() for part in body.split(";")):
            if not pair:
                continue
            key, sep, raw = (piece.strip() for piece in pair.partition("="))
            if not sep:
                raise self.fail(EvalErrors.E300, line_no, problem=f"{key!r} is not key=value")
            if key not in NOTE_KEYS:
                raise self.fail(EvalErrors.E307, line_no, key=key, expected=", ".join(NOTE_KEYS))
            if key in values:
                raise self.fail(EvalErrors.E300, line_no, problem=f"key {key!r} is given twice")
            try:
                values[key] = NOTE_KEYS[key](raw)
            except ValueError as exc:
                raise self.fail(EvalErrors.E308, line_no, key=key, value=raw, expected=str(exc)) from None
        return values


def parse_ann(ann: str, text: str, path: str = "<ann>") -> list[GoldEntity]:
    """Parse one ``.ann`` against its note text; entities in text order.

    ``path`` only names the file in error messages.
    """
    return _Parser(text, path).parse(ann)
