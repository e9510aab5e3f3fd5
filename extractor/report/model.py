"""What a report page shows: patients, their verdicts, notes and facts, ready for templates.

Read from files (CONTRACT verdicts and notes, facts as ``extractor extract`` writes
them) or from a batch store. Every cited span is checked against its note's text
(``text[start:end] == evidence text``); a span that fails is listed as not found and is
never highlighted somewhere else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from extractor.notes import read_jsonl
from extractor.report.effects import EFFECT_LABELS, Effect, effect_of
from extractor.report.highlight import Span, highlight, span_key
from extractor.report.protocol import Protocol, Threshold, protocol
from extractor.store import Store

STATUS_LABELS = {"met": "Met", "not_met": "Not met", "unknown": "Unknown"}
OVERALL_LABELS = {"ineligible": "Ineligible", "candidate": "Candidate", "needs_review": "Needs review"}
# What the cue that decided a qualifier is called beside the sentence ("negation cue: denies").
CUE_NAMES = {
    "NEGATED_EXISTENCE": "negation",
    "POSSIBLE_EXISTENCE": "uncertainty",
    "HYPOTHETICAL": "hypothetical",
    "HISTORICAL": "history",
    "FAMILY": "family",
    "OTHER_EXPERIENCER": "other person",
}
MEDICATION_DATES = (
    ("since", "start"),
    ("stable since", "stable_since"),
    ("stopped", "stop"),
    ("last dose", "last_dose"),
)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def slug(value: str) -> str:
    """An id or file name from a patient, note or criterion id: the same id gives the same
    slug after every rebuild, and two ids never share one (other characters become ``~hex~``)."""
    return _UNSAFE.sub(lambda m: f"~{ord(m.group()):x}~", value)


@dataclass(frozen=True)
class EvidenceLink:
    """One cited span as a link into the highlighted note (``anchor`` is None when not found)."""

    note_id: str
    start: int
    end: int
    text: str
    anchor: str | None
    note_anchor: str | None
    key: str


@dataclass(frozen=True)
class CriterionView:
    id: str
    type: str
    status: str
    reason: str
    evidence: tuple[EvidenceLink, ...]
    anchor: str
    text: str = ""  # the protocol's words; empty when the trial file is not found
    person_only: bool = False

    @property
    def effect(self) -> Effect:
        return effect_of(self.type, self.status)


@dataclass(frozen=True)
class Cue:
    """The words that made a fact negated, family, hypothetical...: ``text[start:end]``."""

    start: int
    end: int
    text: str
    name: str


@dataclass(frozen=True)
class FactView:
    """One fact with the badges a reviewer must see (negated, possible, family...) and its particulars."""

    concept: str
    label: str
    kind: str
    assertion: str
    experiencer: str
    temporality: str
    badges: tuple[str, ...]
    link: EvidenceLink
    details: tuple[str, ...] = ()  # value and unit, dose, dates, as words
    day: dt.date | None = None  # the day the fact is about: its own date, else the note's
    cues: tuple[Cue, ...] = ()
    lab_value: float | None = None  # in ``lab_unit`` (the lab's canonical unit when known)
    lab_unit: str = ""
    ingredient: str = ""
    start: dt.date | None = None  # a medication's start, when written
    stop: dt.date | None = None
    prednisone_mg_day: float | None = None

    @property
    def review_key(self) -> str:
        """The fact's identity in reviews: note, offsets and concept."""
        return f"{self.link.note_id}:{self.link.start}:{self.link.end}:{self.concept}"

    @property
    def counts(self) -> bool:
        """Affirmed of the patient (what screening reads)."""
        return self.assertion == "present" and self.experiencer == "patient"


@dataclass(frozen=True)
class NoteView:
    note_id: str
    date: str | None
    type: str | None
    anchor: str
    html: Markup
    facts: tuple[FactView, ...]


