"""One view for users: a sharded run as the store's tables, and its merge into one store file.

``attach`` writes a small DuckDB file (the catalog) whose ``notes``, ``facts``,
``verdicts``, ``errors`` and ``criteria`` are views over the run's committed Parquet
files, with the columns of the single-file store; ``runs`` and ``store_info`` are
tables. Everything that opens a store (``export``, ``report``, ``review``, the README's
queries) opens a catalog the same way. ``compact`` copies a run into an ordinary store
file, which later ``extractor batch --store`` runs can then update note by note.

The views read only committed files (``extractor.batch.dataset``), leave out the later
copies of a note id read twice (``duplicates.parquet``), and number lines across the
whole input from each shard's line count.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from extractor.batch.dataset import RunDir, parquet_list, register
from extractor.batch.sharded import (
    DUPLICATE_SCHEMA,
    RUN_ID,
    SHARD_ERROR_SCHEMA,
    SHARD_FACT_SCHEMA,
    SHARD_NOTE_SCHEMA,
    dataset_tables,
)
from extractor.errors import Errors
from extractor.store import (
    ERROR_SCHEMA,
    FACT_SCHEMA,
    MEMORY_LIMIT_MB,
    NOTE_SCHEMA,
    SCHEMA,
    SCHEMA_VERSION,
    VERDICT_SCHEMA,
    Store,
    StoreError,
    now,
)

DUCKDB_TYPES = {
    pa.string(): "VARCHAR", pa.date32(): "DATE", pa.int16(): "SMALLINT", pa.int32(): "INTEGER",
    pa.int64(): "BIGINT", pa.float64(): "DOUBLE", pa.timestamp("us"): "TIMESTAMP",
}
JSON_COLUMNS = {"extra", "fact", "verdict"}  # JSON in the store, text in Parquet


def _source(run: RunDir, names: list[str], schema: pa.Schema) -> str:
    """The files as a table expression; an empty, typed one when there is no file yet."""
    if names:
        return f"read_parquet({parquet_list(run, names)})"
    columns = ", ".join(f"CAST(NULL AS {DUCKDB_TYPES[f.type]}) AS {f.name}" for f in schema)
    return f"(SELECT {columns} WHERE false)"


def _columns(schema: pa.Schema, alias: str, replace: dict[str, str] | None = None) -> str:
    """The store's columns in its order, JSON columns cast back to JSON."""
    replace = replace or {}
    parts = []
    for name in schema.names:
        if name in replace:
            parts.append(f"{replace[name]} AS {name}")
        elif name in JSON_COLUMNS:
            parts.append(f"CAST({alias}.{name} AS JSON) AS {name}")
        else:
            parts.append(f"{alias}.{name}")
    return ", ".join(parts)


def _views(run: RunDir, tables: dict[str, Any]) -> list[str]:
    """The views' definitions: the store's columns, later copies of an id left out (``kept``),
    lines and the ``line N:`` of messages made absolute from each shard's first line."""
    kept = "ANTI JOIN _duplicates d ON d.note_id = t.note_id AND d.shard = t.shard"
    absolute = "(s.first_line + t.line)"
    reason = rf"regexp_replace(t.reason, '^(\[E\d+\]) line \d+:', '\1 line ' || {absolute} || ':')"
    error_columns = _columns(ERROR_SCHEMA, "t", {
        "line": f"CASE WHEN t.line IS NULL THEN NULL ELSE {absolute} END",
        "reason": f"CASE WHEN t.line IS NULL THEN t.reason ELSE {reason} END",
    })
    return [
        f"CREATE VIEW notes AS SELECT {_columns(NOTE_SCHEMA, 't', {'seen_line': 's.first_line + t.rel_line'})} "
        f"FROM {_source(run, tables['notes'], SHARD_NOTE_SCHEMA)} t JOIN _shards s USING (shard) {kept}",
        f"CREATE VIEW facts AS SELECT {_columns(FACT_SCHEMA, 't')} "
        f"FROM {_source(run, tables['facts'], SHARD_FACT_SCHEMA)} t {kept}",
        f"CREATE VIEW verdicts AS SELECT {_columns(VERDICT_SCHEMA, 't')} "
        f"FROM {_source(run, tables['verdicts'], VERDICT_SCHEMA)} t",
        f"CREATE VIEW errors AS SELECT {error_columns} "
        f"FROM {_source(run, tables['errors'], SHARD_ERROR_SCHEMA)} t LEFT JOIN _shards s USING (shard) "
        "UNION ALL SELECT run_id, 'read', 'rejected', line, NULL, NULL, reason, recorded_at FROM _duplicates",
    ]


