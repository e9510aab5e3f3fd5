"""What a report page shows: patients, their verdicts, notes and facts, ready for templates.

Read from files (CONTRACT verdicts and notes, facts as ``extractor extract`` writes
them) or from a batch store. Every cited span is checked against its note's text
(``text[start:end] == evidence text``); a span that fails is listed as not found and is
never highlighted somewhere else.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from extractor.notes import read_jsonl
from extractor.report.highlight import Span, highlight, span_key
from extractor.store import Store

STATUS_LABELS = {"met": "Met", "not_met": "Not met", "unknown": "Unknown"}
STATUS_SYMBOLS = {"met": "\u2714", "not_met": "\u2716", "unknown": "?"}
OVERALL_LABELS = {"ineligible": "Ineligible", "candidate": "Candidate", "needs_review": "Needs review"}


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


@dataclass(frozen=True)
class FactView:
    """One fact with the badges a reviewer must see (negated, possible, family...)."""

    concept: str
    label: str
    kind: str
    assertion: str
    experiencer: str
    temporality: str
    badges: tuple[str, ...]
    link: EvidenceLink

    @property
    def review_key(self) -> str:
        """The fact's identity in reviews: note, offsets and concept."""
        return f"{self.link.note_id}:{self.link.start}:{self.link.end}:{self.concept}"


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
    index: int
    patient_id: str
    trial: str
    screening_date: str | None
    overall: str
    criteria: tuple[CriterionView, ...]
    notes: tuple[NoteView, ...]

    @property
    def counts(self) -> Counter[str]:
        return Counter(c.status for c in self.criteria)

    @property
    def anchor(self) -> str:
        return f"patient-{self.index}"


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


def patient_view(
    index: int, verdict: Mapping[str, Any], notes: Iterable[Mapping[str, Any]], facts: Iterable[Mapping[str, Any]]
) -> PatientView:
    """One patient's page: criteria with links, notes highlighted at every cited span."""
    ordered = sorted(notes, key=lambda n: (str(n.get("date") or ""), str(n["note_id"])))
    anchors = {str(n["note_id"]): (f"p{index}-n{i}", n["text"]) for i, n in enumerate(ordered)}
    criteria = tuple(
        CriterionView(
            c["id"],
            c.get("type", ""),
            c["status"],
            c.get("reason", ""),
            tuple(_link(e["note_id"], e["start"], e["end"], e["text"], anchors) for e in c.get("evidence", ())),
        )
        for c in verdict["criteria"]
    )
    fact_views: dict[str, list[FactView]] = {}
    for fact in facts:
        ev = fact["evidence"]
        link = _link(ev["note_id"], ev["char_start"], ev["char_end"], ev["text"], anchors)
        fact_views.setdefault(ev["note_id"], []).append(
            FactView(
                fact["concept"],
                fact.get("label", fact["concept"]),
                fact["kind"],
                fact.get("assertion", "present"),
                fact.get("experiencer", "patient"),
                fact.get("temporality", "current"),
                badges(fact),
                link,
            )
        )
    note_views = []
    for note in ordered:
        note_id = str(note["note_id"])
        cited = [e for c in criteria for e in c.evidence if e.note_anchor and e.note_id == note_id]
        spans = [Span(e.start, e.end, "cited") for e in cited]
        spans += [Span(f.link.start, f.link.end, "fact") for f in fact_views.get(note_id, ()) if f.link.anchor]
        prefix = anchors[note_id][0]
        note_views.append(
            NoteView(
                note_id,
                str(note["date"]) if note.get("date") else None,
                note.get("type"),
                prefix,
                highlight(note["text"], spans, f"{prefix}-"),
                tuple(sorted(fact_views.get(note_id, ()), key=lambda f: f.link.start)),
            )
        )
    return PatientView(
        index,
        str(verdict["patient_id"]),
        verdict["trial"],
        verdict.get("screening_date"),
        verdict["overall"],
        criteria,
        tuple(note_views),
    )


def build_views(material: Material) -> list[PatientView]:
    """Every verdict's patient page, in patient order."""
    ordered = sorted(material.verdicts, key=lambda v: (str(v["patient_id"]), v["trial"]))
    return [
        patient_view(i, v, material.notes.get(str(v["patient_id"]), ()), material.facts.get(str(v["patient_id"]), ()))
        for i, v in enumerate(ordered)
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