@dataclass(frozen=True)
class PatientView:
    patient_id: str
    trial: str
    screening_date: str | None
    overall: str
    criteria: tuple[CriterionView, ...]
    notes: tuple[NoteView, ...]
    thresholds: tuple[Threshold, ...] = ()

    @property
    def anchor(self) -> str:
        """Stable across rebuilds: made of the patient and trial ids, never of a position."""
        return f"p-{slug(self.patient_id)}--{slug(self.trial)}"

    @property
    def file_name(self) -> str:
        """This patient's page in an ``--out-dir`` archive."""
        return f"{self.anchor}.html"

    def with_effect(self, *effects: Effect) -> tuple[CriterionView, ...]:
        return tuple(c for c in self.criteria if c.effect in effects)

    @property
    def excluded_by(self) -> tuple[CriterionView, ...]:
        """The criteria that put the patient out: exclusions met, inclusions not met."""
        return self.with_effect(Effect.EXCLUDES, Effect.FAILS)

    @property
    def to_check(self) -> tuple[CriterionView, ...]:
        return self.with_effect(Effect.TO_CHECK)

    @property
    def effect_counts(self) -> Counter[Effect]:
        return Counter(c.effect for c in self.criteria)

    @property
    def facts(self) -> tuple[FactView, ...]:
        return tuple(f for n in self.notes for f in n.facts)


@dataclass
class Material:
    """Verdict lines, note records and fact records, grouped by patient."""

    verdicts: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    facts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def badges(fact: Mapping[str, Any]) -> tuple[str, ...]:
    """The qualifiers that change what a mention means, as words (never colour alone)."""
    found = []
    assertion = fact.get("assertion", "present")
    if assertion == "absent":
        found.append("negated")
    elif assertion in ("possible", "hypothetical"):
        found.append(assertion)
    if fact.get("temporality") == "historical":
        found.append("historical")
    experiencer = fact.get("experiencer", "patient")
    if experiencer == "family":
        found.append("family")
    elif experiencer == "other":
        found.append("other person")
    return tuple(found)


def _link(note_id: str, start: int, end: int, text: str, anchors: Mapping[str, tuple[str, str]]) -> EvidenceLink:
    key = span_key(start, end)
    found = anchors.get(note_id)
    if found is None or found[1][start:end] != text or not 0 <= start < end:
        return EvidenceLink(note_id, start, end, text, None, None, key)
    return EvidenceLink(note_id, start, end, text, f"{found[0]}-{key}", found[0], key)


