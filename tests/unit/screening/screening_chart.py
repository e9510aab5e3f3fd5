"""Build a patient's notes and facts from a compact spec, with exact evidence offsets.

A spec names notes (id → date, or id → {date, text}) and facts. A fact in a note
without written text becomes one line of that note; in a note with text, the fact's
``text`` is found in it (``nth`` occurrence). Either way ``text[start:end]`` is exact.

    notes: {N1: 2025-02-14}
    sex: F
    birth_date: 2012-05-01
    facts:
      - {kind: lab, concept: hemoglobin, text: "Hgb 7.9 g/dL", value: 7.9, unit: g/dL,
         canonical_value: 79, canonical_unit: g/L}
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from extractor.facts import (
    DoseChange,
    Evidence,
    Fact,
    LabResult,
    MedicationDetails,
    TimeRef,
)
from extractor.notes import Note

LAB_FIELDS = (
    "value", "value_high", "titer", "qualitative", "comparator", "unit", "canonical_value",
    "canonical_unit", "ref_high", "flag", "uln_multiple",
)
MED_FIELDS = ("classes", "status", "dose", "daily_dose", "dose_unit", "response", "frequency", "course_count", "route")
MED_TIMES = ("start", "stop", "last_dose", "stable_since")


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _time(value: Any) -> TimeRef | None:
    """A date ('2025-01-05') or an interval ('2024-03-01..2024-03-31', '..2024-01-01')."""
    if value is None:
        return None
    text = str(value)
    if ".." in text:
        start, end = text.split("..")
        return TimeRef(start=_date(start or None), end=_date(end or None), source="text")
    return TimeRef(date=_date(text), precision="day", source="text")


def _placed(time: TimeRef | None, written: str | None, text: str, after: int) -> TimeRef | None:
    """The time with the offsets of its words (``date_text``, found after the fact), if given."""
    if time is None or written is None:
        return time
    at = text.find(written, after)
    return time.model_copy(update={"text": written, "char_start": at, "char_end": at + len(written)})


def build_chart(spec: dict[str, Any], patient_id: str = "P1") -> tuple[list[Note], list[Fact]]:
    """Notes and facts of one patient from ``spec`` (see the module docstring)."""
    raw_notes = spec.get("notes") or {"N1": spec.get("date", "2025-03-01")}
    note_specs = {
        note_id: value if isinstance(value, dict) else {"date": value}
        for note_id, value in raw_notes.items()
    }
    first_note = next(iter(note_specs))
    facts_spec = spec.get("facts", [])
    texts: dict[str, str] = {}
    positions: list[int] = []
    for note_id, note_spec in note_specs.items():
        if "text" in note_spec:
            texts[note_id] = note_spec["text"]
    lines: dict[str, list[str]] = {}
    for item in facts_spec:
        note_id = item.get("note", first_note)
        if note_id in texts:
            positions.append(_find(texts[note_id], item["text"], item.get("nth", 1)))
        else:
            taken = lines.setdefault(note_id, [])
            positions.append(sum(len(line) + 1 for line in taken))
            taken.append(item["text"])
    for note_id, taken in lines.items():
        texts[note_id] = "\n".join(taken)
    notes = []
    for note_id, note_spec in note_specs.items():
        extra = {"sex": spec.get("sex"), "birth_date": _date(spec.get("birth_date"))}
        notes.append(
            Note(
                patient_id=patient_id,
                note_id=note_id,
                text=texts.get(note_id, ""),
                date=_date(note_spec.get("date")),
                type=note_spec.get("type"),
                **(extra if note_id == first_note else {}),
            )
        )
    dates = {n.note_id: n.date for n in notes}
    facts = [
        _fact(item, item.get("note", first_note), start, texts, dates, patient_id)
        for item, start in zip(facts_spec, positions, strict=True)
    ]
    return notes, facts


def _find(text: str, phrase: str, nth: int) -> int:
    start = -1
    for _ in range(nth):
        start = text.find(phrase, start + 1)
        if start < 0:
            raise ValueError(f"{phrase!r} not found {nth} times in the note")
    return start


def _fact(
    item: dict[str, Any],
    note_id: str,
    start: int,
    texts: dict[str, str],
    dates: dict[str, dt.date | None],
    patient_id: str,
) -> Fact:
    span = item.get("span", item["text"])
    start += item["text"].find(span)
    evidence = Evidence(
        note_id=note_id, char_start=start, char_end=start + len(span), text=span,
        section=item.get("section"),
    )
    assert texts[note_id][evidence.char_start : evidence.char_end] == span
    attrs = dict(item.get("attrs", {}))
    if "years" in item:
        attrs["years"] = item["years"]
    if "sex" in item:
        attrs["sex"] = item["sex"]
    lab = None
    if item["kind"] in ("lab", "score"):
        fields = {k: item[k] for k in LAB_FIELDS if k in item}
        if "value" in item and "value_text" in item:
            value_at = texts[note_id].find(item["value_text"], start)
            fields["value_char_start"] = value_at
            fields["value_char_end"] = value_at + len(item["value_text"])
        lab = LabResult(**fields)
    medication = None
    if item["kind"] == "medication":
        details: dict[str, Any] = {k: item[k] for k in MED_FIELDS if k in item}
        details.update({k: _time(item[k]) for k in MED_TIMES if k in item})
        if "pe" in item:
            details["prednisone_equivalent_mg_day"] = item["pe"]
        details["dose_changes"] = tuple(
            DoseChange(date=_date(c.get("date")), from_dose=c.get("from"), to_dose=c.get("to"))
            for c in item.get("dose_changes", [])
        )
        medication = MedicationDetails(ingredient=item.get("ingredient", item["concept"]), **details)
    return Fact(
        kind=item["kind"],
        concept=item["concept"],
        label=item.get("label", item["concept"].replace("_", " ")),
        assertion=item.get("assertion", "present"),
        experiencer=item.get("experiencer", "patient"),
        temporality=item.get("temporality", "current"),
        time=_placed(_time(item.get("date")), item.get("date_text"), texts[note_id], start),
        attrs=attrs,
        infection_state=item.get("state"),
        lab=lab,
        medication=medication,
        evidence=evidence,
        patient_id=patient_id,
        note_date=dates[note_id],
    )