def attach(run: RunDir, catalog: Path, memory_mb: float = MEMORY_LIMIT_MB) -> None:
    """(Re)write ``catalog``: the store's tables as views over ``run``'s committed files.

    Line numbers are exact once every shard of the input is committed. Tables users added
    to an earlier catalog (reviews) are kept.
    """
    if not run.exists("run.json"):
        raise StoreError(f"no run at {run.url} (no run.json)")
    state = run.read_json("run.json")
    tables = dataset_tables(run)
    catalog.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(catalog), config={"memory_limit": f"{memory_mb:g}MiB"})
    except duckdb.Error as exc:
        raise StoreError(f"cannot open {catalog}: another process holds it, or it is not a DuckDB file") from exc
    try:
        register(con, run)
        _clear(con, catalog)
        con.execute(SCHEMA)
        con.execute("DROP VIEW criteria; DROP TABLE notes; DROP TABLE facts; DROP TABLE verdicts; DROP TABLE errors")
        con.executemany(
            "INSERT INTO store_info VALUES (?, ?)",
            [["schema_version", SCHEMA_VERSION], ["layout", "sharded"], ["run_dir", run.url]],
        )
        first, shards = 1, []
        for shard, lines in sorted((int(k), v) for k, v in tables["lines"].items()):
            shards.append((shard, first))
            first += lines
        con.execute("CREATE TABLE _shards (shard INTEGER PRIMARY KEY, first_line BIGINT NOT NULL)")
        if shards:
            con.executemany("INSERT INTO _shards VALUES (?, ?)", shards)
        con.execute(
            "CREATE TABLE _duplicates (note_id VARCHAR, shard INTEGER, run_id INTEGER, line BIGINT, "
            "reason VARCHAR, recorded_at TIMESTAMP)"
        )
        duplicates = con.execute(
            f"SELECT d.note_id, d.shard, s.first_line + d.rel_line FROM "
            f"{_source(run, tables['duplicates'], DUPLICATE_SCHEMA)} d JOIN _shards s USING (shard)"
        ).fetchall()
        at = now()
        if duplicates:
            con.executemany(
                "INSERT INTO _duplicates VALUES (?, ?, ?, ?, ?, ?)",
                [[note_id, shard, RUN_ID, line, Errors.E016.format(line=line, note_id=note_id), at]
                 for note_id, shard, line in duplicates],
            )
        for sql in _views(run, tables):
            con.execute(sql)
        con.execute("CREATE OR REPLACE VIEW criteria" + SCHEMA.split("CREATE OR REPLACE VIEW criteria", 1)[1])
        _insert_run(con, state)
    finally:
        con.close()
    with Store.open(catalog, memory_mb=memory_mb) as store:
        counts = store.run_counts(RUN_ID)
        assignments = ", ".join(f"{name} = ${name}" for name in counts)
        store.con.execute(f"UPDATE runs SET {assignments} WHERE run_id = $run_id", {**counts, "run_id": RUN_ID})


def _clear(con: duckdb.DuckDBPyConnection, catalog: Path) -> None:
    """Drop what an earlier ``attach`` made, keeping what users added (the review app's
    ``reviews``); refuse a file that is not a catalog (an ordinary store holds the data)."""
    found = {row[0]: row[1] for row in con.execute(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()}
    if not found:
        return
    layout = None
    if "store_info" in found:
        row = con.execute("SELECT value FROM store_info WHERE key = 'layout'").fetchone()
        layout = row[0] if row else None
    if layout != "sharded":
        raise StoreError(f"{catalog} is not the catalog of a sharded run: give another --store file")
    for view in ("criteria", "notes", "facts", "verdicts", "errors"):
        con.execute(f"DROP VIEW IF EXISTS {view}")
    for table in ("_shards", "_duplicates", "runs", "store_info"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("DROP SEQUENCE IF EXISTS run_ids")


def _insert_run(con: duckdb.DuckDBPyConnection, state: dict[str, Any]) -> None:
    """The run's row of ``runs``, from ``run.json`` (counts are filled in from the views)."""
    con.execute("SELECT nextval('run_ids')")  # a later run in a compacted store gets the next id
    names = [
        "run_id", "run_key", "input", "trial", "screening_date", "pipeline", "executor", "workers", "status",
        "attempts", "started_at", "finished_at", "seconds", "extract_seconds", "screen_seconds", "notes_read",
        "worker_peak_rss_mb", "main_peak_rss_mb", "main_cpu_seconds",
    ]
    values = {name: state.get(name) for name in names}
    values["pipeline"] = values["pipeline"] or ""
    con.execute(
        f"INSERT INTO runs ({', '.join(names)}) VALUES ({', '.join('$' + name for name in names)})", values
    )


def compact(run: RunDir, output: Path, memory_mb: float = MEMORY_LIMIT_MB) -> dict[str, int]:
    """Copy a sharded run into a new single-file store at ``output``; returns rows per table."""
    if output.exists():
        raise StoreError(f"{output} exists: compact writes a new store file")
    scratch = output.with_name(output.name + ".catalog")
    attach(run, scratch, memory_mb)
    copied = {}
    try:
        with Store.open(output, memory_mb=memory_mb) as store:
            register(store.con, run)
            store.con.execute(f"ATTACH '{str(scratch).replace(chr(39), chr(39) * 2)}' AS sharded (READ_ONLY)")
            try:
                with store.transaction():
                    store.con.execute("SELECT nextval('run_ids')")
                    for table in ("runs", "notes", "facts", "verdicts", "errors"):
                        store.con.execute(f"INSERT INTO {table} SELECT * FROM sharded.{table}")
                        copied[table] = store.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            finally:
                store.con.execute("DETACH sharded")
    finally:
        for old in (scratch, scratch.with_name(scratch.name + ".wal")):
            old.unlink(missing_ok=True)
    return copied

