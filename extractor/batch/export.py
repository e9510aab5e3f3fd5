"""Exporting a batch store: Parquet tables, JSON Lines (facts and CONTRACT verdicts), or FHIR.

Everything streams from DuckDB (``COPY ... TO`` for Parquet, fetches of 10,000 rows
otherwise), so a store of any size exports in bounded memory. Note text is exported
only when asked for (``with_text``): facts and verdicts cite their words already.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import pyarrow as pa

from extractor import fhir
from extractor.batch.dispatch import chunked
from extractor.facts import Evidence, Fact
from extractor.screening import PERSON_ONLY_REASON, CriterionResult, PatientVerdict, Status
from extractor.store import Store, StoreError

FETCH = 10_000
FHIR_PATIENTS = 500  # patients per query when building FHIR Bundles


class ExportFormat(str, Enum):
    PARQUET = "parquet"
    JSONL = "jsonl"
    FHIR = "fhir"


NOTE_COLUMNS = (
    "note_id, patient_id, date, type, sex, birth_date, extra, content_hash, pipeline, status, "
    "seen_run, processed_run, processed_at, fact_count, milliseconds"
)


def _queries(trial: str | None, with_text: bool) -> dict[str, tuple[str, list[Any]]]:
    """Each exported table: its query and parameters."""
    only = " WHERE trial = ?" if trial else ""
    params = [trial] if trial else []
    notes = NOTE_COLUMNS + (", text" if with_text else "")
    return {
        "runs": ("SELECT * FROM runs ORDER BY run_id", []),
        "notes": (f"SELECT {notes} FROM notes ORDER BY patient_id, note_id", []),
        "facts": ("SELECT * FROM facts ORDER BY patient_id, note_id, seq", []),
        "verdicts": (f"SELECT * FROM verdicts{only} ORDER BY trial, patient_id", params),
        "criteria": (f"SELECT * FROM criteria{only} ORDER BY trial, patient_id, position", params),
        "errors": ("SELECT * FROM errors ORDER BY run_id, stage, line, note_id, patient_id", []),
    }


def _verdict_lines(trial: str | None) -> tuple[str, list[Any]]:
    """CONTRACT verdict lines (patients whose screening failed have none)."""
    only = " AND trial = ?" if trial else ""
    sql = f"SELECT CAST(verdict AS VARCHAR) FROM verdicts WHERE verdict IS NOT NULL{only} ORDER BY trial, patient_id"
    return sql, [trial] if trial else []


def _rows(store: Store, sql: str, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    cursor = store.con.execute(sql, params)
    while rows := cursor.fetchmany(FETCH):
        yield from rows


def _write_lines(path: Path, lines: Iterator[str]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")
            count += 1
    return count


def export_parquet(store: Store, output: Path, trial: str | None, with_text: bool) -> dict[str, int]:
    """One Parquet file per table (and the ``criteria`` view)."""
    written = {}
    for name, (sql, params) in _queries(trial, with_text).items():
        target = output / f"{name}.parquet"
        store.con.execute(f"COPY ({sql}) TO '{_quoted(target)}' (FORMAT parquet)", params)
        written[target.name] = store.con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    return written


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def export_jsonl(store: Store, output: Path, trial: str | None, with_text: bool) -> dict[str, int]:
    """``facts.jsonl`` (one fact a line, as ``extractor extract`` writes them),
    ``verdicts.jsonl`` (CONTRACT verdict lines), ``notes.jsonl`` and ``errors.jsonl``."""
    queries = _queries(trial, with_text)
    written = {}
    facts_sql = "SELECT CAST(fact AS VARCHAR) FROM facts ORDER BY patient_id, note_id, seq"
    written["facts.jsonl"] = _write_lines(output / "facts.jsonl", (row[0] for row in _rows(store, facts_sql, [])))
    written["verdicts.jsonl"] = _write_lines(
        output / "verdicts.jsonl", (row[0] for row in _rows(store, *_verdict_lines(trial)))
    )
    for name in ("notes", "errors"):
        sql, params = queries[name]
        cursor = store.con.execute(f"SELECT * FROM ({sql}) LIMIT 0", params)
        columns = [d[0] for d in cursor.description]
        lines = (
            json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False, default=str)
            for row in _rows(store, sql, params)
        )
        written[f"{name}.jsonl"] = _write_lines(output / f"{name}.jsonl", lines)
    return written


def verdict_from_contract(line: dict[str, Any]) -> PatientVerdict:
    """A stored CONTRACT verdict line back as a ``PatientVerdict``.

    A criterion only a person can decide is the one screening gave ``PERSON_ONLY_REASON``.
    """
    return PatientVerdict(
        line["patient_id"],
        line["trial"],
        dt.date.fromisoformat(line["screening_date"]) if line["screening_date"] else None,
        tuple(
            CriterionResult(
                c["id"],
                c["type"],
                Status(c["status"]),
                c["reason"],
                tuple(
                    Evidence(
                        note_id=e["note_id"], char_start=e["start"], char_end=e["end"], text=e["text"],
                        section=e.get("section"),
                    )
                    for e in c["evidence"]
                ),
                person_only=c["reason"] == PERSON_ONLY_REASON,
            )
            for c in line["criteria"]
        ),
    )


def export_fhir(store: Store, output: Path, trial: str | None) -> dict[str, int]:
    """``bundles.ndjson``: one FHIR R4 collection Bundle a line, per patient: the patient's
    facts (``extractor.fhir``) and, when screened for ``trial``, the verdict's criteria.

    Without ``trial``, the store's only trial is used; a store screened for several
    trials needs ``trial``.
    """
    if trial is None:
        trials = [row[0] for row in store.con.execute("SELECT DISTINCT trial FROM verdicts").fetchall()]
        if len(trials) > 1:
            raise StoreError(f"the store holds verdicts of several trials ({', '.join(sorted(trials))}): pick one")
        trial = trials[0] if trials else None
    patients = [row[0] for row in store.con.execute("SELECT DISTINCT patient_id FROM notes ORDER BY 1").fetchall()]

    def bundles() -> Iterator[str]:
        for chunk in chunked(patients, FHIR_PATIENTS):
            facts: dict[str, list[Fact]] = {pid: [] for pid in chunk}
            verdicts: dict[str, PatientVerdict] = {}
            store.con.register("export_patients", pa.table({"patient_id": pa.array(chunk, pa.string())}))
            try:
                rows = store.con.execute(
                    "SELECT patient_id, CAST(fact AS VARCHAR) FROM facts WHERE patient_id IN "
                    "(SELECT patient_id FROM export_patients) ORDER BY patient_id, note_id, seq"
                ).fetchall()
                for patient_id, fact in rows:
                    facts[patient_id].append(Fact.model_validate_json(fact))
                for patient_id, verdict in store.con.execute(
                    "SELECT patient_id, CAST(verdict AS VARCHAR) FROM verdicts WHERE verdict IS NOT NULL "
                    "AND trial = ? AND patient_id IN (SELECT patient_id FROM export_patients)",
                    [trial],
                ).fetchall():
                    verdicts[patient_id] = verdict_from_contract(json.loads(verdict))
            finally:
                store.con.unregister("export_patients")
            for patient_id in chunk:
                if patient_id in verdicts:
                    bundle = fhir.verdict_to_bundle(verdicts[patient_id], facts[patient_id])
                else:
                    bundle = fhir.facts_to_bundle(facts[patient_id])
                yield json.dumps(bundle, ensure_ascii=False)

    return {"bundles.ndjson": _write_lines(output / "bundles.ndjson", bundles())}


def export_store(
    store_path: Path, output: Path, export_format: ExportFormat, trial: str | None = None, with_text: bool = False
) -> dict[str, int]:
    """Write the store's contents under directory ``output``; returns rows written per file."""
    output.mkdir(parents=True, exist_ok=True)
    with Store.open(store_path, read_only=True) as store:
        if export_format is ExportFormat.PARQUET:
            return export_parquet(store, output, trial, with_text)
        if export_format is ExportFormat.JSONL:
            return export_jsonl(store, output, trial, with_text)
        return export_fhir(store, output, trial)