def _day(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _time_day(ref: Any) -> dt.date | None:
    """A time reference's day: its date, else the start of its interval."""
    if not isinstance(ref, Mapping):
        return None
    return _day(ref.get("date")) or _day(ref.get("start"))


def _number(value: float) -> str:
    return f"{value:g}"


def _lab_details(lab: Mapping[str, Any]) -> tuple[list[str], float | None, str]:
    words: list[str] = []
    value, unit = lab.get("value"), lab.get("unit") or ""
    if value is not None:
        high = lab.get("value_high")
        written = _number(value) + (f"\u2013{_number(high)}" if high is not None else "")
        words.append(f"{lab.get('comparator') or ''}{written} {unit}".strip())
    elif lab.get("titer") is not None:
        words.append(f"1:{lab['titer']}")
    if lab.get("qualitative"):
        words.append(str(lab["qualitative"]))
    canonical, canonical_unit = lab.get("canonical_value"), lab.get("canonical_unit") or ""
    if canonical is not None and (canonical != value or canonical_unit != unit):
        words.append(f"= {_number(canonical)} {canonical_unit}".strip())
    if lab.get("flag"):
        words.append(f"flag {lab['flag']}")
    if canonical is not None:
        return words, float(canonical), canonical_unit
    return words, (float(value) if value is not None else None), unit


def _medication_details(med: Mapping[str, Any]) -> list[str]:
    words = []
    if med.get("dose") is not None:
        words.append(f"{_number(med['dose'])} {med.get('dose_unit') or ''}".strip())
    words.extend(str(med[k]) for k in ("route", "frequency") if med.get(k))
    if med.get("prednisone_equivalent_mg_day") is not None:
        words.append(f"{_number(med['prednisone_equivalent_mg_day'])} mg/day prednisone-equivalent")
    if med.get("status") and med["status"] != "current":
        words.append(str(med["status"]))
    for name, key in MEDICATION_DATES:
        day = _time_day(med.get(key))
        if day:
            words.append(f"{name} {day.isoformat()}")
    words.extend(
        f"dose {_number(c['from_dose']) if c.get('from_dose') is not None else '?'}\u2192"
        f"{_number(c['to_dose']) if c.get('to_dose') is not None else '?'} {c.get('unit') or ''}".strip()
        for c in med.get("dose_changes", ())
    )
    return words


def fact_view(fact: Mapping[str, Any], link: EvidenceLink) -> FactView:
    """One fact record (as ``extractor extract`` writes it) as the report shows it."""
    day = _time_day(fact.get("time")) or _day(fact.get("note_date"))
    details: list[str] = []
    lab_value, lab_unit = None, ""
    if isinstance(fact.get("lab"), Mapping):
        words, lab_value, lab_unit = _lab_details(fact["lab"])
        details += words
    med = fact.get("medication") if isinstance(fact.get("medication"), Mapping) else {}
    details += _medication_details(med) if med else []
    if day is not None:
        details.append(f"dated {day.isoformat()}")
    text_len = link.end - link.start
    cues = tuple(
        Cue(int(c["char_start"]), int(c["char_end"]), str(c.get("text", "")), CUE_NAMES[c["category"]])
        for c in (fact.get("attrs") or {}).get("context_cues", ())
        if isinstance(c, Mapping) and c.get("category") in CUE_NAMES and "char_start" in c and text_len > 0
    )
    return FactView(
        fact["concept"],
        fact.get("label", fact["concept"]),
        fact["kind"],
        fact.get("assertion", "present"),
        fact.get("experiencer", "patient"),
        fact.get("temporality", "current"),
        badges(fact),
        link,
        tuple(details),
        day,
        cues if badges(fact) else (),  # a cue is shown where it changed what the mention means
        lab_value,
        lab_unit,
        str(med.get("ingredient") or "") if med else "",
        (_time_day(med.get("start")) or _time_day(med.get("stable_since"))) if med else None,
        _time_day(med.get("stop")) if med else None,
        med.get("prednisone_equivalent_mg_day") if med else None,
    )


def _note_spans(note_id: str, text: str, criteria: Iterable[CriterionView], facts: Iterable[FactView]) -> list[Span]:
    """Every span to mark in one note, each labelled with what it belongs to."""
    spans = []
    for c in criteria:
        for e in c.evidence:
            if e.note_anchor and e.note_id == note_id:
                words = f"{c.id}: {EFFECT_LABELS[c.effect].lower()}" + (f" \u2014 {c.text}" if c.text else "")
                spans.append(Span(e.start, e.end, "cited", words, c.id, c.anchor))
    for f in facts:
        if not f.link.anchor:
            continue
        qualifiers = ", ".join(f.badges) or "affirmed"
        spans.append(Span(f.link.start, f.link.end, "fact", f"fact: {f.label} ({qualifiers})"))
        spans.extend(
            Span(cue.start, cue.end, "cue", f"{cue.name} cue for {f.label}")
            for cue in f.cues
            if text[cue.start : cue.end] == cue.text
        )
    return spans


def patient_view(
    verdict: Mapping[str, Any],
    notes: Iterable[Mapping[str, Any]],
    facts: Iterable[Mapping[str, Any]],
    found: Protocol | None = None,
) -> PatientView:
    """One patient's page: criteria with links and protocol text, notes highlighted at every cited span."""
    patient_id, trial = str(verdict["patient_id"]), str(verdict["trial"])
    page = f"p-{slug(patient_id)}--{slug(trial)}"
    ordered = sorted(notes, key=lambda n: (str(n.get("date") or ""), str(n["note_id"])))
    anchors = {str(n["note_id"]): (f"{page}-n-{slug(str(n['note_id']))}", n["text"]) for n in ordered}
    info = found.criteria if found else {}
    criteria = tuple(
        CriterionView(
            c["id"],
            c.get("type", ""),
            c["status"],
            c.get("reason", ""),
            tuple(_link(e["note_id"], e["start"], e["end"], e["text"], anchors) for e in c.get("evidence", ())),
            f"{page}-c-{slug(c['id'])}",
            info[c["id"]].text if c["id"] in info else "",
            info[c["id"]].person_only if c["id"] in info else False,
        )
        for c in verdict["criteria"]
    )
    fact_views: dict[str, list[FactView]] = {}
    for fact in facts:
        ev = fact["evidence"]
        link = _link(ev["note_id"], ev["char_start"], ev["char_end"], ev["text"], anchors)
        fact_views.setdefault(ev["note_id"], []).append(fact_view(fact, link))
    note_views = []
    for note in ordered:
        note_id = str(note["note_id"])
        of_note = fact_views.get(note_id, [])
        prefix = anchors[note_id][0]
        note_views.append(
            NoteView(
                note_id,
                str(note["date"]) if note.get("date") else None,
                note.get("type"),
                prefix,
                highlight(note["text"], _note_spans(note_id, note["text"], criteria, of_note), f"{prefix}-"),
                tuple(sorted(of_note, key=lambda f: f.link.start)),
            )
        )
    ids = {c.id for c in criteria}
    return PatientView(
        patient_id,
        trial,
        verdict.get("screening_date"),
        verdict["overall"],
        criteria,
        tuple(note_views),
        tuple(t for t in found.thresholds if t.criterion in ids) if found else (),
    )


def build_views(material: Material, trial_files: Iterable[Path] = ()) -> list[PatientView]:
    """Every verdict's patient page, in patient order.

    Protocol texts come from ``trial_files`` (for trials screened from a file) or else the
    bundled trial of the verdict's id.
    """
    given = {found.name: found for found in (protocol(str(path)) for path in trial_files) if found}
    ordered = sorted(material.verdicts, key=lambda v: (str(v["patient_id"]), v["trial"]))
    return [
        patient_view(
            v,
            material.notes.get(str(v["patient_id"]), ()),
            material.facts.get(str(v["patient_id"]), ()),
            given.get(str(v["trial"])) or protocol(str(v["trial"])),
        )
        for v in ordered
    ]


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def material_from_files(verdicts: Path, notes: Path, facts: Path | None = None, trial: str | None = None) -> Material:
    """Verdicts (CONTRACT JSON Lines), notes (CONTRACT) and optionally facts (``extractor extract``)."""
    material = Material()
    material.verdicts = [v for v in _jsonl(verdicts) if trial is None or v.get("trial") == trial]
    for note in read_jsonl(notes):
        record = {"note_id": note.note_id, "text": note.text, "date": note.date, "type": note.type}
        material.notes.setdefault(note.patient_id, []).append(record)
    if facts is not None:
        note_patients = {n["note_id"]: pid for pid, notes_ in material.notes.items() for n in notes_}
        for fact in _jsonl(facts):
            patient = fact.get("patient_id") or note_patients.get(fact["evidence"]["note_id"])
            if patient is not None:
                material.facts.setdefault(str(patient), []).append(fact)
    return material


def material_from_store(
    store: Store, trial: str | None = None, patient_id: str | None = None, with_notes: bool = True
) -> Material:
    """Verdicts, processed notes and facts from a batch store (one patient, or all).

    ``with_notes=False`` reads verdicts only: enough for the patient list.
    """
    material = Material()
    where, params = ["verdict IS NOT NULL"], []
    if trial:
        where.append("trial = ?")
        params.append(trial)
    if patient_id is not None:
        where.append("patient_id = ?")
        params.append(patient_id)
    rows = store.con.execute(
        f"SELECT CAST(verdict AS VARCHAR) FROM verdicts WHERE {' AND '.join(where)} ORDER BY patient_id, trial",
        params,
    ).fetchall()
    material.verdicts = [json.loads(row[0]) for row in rows]
    if not with_notes:
        return material
    only = " AND patient_id = ?" if patient_id is not None else ""
    extra = [patient_id] if patient_id is not None else []
    notes = store.con.execute(
        f"SELECT patient_id, note_id, text, date, type FROM notes WHERE status = 'done'{only} ORDER BY patient_id",
        extra,
    ).fetchall()
    for pid, note_id, text, date, note_type in notes:
        material.notes.setdefault(pid, []).append({"note_id": note_id, "text": text, "date": date, "type": note_type})
    facts = store.con.execute(
        f"SELECT patient_id, CAST(fact AS VARCHAR) FROM facts WHERE true{only} ORDER BY patient_id, note_id, seq",
        extra,
    ).fetchall()
    for pid, fact in facts:
        material.facts.setdefault(pid, []).append(json.loads(fact))
    return material
