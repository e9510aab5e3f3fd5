"""The batch store: one embedded DuckDB file holding runs, notes, facts, verdicts and errors.

Only one process writes it: the main process of ``extractor batch``. Everything a batch
of notes changes (the notes' rows with their status, their facts, the errors they
raised, the notes found unchanged) is written in one transaction, so a run killed at
any moment leaves every note either wholly written or not at all, and a rerun of the
same command picks up where it stopped. The tables are documented in the README
("Batch screening"); ``criteria`` is a view over ``verdicts``. A sharded run's catalog
(``extractor.batch.views``) has the same tables as views over Parquet files, and opens
the same way.

Note text, facts and verdicts (long strings) are stored with ZSTD compression, about a
third of their size otherwise; a store needs DuckDB 1.2 or later to be read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE SEQUENCE IF NOT EXISTS run_ids START 1;
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY,
    run_key VARCHAR NOT NULL,
    input VARCHAR NOT NULL,
    trial VARCHAR NOT NULL,
    screening_date DATE,
    pipeline VARCHAR NOT NULL,
    executor VARCHAR NOT NULL,
    workers INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    seconds DOUBLE,
    extract_seconds DOUBLE,
    screen_seconds DOUBLE,
    notes_read BIGINT,
    processed BIGINT,
    skipped BIGINT,
    failed BIGINT,
    rejected BIGINT,
    patients_screened BIGINT,
    screen_failed BIGINT,
    worker_peak_rss_mb DOUBLE,
    main_peak_rss_mb DOUBLE,
    main_cpu_seconds DOUBLE
);
CREATE TABLE IF NOT EXISTS notes (
    note_id VARCHAR PRIMARY KEY,
    patient_id VARCHAR NOT NULL,
    date DATE,
    type VARCHAR,
    sex VARCHAR,
    birth_date DATE,
    extra JSON,
    text VARCHAR NOT NULL USING COMPRESSION zstd,
    content_hash VARCHAR NOT NULL,
    pipeline VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    seen_run INTEGER NOT NULL,
    seen_line BIGINT NOT NULL,
    processed_run INTEGER NOT NULL,
    processed_at TIMESTAMP NOT NULL,
    fact_count INTEGER NOT NULL,
    milliseconds DOUBLE
);
CREATE TABLE IF NOT EXISTS facts (
    note_id VARCHAR NOT NULL,
    patient_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    concept VARCHAR NOT NULL,
    label VARCHAR,
    assertion VARCHAR NOT NULL,
    experiencer VARCHAR NOT NULL,
    temporality VARCHAR NOT NULL,
    section VARCHAR,
    char_start BIGINT NOT NULL,
    char_end BIGINT NOT NULL,
    text VARCHAR NOT NULL,
    date DATE,
    value DOUBLE,
    unit VARCHAR,
    fact JSON NOT NULL USING COMPRESSION zstd
);
CREATE TABLE IF NOT EXISTS verdicts (
    patient_id VARCHAR NOT NULL,
    trial VARCHAR NOT NULL,
    screening_date DATE,
    overall VARCHAR,
    basis VARCHAR NOT NULL,
    run_id INTEGER NOT NULL,
    verdict JSON USING COMPRESSION zstd,
    PRIMARY KEY (patient_id, trial)
);
CREATE TABLE IF NOT EXISTS errors (
    run_id INTEGER NOT NULL,
    stage VARCHAR NOT NULL,
    level VARCHAR NOT NULL,
    line BIGINT,
    note_id VARCHAR,
    patient_id VARCHAR,
    reason VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE OR REPLACE VIEW criteria AS
SELECT patient_id, trial, run_id, position,
       c ->> 'id' AS criterion_id, c ->> 'type' AS type, c ->> 'status' AS status,
       c ->> 'reason' AS reason, c -> 'evidence' AS evidence
FROM (
    SELECT patient_id, trial, run_id,
           unnest(CAST(verdict -> 'criteria' AS JSON[])) AS c,
           generate_subscripts(CAST(verdict -> 'criteria' AS JSON[]), 1) AS position
    FROM verdicts WHERE verdict IS NOT NULL
);
"""

