"""Tools for the development gold corpus (``corpora/dev``): offsets, validation, building.

Gold offsets are never typed by hand: they are computed here from an exact quoted string,
so that ``text[start:end]`` always equals the cited words. The same module validates the
whole corpus (brat ``.ann`` files per ``docs/brat-gold.md``, per-patient verdicts per the
screening CONTRACT, patient files) and builds the CONTRACT JSON Lines files that the
evaluation reads.

Command line (run from the repository root)::

    python scripts/dev_corpus_tools.py offset corpora/dev/notes/P01-N1.txt "Hgb 9.6 g/dL" \
        [--occurrence N] [--within "anchor text"] [--within-occurrence N]
    python scripts/dev_corpus_tools.py check [--root corpora/dev]
    python scripts/dev_corpus_tools.py build [--root corpora/dev]
    python scripts/dev_corpus_tools.py ann SPEC.yaml [--root corpora/dev]

Locating a string: ``occurrence`` counts exact matches from 0. ``within`` first finds an
anchor (its ``within_occurrence``-th match), then the string inside the anchor, so
``text="SLE", within="mother with SLE"`` picks the family-history mention.

An ``ann`` spec (YAML; the same dicts go to :func:`write_ann` from Python)::

    note_id: P01-N1
    entities:
      - {type: Condition, text: SLE, concept: sle, all: true}
      - {type: Condition, text: SLE, within: mother with SLE, concept: sle,
         attrs: {Experiencer: family}}
      - {type: Lab, text: Hgb, within: Hgb 9.6 g/dL, concept: hemoglobin,
         notes: {value: 9.6, unit: g/dL, canonical_value: 96, canonical_unit: g/L,
                 date: 2025-02-14}}

``all: true`` annotates every occurrence not claimed by another entity of the spec
(matching case-sensitively, on word boundaries). Entities are numbered in text order.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = REPO / "corpora" / "dev"
PATTERNS_DIR = REPO / "patterns"
# The trial texts are shared between repositories, one level above this one.
SHARED_TRIAL_DIR = REPO.parent / "shared" / "trial"

ENTITY_TYPES = {
    "Condition": "condition",
    "Infection": "infection",
    "Medication": "medication",
    "Lab": "lab",
    "Vaccine": "vaccine",
    "Procedure": "procedure",
    "Score": "score",
    "Demographic": "demographic",
    "Social": "social",
    "Vital": "vital",
}
ATTRIBUTES: dict[str, tuple[set[str], set[str] | None]] = {
    # name: (allowed values, entity types it may sit on; None = any)
    "Assertion": ({"absent", "possible", "hypothetical"}, None),
    "Experiencer": ({"family", "other"}, None),
    "Temporality": ({"historical"}, None),
    "InfectionState": (
        {"active", "treated", "latent", "history", "serology", "resolved"},
        {"Infection"},
    ),
    "MedStatus": ({"past", "planned", "held", "stopped"}, {"Medication"}),
    "Response": (
        {"inadequate_response", "failure", "refractory", "intolerance", "allergy"},
        {"Medication"},
    ),
}
NOTE_KEYS = {
    "concept", "value", "value_high", "comparator", "unit", "canonical_value", "canonical_unit", "titer",
    "qualitative", "uln_multiple", "date", "dose", "dose_unit", "daily_dose", "route",
    "frequency", "years", "sex", "systolic", "diastolic",
}
NUMERIC_KEYS = {
    "value", "value_high", "canonical_value", "titer", "uln_multiple", "dose", "daily_dose", "years",
    "systolic", "diastolic",
}
QUALITATIVE = {
    "positive", "negative", "reactive", "nonreactive", "detected", "not_detected",
    "indeterminate", "equivocal",
}
COMPARATORS = {"<", ">", "<=", ">="}
DEMOGRAPHIC_CONCEPTS = {"age", "sex"}
STATUSES = {"met", "not_met", "unknown"}
OVERALLS = {"ineligible", "candidate", "needs_review"}
PERSON_ONLY = {"inc-consent", "exc-investigator-judgement"}
PATIENT_KEYS = {"patient_id", "sex", "birth_date", "screening_date", "trials", "notes"}
NOTE_ENTRY_KEYS = {"note_id", "date", "type"}
EVIDENCE_KEYS = {"note_id", "start", "end", "text", "section"}

# Section names used in gold evidence, each with the words that open such a section in a
# heading. Checked in this order: the first section with a word in the heading wins, so
# "past medical history" is pmh before "history" makes it hpi. A word ending in "*" matches
# as a prefix ("med*" matches "meds", "medications").
SECTION_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("family_history", ("family", "fh", "fhx")),
    ("social_history", ("social", "sh")),
    ("allergies", ("allerg*", "all")),
    ("immunizations", ("immuniz*", "vaccin*")),
    ("labs", (
        "lab*", "hematology", "haematology", "chemistry", "biochemistry", "immunology",
        "serolog*", "urinalysis", "urine", "flow", "subsets", "results", "data", "cbc", "cmp",
        "collected", "collection", "drawn", "specimen", "infectious", "microbiology", "virology",
    )),
    ("medications", ("med", "meds", "medication*", "treatment history", "prior therap*")),
    ("ros", ("ros", "review of systems")),
    ("psh", ("psh", "surgical")),
    ("pmh", ("pmh", "past medical", "problem*", "diagnos*", "dx")),
    ("imaging", (
        "echo*", "ecg", "ekg", "tte", "cxr", "mri", "ct", "imaging", "studies", "radiology",
        "pathology", "ventricle", "valves", "pericardium",
    )),
    ("physical_exam", (
        "exam*", "vital*", "pe", "o/e", "objective", "o", "gen", "heent", "cv", "resp", "msk",
        "neuro", "skin", "lungs", "heart", "abd", "ext", "joints", "mouth", "lymph", "chest",
    )),
    ("assessment_plan", (
        "assessment*", "plan", "a/p", "impression*", "recommendation*", "recs", "mdm",
        "dispo*", "discussion", "follow*",
    )),
    ("hospital_course", ("course", "infusion")),
    ("hpi", (
        "hpi", "history of present illness", "interval*", "subjective", "s", "cc",
        "chief complaint", "reason", "triage", "presenting", "history", "called",
    )),
)
# A heading: "Name:" at the start of a line (dates allowed, as in "Labs 05/01:", but no
# sentence break before the colon), or a line without lower-case letters ("HEMATOLOGY").
_HEADING = re.compile(
    r"^[ \t]*(?:([A-Za-z](?:[^:\n.]|\.(?! )){0,50}?)[ \t]*:|([A-Z][^a-z\n]{1,60}?)[ \t]*$)",
    re.MULTILINE,
)


def heading_section(heading: str) -> str | None:
    """The section a heading opens, or None for a heading that names no known section."""
    lowered = heading.lower()
    words = re.findall(r"[a-z/]+", lowered)
    for section, keywords in SECTION_KEYWORDS:
        for keyword in keywords:
            if " " in keyword:
                if keyword in lowered:
                    return section
            elif keyword.endswith("*"):
                if any(word.startswith(keyword[:-1]) for word in words):
                    return section
            elif keyword in words:
                return section
    return None


class SpanNotFound(LookupError):
    """The quoted string (or its anchor) does not occur often enough in the note."""


# --------------------------------------------------------------------------- offsets


def _nth(text: str, needle: str, occurrence: int, start: int = 0, end: int | None = None) -> int:
    end = len(text) if end is None else end
    pos = start - 1
    for _ in range(occurrence + 1):
        pos = text.find(needle, pos + 1, end)
        if pos < 0:
            raise SpanNotFound(f"occurrence {occurrence} of a {len(needle)}-char string not found")
    return pos


def find_span(
    text: str,
    needle: str,
    occurrence: int = 0,
    within: str | None = None,
    within_occurrence: int = 0,
) -> tuple[int, int]:
    """Start/end (end-exclusive) of the ``occurrence``-th exact match of ``needle``.

    With ``within``, the match is searched inside the ``within_occurrence``-th match of
    that anchor only, which is how one picks one mention among several identical ones.
    """
    if not needle:
        raise SpanNotFound("empty string")
    lo, hi = 0, len(text)
    if within is not None:
        lo = _nth(text, within, within_occurrence)
        hi = lo + len(within)
    start = _nth(text, needle, occurrence, lo, hi)
    return start, start + len(needle)


def all_word_spans(text: str, needle: str) -> list[tuple[int, int]]:
    """Every case-sensitive match of ``needle`` that is not inside a longer word."""
    pattern = re.compile(r"(?<![A-Za-z0-9])" + re.escape(needle) + r"(?![A-Za-z0-9])")
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def section_at(text: str, offset: int) -> str:
    """The section an offset falls in, for the ``section`` of gold evidence.

    The nearest heading before the offset that names a known section decides; a report's
    capitalised title counts as a heading (a LABORATORY report is ``labs``). Text before
    any such heading is ``other``.
    """
    best = "other"
    for match in _HEADING.finditer(text):
        if match.start() > offset:
            break
        section = heading_section(match.group(1) or match.group(2))
        if section:
            best = section
    return best


def evidence(
    notes_dir: Path,
    note_id: str,
    text: str,
    occurrence: int = 0,
    within: str | None = None,
    within_occurrence: int = 0,
    section: str | None = None,
) -> dict[str, Any]:
    """One CONTRACT evidence object for an exact quote in a note of ``notes_dir``."""
    note_text = read_note_text(notes_dir / f"{note_id}.txt")
    start, end = find_span(note_text, text, occurrence, within, within_occurrence)
    return {
        "note_id": note_id,
        "start": start,
        "end": end,
        "text": note_text[start:end],
        "section": section or section_at(note_text, start),
    }


def read_note_text(path: Path) -> str:
    """A note's text exactly as stored (UTF-8, newlines untranslated)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


