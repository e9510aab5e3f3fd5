"""Two invented patients (notes, facts, verdicts), written as JSON Lines files or into a batch store.

Offsets are found in the text (``text.index``), so every cited span is exact. The
second note of P001 is long, so its evidence lies far below the top of the page.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from extractor.store import Store

FILLER = "".join(f"Line {i}: routine review of systems, unremarkable.\n" for i in range(1, 80))
NOTES = [
    {
        "patient_id": "P001",
        "note_id": "P001-N1",
        "date": "2025-02-14",
        "type": "clinic note",
        "text": "14 yo F with SLE since 2022. No fever. Mother has lupus nephritis.\n"
        "Labs: Hgb 9.6 g/dL <low> & stable. Possible seizure last week.\n"
        "Meds: prednisone 10 mg daily since 01/10/2025.\n",
    },
    {
        "patient_id": "P001",
        "note_id": "P001-N2",
        "date": "2025-03-01",
        "type": "progress note",
        "text": "Follow-up.\n" + FILLER + "History of tuberculosis, treated 2019. Consider rituximab if flare.\n"
        "Hgb 7.4 g/dL today. Prednisone 20 mg daily.\n",
    },
    {
        "patient_id": "P002",
        "note_id": "P002-N1",
        "date": "2025-01-05",
        "type": "clinic note",
        "text": "16 yo M with SLE. Hgb 12.1 g/dL.\n",
    },
]
TRIAL = "blinatumomab-sle"  # a bundled trial, so the report shows its protocol text
TEXTS = {n["note_id"]: n["text"] for n in NOTES}


def span(note_id: str, words: str) -> dict[str, Any]:
    start = TEXTS[note_id].index(words)
    return {"note_id": note_id, "start": start, "end": start + len(words), "text": words, "section": None}


def fact(
    note_id: str,
    words: str,
    concept: str,
    kind: str = "condition",
    *,
    extra: dict[str, Any] | None = None,
    **qualifiers: str,
) -> dict[str, Any]:
    found = span(note_id, words)
    patient = note_id.split("-")[0]
    return (extra or {}) | {
        "kind": kind,
        "concept": concept,
        "label": concept.replace("_", " "),
        "assertion": qualifiers.get("assertion", "present"),
        "experiencer": qualifiers.get("experiencer", "patient"),
        "temporality": qualifiers.get("temporality", "current"),
        "evidence": {"note_id": note_id, "char_start": found["start"], "char_end": found["end"], "text": words},
        "patient_id": patient,
        "note_date": next(n["date"] for n in NOTES if n["note_id"] == note_id),
    }


def cue(note_id: str, words: str, category: str) -> dict[str, Any]:
    found = span(note_id, words)
    return {"category": category, "text": words, "char_start": found["start"], "char_end": found["end"]}


def hemoglobin(g_dl: float, unit_text: str) -> dict[str, Any]:
    return {"lab": {"value": g_dl, "unit": unit_text, "canonical_value": g_dl * 10, "canonical_unit": "g/L"}}


def prednisone(mg: float, since: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"ingredient": "prednisone", "classes": ["ocs"], "dose": mg, "dose_unit": "mg"}
    details |= {"frequency": "daily", "daily_dose": mg, "prednisone_equivalent_mg_day": mg, "status": "current"}
    if since:
        details["start"] = {"date": since, "source": "text"}
    return {"medication": details}


FACTS = [
    fact("P001-N1", "SLE", "sle"),
    fact(
        "P001-N1",
        "fever",
        "fever",
        extra={"attrs": {"context_cues": [cue("P001-N1", "No", "NEGATED_EXISTENCE")]}},
        assertion="absent",
    ),
    fact(
        "P001-N1",
        "lupus nephritis",
        "lupus_nephritis",
        extra={"attrs": {"context_cues": [cue("P001-N1", "Mother", "FAMILY")]}},
        experiencer="family",
    ),
    fact("P001-N1", "Hgb 9.6", "hemoglobin", kind="lab", extra=hemoglobin(9.6, "g/dL")),
    fact("P001-N1", "seizure", "seizure", assertion="possible"),
    fact("P001-N1", "prednisone", "prednisone", kind="medication", extra=prednisone(10, "2025-01-10")),
    fact("P001-N2", "tuberculosis", "tuberculosis", kind="infection", temporality="historical"),
    fact("P001-N2", "rituximab", "rituximab", kind="medication", assertion="hypothetical"),
    fact("P001-N2", "Hgb 7.4", "hemoglobin", kind="lab", extra=hemoglobin(7.4, "g/dL")),
    fact("P001-N2", "Prednisone", "prednisone", kind="medication", extra=prednisone(20)),
    fact("P002-N1", "SLE", "sle"),
]


def criterion(cid: str, ctype: str, status: str, reason: str, *evidence: dict[str, Any]) -> dict[str, Any]:
    return {"id": cid, "type": ctype, "status": status, "reason": reason, "evidence": list(evidence)}


VERDICTS = [
    {
        "patient_id": "P001",
        "trial": TRIAL,
        "screening_date": "2025-03-01",
        "overall": "ineligible",
        "criteria": [
            criterion("inc-sle-diagnosis", "inclusion", "met", "SLE diagnosed", span("P001-N1", "SLE")),
            criterion("inc-hemoglobin", "inclusion", "met", "Hgb 96 g/L >= 80 g/L", span("P001-N1", "Hgb 9.6 g/dL")),
            criterion(
                "exc-tuberculosis", "exclusion", "met", "history of tuberculosis", span("P001-N2", "tuberculosis")
            ),
            criterion("exc-cns-lupus", "exclusion", "unknown", "seizure only possible", span("P001-N1", "seizure")),
        ],
    },
    {
        "patient_id": "P002",
        "trial": TRIAL,
        "screening_date": "2025-01-05",
        "overall": "candidate",
        "criteria": [
            criterion("inc-sle-diagnosis", "inclusion", "met", "SLE diagnosed", span("P002-N1", "SLE")),
            criterion("inc-hemoglobin", "inclusion", "met", "Hgb 121 g/L", span("P002-N1", "Hgb 12.1 g/dL")),
            criterion("exc-tuberculosis", "exclusion", "not_met", "nothing in the chart"),
            criterion("exc-cns-lupus", "exclusion", "not_met", "nothing in the chart"),
        ],
    },
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def fill_store(path: Path) -> Path:
    """A store holding the notes, facts and verdicts above, as `extractor batch` leaves them."""
    stamp = dt.datetime(2025, 3, 2, 9, 0)
    with Store.open(path) as store:
        for note in NOTES:
            store.con.execute(
                "INSERT INTO notes (note_id, patient_id, date, type, text, content_hash, pipeline, status, "
                "seen_run, seen_line, processed_run, processed_at, fact_count) "
                "VALUES (?, ?, ?, ?, ?, 'h', 'p', 'done', 1, 1, 1, ?, 0)",
                [note["note_id"], note["patient_id"], note["date"], note["type"], note["text"], stamp],
            )
        for seq, item in enumerate(FACTS):
            ev = item["evidence"]
            store.con.execute(
                "INSERT INTO facts (note_id, patient_id, seq, kind, concept, assertion, experiencer, temporality, "
                "char_start, char_end, text, fact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    ev["note_id"],
                    item["patient_id"],
                    seq,
                    item["kind"],
                    item["concept"],
                    item["assertion"],
                    item["experiencer"],
                    item["temporality"],
                    ev["char_start"],
                    ev["char_end"],
                    ev["text"],
                    json.dumps(item),
                ],
            )
        for verdict in VERDICTS:
            store.con.execute(
                "INSERT INTO verdicts (patient_id, trial, screening_date, overall, basis, run_id, verdict) "
                "VALUES (?, ?, ?, ?, 'b', 1, ?)",
                [
                    verdict["patient_id"],
                    verdict["trial"],
                    verdict["screening_date"],
                    verdict["overall"],
                    json.dumps(verdict),
                ],
            )
    return path