CHECKPOINT_MB = 64
# DuckDB's own default is 80% of the machine's memory, most of it buffer cache it keeps:
# the main process of a batch grew to ~540 MB with it. 256 MiB bounds it; joins and sorts
# past it spill to a temporary directory next to the store. (``--memory-limit``)
MEMORY_LIMIT_MB = 256

NOTE_SCHEMA = pa.schema([
    ("note_id", pa.string()),
    ("patient_id", pa.string()),
    ("date", pa.date32()),
    ("type", pa.string()),
    ("sex", pa.string()),
    ("birth_date", pa.date32()),
    ("extra", pa.string()),
    ("text", pa.string()),
    ("content_hash", pa.string()),
    ("pipeline", pa.string()),
    ("status", pa.string()),
    ("seen_run", pa.int32()),
    ("seen_line", pa.int64()),
    ("processed_run", pa.int32()),
    ("processed_at", pa.timestamp("us")),
    ("fact_count", pa.int32()),
    ("milliseconds", pa.float64()),
])

FACT_SCHEMA = pa.schema([
    ("note_id", pa.string()),
    ("patient_id", pa.string()),
    ("seq", pa.int32()),
    ("kind", pa.string()),
    ("concept", pa.string()),
    ("label", pa.string()),
    ("assertion", pa.string()),
    ("experiencer", pa.string()),
    ("temporality", pa.string()),
    ("section", pa.string()),
    ("char_start", pa.int64()),
    ("char_end", pa.int64()),
    ("text", pa.string()),
    ("date", pa.date32()),
    ("value", pa.float64()),
    ("unit", pa.string()),
    ("fact", pa.string()),
])

ERROR_SCHEMA = pa.schema([
    ("run_id", pa.int32()),
    ("stage", pa.string()),
    ("level", pa.string()),
    ("line", pa.int64()),
    ("note_id", pa.string()),
    ("patient_id", pa.string()),
    ("reason", pa.string()),
    ("recorded_at", pa.timestamp("us")),
])

VERDICT_SCHEMA = pa.schema([
    ("patient_id", pa.string()),
    ("trial", pa.string()),
    ("screening_date", pa.date32()),
    ("overall", pa.string()),
    ("basis", pa.string()),
    ("run_id", pa.int32()),
    ("verdict", pa.string()),
])

SEEN_SCHEMA = pa.schema([("note_id", pa.string()), ("seen_line", pa.int64())])


class StoreError(RuntimeError):
    """The store cannot be used: held by another process, or written by another schema version."""


@dataclass(frozen=True)
class StoredNote:
    """What the store knows of a note, enough to decide whether to process it again."""

    content_hash: str
    pipeline: str
    status: str
    seen_run: int
    seen_line: int
    processed_run: int