# --------------------------------------------------------------------------- brat


@dataclass
class Entity:
    """One brat ``T`` line with its attributes and normalised values."""

    tid: str
    type: str
    start: int
    end: int
    text: str
    attrs: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def concept(self) -> str | None:
        return self.notes.get("concept")


def parse_ann(ann_text: str) -> tuple[dict[str, Entity], list[str]]:
    """Entities of a brat ``.ann`` file, and the problems found while reading it."""
    entities: dict[str, Entity] = {}
    problems: list[str] = []
    pending: list[tuple[int, str]] = []
    for line_no, line in enumerate(ann_text.split("\n"), start=1):
        if not line.strip():
            continue
        if line.startswith("T"):
            parts = line.split("\t")
            head = parts[1].split(" ") if len(parts) == 3 else []
            if len(head) != 3 or not head[1].isdigit() or not head[2].isdigit():
                problems.append(f"line {line_no}: malformed T line (discontinuous spans unused)")
                continue
            if parts[0] in entities:
                problems.append(f"line {line_no}: duplicate id {parts[0]}")
            entities[parts[0]] = Entity(parts[0], head[0], int(head[1]), int(head[2]), parts[2])
        elif line.startswith(("A", "#")):
            pending.append((line_no, line))
        else:
            problems.append(f"line {line_no}: unsupported brat line kind {line[:1]!r}")
    for line_no, line in pending:
        parts = line.split("\t")
        if line.startswith("A"):
            words = parts[1].split(" ") if len(parts) == 2 else []
            if len(words) != 3 or words[1] not in entities:
                problems.append(f"line {line_no}: malformed A line or unknown entity")
                continue
            entity = entities[words[1]]
            if words[0] in entity.attrs:
                problems.append(f"line {line_no}: {words[0]} given twice for {words[1]}")
            entity.attrs[words[0]] = words[2]
            continue
        words = parts[1].split(" ") if len(parts) == 3 else []
        if len(words) != 2 or words[0] != "AnnotatorNotes" or words[1] not in entities:
            problems.append(f"line {line_no}: malformed AnnotatorNotes line or unknown entity")
            continue
        entity = entities[words[1]]
        if entity.notes:
            problems.append(f"line {line_no}: second AnnotatorNotes for {words[1]}")
        for pair in parts[2].split("; "):
            key, sep, value = pair.partition("=")
            if not sep or not key or not value:
                problems.append(f"line {line_no}: note {pair!r} is not key=value")
                continue
            entity.notes[key] = value
    return entities, problems


def format_ann(entities: Sequence[Entity]) -> str:
    """brat standoff text for entities (numbered T1.. in the given order)."""
    lines: list[str] = []
    a_no = 0
    for n, ent in enumerate(entities, start=1):
        tid = f"T{n}"
        lines.append(f"{tid}\t{ent.type} {ent.start} {ent.end}\t{ent.text}")
        for name in ATTRIBUTES:
            if name in ent.attrs:
                a_no += 1
                lines.append(f"A{a_no}\t{name} {tid} {ent.attrs[name]}")
        notes = "; ".join(f"{k}={v}" for k, v in ent.notes.items())
        lines.append(f"#{n}\tAnnotatorNotes {tid}\t{notes}")
    return "\n".join(lines) + "\n"


def _note_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def entities_from_spec(text: str, specs: Iterable[Mapping[str, Any]]) -> list[Entity]:
    """Resolve entity specs (see the module docstring) against a note's text.

    Explicit entities are placed first; ``all: true`` entities then take every remaining
    word-bounded occurrence. Two entities on one identical span are an error.
    """
    placed: dict[tuple[int, int], Entity] = {}
    later: list[Mapping[str, Any]] = []

    def make(spec: Mapping[str, Any], start: int, end: int) -> Entity:
        notes = {"concept": str(spec["concept"])}
        notes.update({k: _note_value(v) for k, v in (spec.get("notes") or {}).items()})
        attrs = {k: str(v) for k, v in (spec.get("attrs") or {}).items()}
        return Entity("", str(spec["type"]), start, end, text[start:end], attrs, notes)

    for spec in specs:
        if spec.get("all"):
            later.append(spec)
            continue
        try:
            start, end = find_span(
                text, spec["text"], spec.get("occurrence", 0), spec.get("within"),
                spec.get("within_occurrence", 0),
            )
        except SpanNotFound as exc:
            raise SpanNotFound(f"{exc} ({spec['concept']})") from exc
        if (start, end) in placed:
            raise ValueError(f"two entities on span {start}:{end} ({spec['concept']})")
        placed[(start, end)] = make(spec, start, end)
    for spec in later:
        spans = all_word_spans(text, spec["text"])
        if not spans:
            raise SpanNotFound(f"an 'all' entity matched nothing ({spec['concept']})")
        for start, end in spans:
            if not any(s <= start and end <= e for s, e in placed):
                placed[(start, end)] = make(spec, start, end)
    return [placed[key] for key in sorted(placed)]