@dataclass(frozen=True)
class RunKey:
    """What makes two invocations the same run: a killed run restarted with the same
    command (same input, unchanged on disk; same trial and screening date) resumes it.

    The pipeline's fingerprint is not part of it: if the rules changed in between, the
    resumed run processes again the notes it wrote with the old ones.
    """

    input: str
    input_signature: str
    trial: str
    screening_date: dt.date | None

    @property
    def digest(self) -> str:
        parts = (
            self.input, self.input_signature, self.trial,
            self.screening_date.isoformat() if self.screening_date else "",
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Run:
    run_id: int
    resumed: bool
    attempts: int


def now() -> dt.datetime:
    """UTC now, naive, as DuckDB TIMESTAMP columns hold it."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def arrow_rows(schema: pa.Schema, rows: Sequence[Sequence[Any]]) -> pa.Table:
    """A table of ``schema`` from row tuples in the schema's column order."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    # pyarrow converts a list several times faster than a tuple of long strings
    return pa.table(
        [pa.array(list(column), type=schema.field(i).type) for i, column in enumerate(columns)], schema=schema
    )


class Store:
    """The DuckDB store; open it with ``Store.open(path)`` (a context manager)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, read_only: bool = False) -> None:
        self.con = connection
        version = self._schema_version()
        if version is not None and version != SCHEMA_VERSION:
            raise StoreError(
                f"the store was written with schema version {version}; this extractor reads "
                f"version {SCHEMA_VERSION}. Use a new store file."
            )
        if version is not None:
            self._register_run_dir()
        if read_only:
            if version is None:
                raise StoreError("the file is not an extractor store (no store_info table)")
            return
        self.con.execute(SCHEMA)
        self.con.execute("INSERT OR IGNORE INTO store_info VALUES ('schema_version', ?)", [SCHEMA_VERSION])

    @classmethod
    @contextmanager
    def open(cls, path: Path, read_only: bool = False, memory_mb: float = MEMORY_LIMIT_MB) -> Iterator[Store]:
        """Open (creating if needed, unless ``read_only``) the store at ``path``, DuckDB
        holding at most ``memory_mb`` MiB of memory.

        DuckDB lets one process at a time open a file for writing.
        """
        if read_only and not path.is_file():
            raise StoreError(f"no store at {path}")
        try:
            connection = duckdb.connect(
                str(path), read_only=read_only, config={"memory_limit": f"{memory_mb:g}MiB"}
            )
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot open the store {path}: another process holds it, or it is not a DuckDB "
                f"file ({type(exc).__name__})"
            ) from exc
        if not read_only:
            # DuckDB folds its write-ahead log into the file past this size (MiB), each time
            # rewriting table metadata and analysing compression afresh. 64 instead of
            # the default 16 cuts the CPU of writing notes by about a fifth (measured with
            # a commit a second: 0.26 → 0.21 ms a note); a run resumed after a kill
            # replays at most that much log.
            connection.execute(f"SET checkpoint_threshold = '{CHECKPOINT_MB}MiB'")
        try:
            yield cls(connection, read_only)
        except duckdb.Error as exc:  # a truncated or damaged file fails on its first read, not on connect
            raise StoreError(
                f"the store {path} cannot be read or written ({type(exc).__name__}): it may be truncated "
                "or damaged. Restore it from a copy, or start a new store file."
            ) from None
        finally:
            connection.close()

    def _schema_version(self) -> str | None:
        has_info = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'store_info'"
        ).fetchone()[0]
        if not has_info:
            return None
        row = self.con.execute("SELECT value FROM store_info WHERE key = 'schema_version'").fetchone()
        return row[0] if row else None

    def _register_run_dir(self) -> None:
        """A catalog of a sharded run on object storage reads its files through fsspec."""
        row = self.con.execute("SELECT value FROM store_info WHERE key = 'run_dir'").fetchone()
        if row is not None:
            from extractor.batch.dataset import RunDir, register

            register(self.con, RunDir(row[0]))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: a kill or an error inside leaves the store as it was."""
        self.con.begin()
        try:
            yield
        except BaseException:
            self.con.rollback()
            raise
        self.con.commit()

    def _insert(self, table: str, schema: pa.Schema, rows: Sequence[Sequence[Any]], verb: str = "INSERT") -> None:
        if not rows:
            return
        name = f"incoming_{table}"
        self.con.register(name, arrow_rows(schema, rows))
        try:
            columns = ", ".join(schema.names)
            self.con.execute(f"{verb} INTO {table} ({columns}) SELECT {columns} FROM {name}")
        finally:
            self.con.unregister(name)

    # ------------------------------------------------------------------ runs
    def begin_run(self, key: RunKey, pipeline: str, executor: str, workers: int) -> Run:
        """Resume the unfinished run of the same key, or start a new one."""
        with self.transaction():
            found = self.con.execute(
                "SELECT run_id, attempts FROM runs WHERE run_key = ? AND status = 'started' "
                "ORDER BY run_id DESC LIMIT 1",
                [key.digest],
            ).fetchone()
            if found is not None:
                run_id, attempts = found[0], found[1] + 1
                self.con.execute(
                    "UPDATE runs SET attempts = ?, pipeline = ?, executor = ?, workers = ? WHERE run_id = ?",
                    [attempts, pipeline, executor, workers, run_id],
                )
                # the input is read again from its start: its read errors are recorded afresh
                self.con.execute("DELETE FROM errors WHERE run_id = ? AND stage = 'read'", [run_id])
                return Run(run_id, True, attempts)
            run_id = self.con.execute("SELECT nextval('run_ids')").fetchone()[0]
            self.con.execute(
                "INSERT INTO runs (run_id, run_key, input, trial, screening_date, pipeline, executor, "
                "workers, status, attempts, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'started', 1, ?)",
                [run_id, key.digest, key.input, key.trial, key.screening_date, pipeline,
                 executor, workers, now()],
            )
            return Run(run_id, False, 1)

    def finish_run(self, run_id: int, notes_read: int, measures: dict[str, float | None]) -> dict[str, Any]:
        """Count the run's outcome from the store itself and mark it finished; return the row.

        ``measures``: ``seconds``, ``extract_seconds``, ``screen_seconds`` (wall time of the
        attempt that finished), ``worker_peak_rss_mb``, ``main_peak_rss_mb``, ``main_cpu_seconds``.
        """
        values = {**self.run_counts(run_id), **measures, "notes_read": notes_read}
        assignments = ", ".join(f"{name} = ${name}" for name in values)
        with self.transaction():
            self.con.execute(
                f"UPDATE runs SET status = 'finished', finished_at = $finished_at, {assignments} "
                "WHERE run_id = $run_id",
                {**values, "finished_at": now(), "run_id": run_id},
            )
        return self.run_row(run_id)

    def run_counts(self, run_id: int) -> dict[str, int]:
        """processed / failed / skipped notes, rejected lines and screened patients of a run."""
        row = self.con.execute(
            """
            SELECT
              (SELECT count(*) FROM notes WHERE processed_run = $run AND status = 'done'),
              (SELECT count(*) FROM notes WHERE processed_run = $run AND status = 'failed'),
              (SELECT count(*) FROM notes WHERE seen_run = $run AND processed_run <> $run),
              (SELECT count(*) FROM errors WHERE run_id = $run AND level = 'rejected'),
              (SELECT count(*) FROM verdicts WHERE run_id = $run AND overall IS NOT NULL),
              (SELECT count(*) FROM verdicts WHERE run_id = $run AND overall IS NULL)
            """,
            {"run": run_id},
        ).fetchone()
        names = ("processed", "failed", "skipped", "rejected", "patients_screened", "screen_failed")
        return dict(zip(names, row, strict=True))

    def run_errors(self, run_id: int, limit: int) -> tuple[list[str], int]:
        """The first ``limit`` errors and warnings of a run as lines of text, and how many there are."""
        rows = self.con.execute(
            "SELECT stage, level, note_id, patient_id, reason FROM errors WHERE run_id = ? "
            "ORDER BY stage, line, note_id, patient_id LIMIT ?",
            [run_id, limit],
        ).fetchall()
        total = self.con.execute("SELECT count(*) FROM errors WHERE run_id = ?", [run_id]).fetchone()[0]
        lines = []
        for stage, level, note_id, patient_id, reason in rows:
            where = f"note {note_id}: " if note_id else f"patient {patient_id}: " if patient_id else ""
            lines.append(f"{stage} {level}: {where}{reason}")
        return lines, total

    def run_row(self, run_id: int) -> dict[str, Any]:
        cursor = self.con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))

    # ------------------------------------------------------------------ notes
    def lookup(self, note_ids: Sequence[str]) -> dict[str, StoredNote]:
        """The stored state of these notes (those the store has)."""
        if not note_ids:
            return {}
        self.con.register("wanted_notes", pa.table({"note_id": pa.array(note_ids, pa.string())}))
        try:
            rows = self.con.execute(
                "SELECT note_id, content_hash, pipeline, status, seen_run, seen_line, processed_run "
                "FROM notes WHERE note_id IN (SELECT note_id FROM wanted_notes)"
            ).fetchall()
        finally:
            self.con.unregister("wanted_notes")
        return {row[0]: StoredNote(*row[1:]) for row in rows}

    def write_notes(
        self,
        run_id: int,
        notes: Sequence[Sequence[Any]],
        facts: Sequence[Sequence[Any]],
        replaced: Sequence[str],
        seen: Sequence[tuple[str, int]],
        errors: Sequence[Sequence[Any]],
    ) -> None:
        """One transaction: processed notes (rows of ``NOTE_SCHEMA``) replace their old rows
        and old facts, their facts are added, unchanged notes are marked seen by this run
        at their line, and errors are recorded."""
        with self.transaction():
            if replaced:
                self.con.register("replaced_notes", pa.table({"note_id": pa.array(replaced, pa.string())}))
                try:
                    self.con.execute("DELETE FROM facts WHERE note_id IN (SELECT note_id FROM replaced_notes)")
                finally:
                    self.con.unregister("replaced_notes")
            self._insert("notes", NOTE_SCHEMA, notes, verb="INSERT OR REPLACE")
            self._insert("facts", FACT_SCHEMA, facts)
            if seen:
                self.con.register("seen_notes", arrow_rows(SEEN_SCHEMA, seen))
                try:
                    self.con.execute(
                        "UPDATE notes SET seen_run = ?, seen_line = s.seen_line FROM seen_notes s "
                        "WHERE notes.note_id = s.note_id",
                        [run_id],
                    )
                finally:
                    self.con.unregister("seen_notes")
            self._insert("errors", ERROR_SCHEMA, errors)

    # ------------------------------------------------------------------ screening
    def patients_to_screen(self, trial: str, suffix: str) -> list[tuple[str, str]]:
        """Patients whose verdict for ``trial`` is missing or rests on other notes or settings.

        A patient's basis is a digest of their notes (id, content hash, pipeline, status)
        and ``suffix`` (the trial definition's digest and the screening options). Verdicts
        of patients who no longer have any note are deleted.
        """
        self.con.execute(
            "DELETE FROM verdicts WHERE trial = ? AND patient_id NOT IN (SELECT patient_id FROM notes)",
            [trial],
        )
        return self.con.execute(
            """
            WITH basis AS (
                SELECT patient_id,
                       md5(string_agg(note_id || ':' || content_hash || ':' || pipeline || ':' || status,
                                      ',' ORDER BY note_id) || $suffix) AS basis
                FROM notes GROUP BY patient_id
            )
            SELECT b.patient_id, b.basis FROM basis b
            LEFT JOIN verdicts v ON v.patient_id = b.patient_id AND v.trial = $trial
            WHERE v.basis IS DISTINCT FROM b.basis
            ORDER BY b.patient_id
            """,
            {"trial": trial, "suffix": suffix},
        ).fetchall()

    def patient_material(self, patient_ids: Sequence[str]) -> dict[str, tuple[list[dict[str, Any]], list[str]]]:
        """Each patient's processed notes (CONTRACT fields) and facts (JSON), from the store."""
        material: dict[str, tuple[list[dict[str, Any]], list[str]]] = {pid: ([], []) for pid in patient_ids}
        if not patient_ids:
            return material
        bounds = [min(patient_ids), max(patient_ids)]  # lets DuckDB skip row groups when sorted
        self.con.register("wanted_patients", pa.table({"patient_id": pa.array(patient_ids, pa.string())}))
        try:
            notes = self.con.execute(
                "SELECT patient_id, note_id, text, date, type, sex, birth_date FROM notes "
                "WHERE status = 'done' AND patient_id BETWEEN ? AND ? "
                "AND patient_id IN (SELECT patient_id FROM wanted_patients) ORDER BY patient_id, note_id",
                bounds,
            ).fetchall()
            facts = self.con.execute(
                "SELECT f.patient_id, CAST(f.fact AS VARCHAR) FROM facts f "
                "WHERE f.patient_id BETWEEN ? AND ? "
                "AND f.patient_id IN (SELECT patient_id FROM wanted_patients) "
                "ORDER BY f.patient_id, f.note_id, f.seq",
                bounds,
            ).fetchall()
        finally:
            self.con.unregister("wanted_patients")
        fields = ("patient_id", "note_id", "text", "date", "type", "sex", "birth_date")
        for row in notes:
            material[row[0]][0].append(dict(zip(fields, row, strict=True)))
        for patient_id, fact in facts:
            material[patient_id][1].append(fact)
        return material

    def write_verdicts(self, verdicts: Sequence[Sequence[Any]], errors: Sequence[Sequence[Any]]) -> None:
        """One transaction: verdicts (rows of ``VERDICT_SCHEMA``) replace the patients' old ones."""
        with self.transaction():
            self._insert("verdicts", VERDICT_SCHEMA, verdicts, verb="INSERT OR REPLACE")
            self._insert("errors", ERROR_SCHEMA, errors)