def write_ann(txt_path: Path, specs: Iterable[Mapping[str, Any]]) -> list[Entity]:
    """Write ``<note>.ann`` beside ``txt_path`` from entity specs; returns the entities."""
    entities = entities_from_spec(read_note_text(txt_path), specs)
    txt_path.with_suffix(".ann").write_text(format_ann(entities), encoding="utf-8", newline="")
    return entities


# --------------------------------------------------------------------------- reference data


def vocabulary_concepts(patterns_dir: Path = PATTERNS_DIR) -> dict[str, str]:
    """Concept id -> kind from every vocabulary file in ``patterns/`` (empty if none yet)."""
    concepts: dict[str, str] = {}
    for path in sorted(patterns_dir.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("vocabulary"):
            continue
        for entry in data.get("entries") or []:
            if isinstance(entry, dict) and "id" in entry:
                concepts[str(entry["id"])] = str(entry.get("kind", ""))
    return concepts


@dataclass(frozen=True)
class Criterion:
    """A criterion id with its type (inclusion/exclusion), when the trial defines one."""

    id: str
    type: str | None


def trial_criteria(trial: str, trial_dir: Path = SHARED_TRIAL_DIR) -> list[Criterion]:
    """The criterion ids of a trial.

    ``blinatumomab-sle``: ``criteria.yaml``. ``n2c2-2018``: the 13 criterion names as
    published (``ABDOMINAL`` ... ``MI-6MOS``), which have no inclusion/exclusion type.
    """
    if trial == "blinatumomab-sle":
        data = yaml.safe_load((trial_dir / "criteria.yaml").read_text(encoding="utf-8"))
        return [Criterion(c["id"], c["type"]) for c in data["criteria"]]
    if trial == "n2c2-2018":
        text = (trial_dir / "n2c2-2018-cohort-criteria.txt").read_text(encoding="utf-8")
        names = re.findall(r"^([A-Z][A-Z0-9-]+[A-Z0-9])\s{2,}", text, re.MULTILINE)
        return [Criterion(name, None) for name in names]
    raise KeyError(f"unknown trial {trial!r}")


def expected_overall(criteria: Sequence[Criterion], statuses: Mapping[str, str]) -> str | None:
    """The overall verdict criteria.yaml defines, or None for a trial without types."""
    if any(c.type is None for c in criteria):
        return None
    for c in criteria:
        status = statuses.get(c.id)
        if (c.type == "inclusion" and status == "not_met") or (
            c.type == "exclusion" and status == "met"
        ):
            return "ineligible"
    favourable = all(
        c.id in PERSON_ONLY
        or statuses.get(c.id) == ("met" if c.type == "inclusion" else "not_met")
        for c in criteria
    )
    return "candidate" if favourable else "needs_review"


# --------------------------------------------------------------------------- checks


def _iso(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _partial_iso(value: str) -> bool:
    """An ISO 8601 calendar date at day, month or year precision ("2021", "2021-10")."""
    parts = value.split("-")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return False
    padded = parts + ["01"] * (3 - len(parts))
    return len(parts[0]) == 4 and _iso("-".join(padded)) is not None


def check_ann(
    note_id: str, text: str, ann_text: str, concepts: Mapping[str, str]
) -> list[str]:
    """Problems of one ``.ann`` file against its note text and the vocabularies."""
    entities, problems = parse_ann(ann_text)
    out = [f"{note_id}.ann {p}" for p in problems]
    seen: dict[tuple[int, int], str] = {}
    for ent in entities.values():
        where = f"{note_id}.ann {ent.tid}"
        if ent.type not in ENTITY_TYPES:
            out.append(f"{where}: unknown entity type {ent.type!r}")
        if not 0 <= ent.start < ent.end <= len(text) or text[ent.start : ent.end] != ent.text:
            out.append(f"{where}: span text differs from the note at {ent.start}:{ent.end}")
        elif ent.text != ent.text.strip():
            out.append(f"{where}: span has leading or trailing whitespace")
        if (ent.start, ent.end) in seen:
            out.append(f"{where}: same span as {seen[(ent.start, ent.end)]}")
        seen[(ent.start, ent.end)] = ent.tid
        for name, value in ent.attrs.items():
            allowed, types = ATTRIBUTES.get(name, (set(), None))
            if value not in allowed:
                out.append(f"{where}: attribute {name} {value!r} not allowed")
            elif types is not None and ent.type not in types:
                out.append(f"{where}: attribute {name} does not apply to {ent.type}")
        out.extend(_check_notes(where, ent, concepts))
    return out


def _check_notes(where: str, ent: Entity, concepts: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    concept = ent.concept
    if not concept:
        return [f"{where}: AnnotatorNotes with concept=... missing"]
    if ent.type == "Demographic":
        if concept not in DEMOGRAPHIC_CONCEPTS:
            out.append(f"{where}: demographic concept must be age or sex, not {concept!r}")
    elif concept in DEMOGRAPHIC_CONCEPTS:
        out.append(f"{where}: concept {concept!r} needs entity type Demographic")
    else:
        kind = concepts.get(concept)
        # A kind's vocabulary may not be written yet: only check kinds that have one.
        if kind is None and ENTITY_TYPES.get(ent.type) in set(concepts.values()):
            out.append(f"{where}: concept {concept!r} is in no patterns/ vocabulary")
        elif kind and kind != ENTITY_TYPES.get(ent.type):
            out.append(f"{where}: concept {concept!r} is a {kind}, not a {ent.type}")
    for key, value in ent.notes.items():
        if key not in NOTE_KEYS:
            out.append(f"{where}: unknown AnnotatorNotes key {key!r}")
        elif key in NUMERIC_KEYS:
            try:
                float(value)
            except ValueError:
                out.append(f"{where}: {key} must be a number")
        elif key == "date" and not _partial_iso(value):
            out.append(f"{where}: date must be an ISO date (YYYY, YYYY-MM or YYYY-MM-DD)")
        elif key == "comparator" and value not in COMPARATORS:
            out.append(f"{where}: comparator {value!r} not allowed")
        elif key == "qualitative" and value not in QUALITATIVE:
            out.append(f"{where}: qualitative {value!r} not allowed")
        elif key == "sex" and value not in {"F", "M"}:
            out.append(f"{where}: sex must be F or M")
    if concept == "age" and "years" not in ent.notes:
        out.append(f"{where}: age needs years=")
    if concept == "sex" and "sex" not in ent.notes:
        out.append(f"{where}: sex needs sex=")
    return out


def check_verdict(
    path: Path, verdict: Any, criteria: Sequence[Criterion], notes: Mapping[str, str]
) -> list[str]:
    """Problems of one verdict object: ids, statuses, evidence offsets, overall."""
    name = path.name
    if not isinstance(verdict, dict):
        return [f"{name}: not a JSON object"]
    out: list[str] = []
    missing = {"patient_id", "trial", "screening_date", "overall", "criteria"} - set(verdict)
    if missing:
        return [f"{name}: missing fields {sorted(missing)}"]
    if f"{verdict['patient_id']}.{verdict['trial']}.json" != name:
        out.append(f"{name}: patient_id/trial do not match the file name")
    if _iso(verdict["screening_date"]) is None:
        out.append(f"{name}: screening_date is not an ISO date")
    by_type = {c.id: c.type for c in criteria}
    statuses: dict[str, str] = {}
    for item in verdict["criteria"]:
        cid = item.get("id")
        if cid not in by_type:
            out.append(f"{name}: unknown criterion id {cid!r}")
            continue
        if cid in statuses:
            out.append(f"{name}: {cid} given twice")
        statuses[cid] = item.get("status")
        if item.get("status") not in STATUSES:
            out.append(f"{name}: {cid} has invalid status {item.get('status')!r}")
        if by_type[cid] is not None and item.get("type") != by_type[cid]:
            out.append(f"{name}: {cid} type must be {by_type[cid]!r}")
        if not isinstance(item.get("reason"), str) or not item["reason"].strip():
            out.append(f"{name}: {cid} needs a reason")
        if cid in PERSON_ONLY and item.get("status") != "unknown":
            out.append(f"{name}: {cid} is for a person to decide and stays unknown")
        for ev in item.get("evidence", []):
            out.extend(_check_evidence(f"{name} {cid}", ev, notes, verdict["patient_id"]))
    absent = sorted(set(by_type) - set(statuses))
    if absent:
        out.append(f"{name}: criteria missing: {absent}")
    want = expected_overall(criteria, statuses)
    if verdict["overall"] not in OVERALLS:
        out.append(f"{name}: overall {verdict['overall']!r} invalid")
    elif want is not None and verdict["overall"] != want:
        out.append(f"{name}: overall is {verdict['overall']!r} but the statuses give {want!r}")
    return out


def _check_evidence(where: str, ev: Any, notes: Mapping[str, str], patient_id: str) -> list[str]:
    if not isinstance(ev, dict) or set(ev) != EVIDENCE_KEYS:
        return [f"{where}: evidence must have exactly {sorted(EVIDENCE_KEYS)}"]
    text = notes.get(ev["note_id"])
    if text is None or not str(ev["note_id"]).startswith(f"{patient_id}-"):
        return [f"{where}: evidence cites a note {ev['note_id']!r} not of this patient"]
    start, end = ev["start"], ev["end"]
    if not (isinstance(start, int) and isinstance(end, int)) or text[start:end] != ev["text"]:
        return [f"{where}: evidence text differs from note {ev['note_id']} at {start}:{end}"]
    if not ev["text"] or not isinstance(ev["section"], str):
        return [f"{where}: evidence needs non-empty text and a section name"]
    return []


def load_patient(path: Path) -> dict[str, Any]:
    """A patient file as a dict (dates as ``datetime.date`` when YAML reads them so)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def check_patient(path: Path, patient: Any, root: Path) -> list[str]:
    """Problems of one patient file: keys, dates, notes present, note order."""
    name = path.name
    if not isinstance(patient, dict) or set(patient) != PATIENT_KEYS:
        return [f"{name}: keys must be exactly {sorted(PATIENT_KEYS)}"]
    out: list[str] = []
    if f"{patient['patient_id']}.yaml" != name:
        out.append(f"{name}: patient_id does not match the file name")
    if patient["sex"] not in {"F", "M"}:
        out.append(f"{name}: sex must be F or M")
    if _iso(patient["screening_date"]) is None:
        out.append(f"{name}: screening_date is not an ISO date")
    # The CONTRACT makes birth_date optional: null says the chart does not give it.
    if patient["birth_date"] is not None and _iso(patient["birth_date"]) is None:
        out.append(f"{name}: birth_date is not an ISO date (or null)")
    if not patient["trials"] or not set(patient["trials"]) <= {"blinatumomab-sle", "n2c2-2018"}:
        out.append(f"{name}: trials must list blinatumomab-sle and/or n2c2-2018")
    for entry in patient["notes"]:
        if not isinstance(entry, dict) or set(entry) != NOTE_ENTRY_KEYS:
            out.append(f"{name}: note entries need exactly {sorted(NOTE_ENTRY_KEYS)}")
            continue
        nid = entry["note_id"]
        if not str(nid).startswith(f"{patient['patient_id']}-N"):
            out.append(f"{name}: note id {nid!r} does not belong to the patient")
        for suffix in (".txt", ".ann"):
            if not (root / "notes" / f"{nid}{suffix}").is_file():
                out.append(f"{name}: {nid}{suffix} missing")
        date = _iso(entry["date"])
        if date is None:
            out.append(f"{name}: {nid} date is not an ISO date")
        elif _iso(patient["screening_date"]) and date > _iso(patient["screening_date"]):
            out.append(f"{name}: {nid} is dated after the screening date")
    return out


def lint_note(note_id: str, text: str, ann_text: str) -> list[str]:
    """Warnings: a word annotated somewhere in a note but left bare elsewhere in it."""
    entities, _ = parse_ann(ann_text)
    spans = [(e.start, e.end) for e in entities.values()]
    out = []
    for surface in sorted({e.text for e in entities.values() if len(e.text) > 2}):
        for start, end in all_word_spans(text, surface):
            if not any(s < end and start < e for s, e in spans):
                out.append(f"{note_id}: {surface!r} at {start}:{end} is not annotated")
    return out


def check_corpus(
    root: Path = DEFAULT_ROOT,
    trial_dir: Path = SHARED_TRIAL_DIR,
    patterns_dir: Path = PATTERNS_DIR,
) -> tuple[list[str], list[str]]:
    """(errors, warnings) for the whole corpus under ``root``."""
    errors: list[str] = []
    warnings: list[str] = []
    concepts = vocabulary_concepts(patterns_dir)
    notes_dir = root / "notes"
    texts = {p.stem: read_note_text(p) for p in sorted(notes_dir.glob("*.txt"))}
    for note_id, text in texts.items():
        ann = notes_dir / f"{note_id}.ann"
        if not ann.is_file():
            errors.append(f"{note_id}: .ann missing")
            continue
        ann_text = ann.read_text(encoding="utf-8")
        errors.extend(check_ann(note_id, text, ann_text, concepts))
        warnings.extend(lint_note(note_id, text, ann_text))
    listed: set[str] = set()
    patients: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "patients").glob("*.yaml")):
        patient = load_patient(path)
        problems = check_patient(path, patient, root)
        errors.extend(problems)
        if problems:
            continue
        patients[patient["patient_id"]] = patient
        listed.update(str(n["note_id"]) for n in patient["notes"])
        for trial in patient["trials"]:
            if not (root / "verdicts" / f"{patient['patient_id']}.{trial}.json").is_file():
                errors.append(f"{path.name}: verdict for {trial} missing")
    errors.extend(f"{nid}: note belongs to no patient file" for nid in sorted(set(texts) - listed))
    criteria_cache: dict[str, list[Criterion]] = {}
    for path in sorted((root / "verdicts").glob("*.json")):
        verdict = json.loads(path.read_text(encoding="utf-8"))
        trial = verdict.get("trial") if isinstance(verdict, dict) else None
        try:
            criteria = criteria_cache.setdefault(trial, trial_criteria(trial, trial_dir))
        except (KeyError, TypeError):
            errors.append(f"{path.name}: unknown trial {trial!r}")
            continue
        errors.extend(check_verdict(path, verdict, criteria, texts))
        patient = patients.get(verdict.get("patient_id"))
        if patient is None:
            errors.append(f"{path.name}: no valid patient file for this verdict")
        elif str(patient["screening_date"]) != str(verdict["screening_date"]):
            errors.append(f"{path.name}: screening_date differs from the patient file")
        elif trial not in patient["trials"]:
            errors.append(f"{path.name}: the patient file does not list this trial")
    return errors, warnings


# --------------------------------------------------------------------------- build


def built_files(root: Path = DEFAULT_ROOT) -> dict[str, str]:
    """File name -> content of the CONTRACT JSON Lines files built from per-patient files."""
    note_lines: list[tuple[tuple[str, str, str], str]] = []
    for path in sorted((root / "patients").glob("*.yaml")):
        patient = load_patient(path)
        for entry in patient["notes"]:
            record = {
                "patient_id": patient["patient_id"],
                "note_id": entry["note_id"],
                "date": str(entry["date"]),
                "type": entry["type"],
                "sex": patient["sex"],
                "birth_date": str(patient["birth_date"]),
                "text": read_note_text(root / "notes" / f"{entry['note_id']}.txt"),
            }
            if patient["birth_date"] is None:
                del record["birth_date"]
            key = (record["patient_id"], record["date"], record["note_id"])
            note_lines.append((key, json.dumps(record, ensure_ascii=False)))
    files = {"notes.jsonl": "".join(line + "\n" for _, line in sorted(note_lines))}
    for trial in ("blinatumomab-sle", "n2c2-2018"):
        lines = [
            json.dumps(json.loads(p.read_text(encoding="utf-8")), ensure_ascii=False) + "\n"
            for p in sorted((root / "verdicts").glob(f"*.{trial}.json"))
        ]
        files[f"verdicts.{trial}.jsonl"] = "".join(lines)
    return files


def build(root: Path = DEFAULT_ROOT) -> list[Path]:
    """Write the built JSON Lines files into ``root``; returns their paths."""
    written = []
    for name, content in built_files(root).items():
        path = root / name
        path.write_text(content, encoding="utf-8", newline="")
        written.append(path)
    return written


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    off = sub.add_parser("offset", help="print start and end of an exact string in a note")
    off.add_argument("note", type=Path)
    off.add_argument("text")
    off.add_argument("--occurrence", type=int, default=0)
    off.add_argument("--within")
    off.add_argument("--within-occurrence", type=int, default=0)
    for name in ("check", "build", "ann"):
        cmd = sub.add_parser(name)
        if name == "ann":
            cmd.add_argument("spec", type=Path)
        cmd.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    chk = sub.choices["check"]
    chk.add_argument("--trial-dir", type=Path, default=SHARED_TRIAL_DIR)
    chk.add_argument("--warnings", action="store_true", help="also list lint warnings")
    args = parser.parse_args(argv)

    if args.command == "offset":
        text = read_note_text(args.note)
        start, end = find_span(
            text, args.text, args.occurrence, args.within, args.within_occurrence
        )
        print(start, end)
        return 0
    if args.command == "ann":
        spec = yaml.safe_load(args.spec.read_text(encoding="utf-8"))
        entities = write_ann(args.root / "notes" / f"{spec['note_id']}.txt", spec["entities"])
        print(f"{spec['note_id']}.ann: {len(entities)} entities")
        return 0
    if args.command == "build":
        for path in build(args.root):
            print(f"wrote {path}")
        return 0
    errors, warnings = check_corpus(args.root, args.trial_dir)
    for line in errors:
        print(f"ERROR {line}")
    if args.warnings:
        for line in warnings:
            print(f"WARNING {line}")
    print(f"{len(errors)} errors, {len(warnings)} warnings")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
