"""A sharded run's directory: Parquet files written by workers, committed atomically.

A run directory is a local path or any fsspec URL (``s3://bucket/runs/2026-12``,
``gs://...``, ``file:///shared/run``) that every worker can reach. Its layout::

    run.json                  what the run is (input, trial, options, pipeline) and its state
    notes/shard-000042.parquet, facts/..., errors/...     one file of each per input shard
    verdicts/part-0003.parquet, screen-errors/...         one file of each per patient partition
    duplicates.parquet        note ids read twice (the later copies), found after extraction
    _commits/extract-000042.json, _commits/screen-0003.json, _commits/duplicates.json
    _tmp/                     files being written

A file is written under ``_tmp/`` with a unique name, then moved to its place; once all of
a task's files are in place, its commit record goes to ``_commits/`` (itself written then
moved). Readers read only files named by a commit record, so a task killed halfway is
never read: its files are either absent, or present but uncommitted (and rewritten, byte
for byte the same notes and facts, when the task runs again). A move is a rename on a
local or POSIX filesystem; on an object store it is a copy, and a commit record is one
object put whole.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import duckdb
import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from extractor.store import StoreError, arrow_rows

COMMITS = "_commits"
TMP = "_tmp"
LOCAL_PROTOCOLS = {"file", "local"}
WORKER_DUCKDB_MB = 128  # DuckDB's memory in a worker reading its patients' partition


@dataclass(frozen=True)
class RunDir:
    """A run directory, as a plain picklable value (a URL or path): tasks open it themselves."""

    url: str

    def __post_init__(self) -> None:
        refuse_credentials(self.url)
        # a relative path would mean another directory to a worker started elsewhere
        if "://" not in self.url:
            object.__setattr__(self, "url", os.path.abspath(self.url))

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        fs, _ = fsspec.core.url_to_fs(self.url)
        return fs

    @property
    def root(self) -> str:
        _, root = fsspec.core.url_to_fs(self.url)
        return root.rstrip("/")

    @property
    def is_local(self) -> bool:
        protocol = self.fs.protocol
        names = {protocol} if isinstance(protocol, str) else set(protocol)
        return bool(names & LOCAL_PROTOCOLS)

    def path(self, name: str) -> str:
        """Where ``name`` (a path relative to the run directory) is, for the filesystem."""
        return f"{self.root}/{name}"

    def location(self, name: str) -> str:
        """``name`` as DuckDB reads it: a local path, or a URL of a registered filesystem."""
        if self.is_local:
            return self.path(name)
        protocol = self.fs.protocol
        return f"{protocol if isinstance(protocol, str) else protocol[0]}://{self.path(name)}"

    def exists(self, name: str) -> bool:
        return self.fs.exists(self.path(name))

    def read_json(self, name: str) -> dict[str, Any]:
        with self.fs.open(self.path(name), "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))

    def _atomically(self, name: str, write: Callable[[Any], None]) -> None:
        """Write ``name`` atomically: ``write(handle)`` to a unique temporary file, then moved."""
        fs = self.fs
        temporary = self.path(f"{TMP}/{uuid.uuid4().hex}-{name.replace('/', '-')}")
        fs.makedirs(self.path(TMP), exist_ok=True)
        parent = self.path(name).rsplit("/", 1)[0]
        fs.makedirs(parent, exist_ok=True)
        with fs.open(temporary, "wb") as handle:
            write(handle)
        fs.mv(temporary, self.path(name))

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write ``data`` to ``name`` atomically."""
        self._atomically(name, lambda handle: handle.write(data))

    def write_json(self, name: str, value: dict[str, Any]) -> None:
        self.write_bytes(name, json.dumps(value, indent=1, sort_keys=True).encode("utf-8"))

    def write_table(
        self, name: str, table: pa.Table, row_group_rows: int | None = None, sort: Sequence[str] = ()
    ) -> None:
        """A Parquet file, ZSTD-compressed (note text, facts and verdicts are long strings), in row
        groups of ``row_group_rows`` (a reader filtering on a sorted column skips the others),
        sorted by the columns ``sort`` (ascending; strings by code point, as Python sorts them).

        Sorted a row group at a time (the order is computed from the key columns, then each
        group taken and written), so a sorted copy of the whole table is never held; written
        straight to the file, so neither is a copy of the compressed file.
        """
        if not sort or table.num_rows == 0:
            self._atomically(
                name, lambda handle: pq.write_table(table, handle, compression="zstd", row_group_size=row_group_rows)
            )
            return
        order = pc.sort_indices(table.select(list(sort)), sort_keys=[(column, "ascending") for column in sort])
        step = row_group_rows or table.num_rows
        with self.table_writer(name, table.schema) as writer:
            for start in range(0, table.num_rows, step):
                writer.write_table(table.take(order.slice(start, step)), row_group_size=step)

    @contextmanager
    def table_writer(self, name: str, schema: pa.Schema) -> Iterator[pq.ParquetWriter]:
        """A Parquet file written a row group at a time (``writer.write_table``), moved into
        place atomically when the block ends without error."""
        fs = self.fs
        temporary = self.path(f"{TMP}/{uuid.uuid4().hex}-{name.replace('/', '-')}")
        fs.makedirs(self.path(TMP), exist_ok=True)
        fs.makedirs(self.path(name).rsplit("/", 1)[0], exist_ok=True)
        with fs.open(temporary, "wb") as handle, pq.ParquetWriter(handle, schema, compression="zstd") as writer:
            yield writer
        fs.mv(temporary, self.path(name))

    # ------------------------------------------------------------------ commits
    def commit(self, name: str, record: dict[str, Any]) -> None:
        """Record a task's files as committed (its files are already in place)."""
        self.write_json(f"{COMMITS}/{name}.json", record)

    def committed(self, prefix: str) -> dict[str, dict[str, Any]]:
        """The commit records whose name starts with ``prefix``, by name."""
        fs = self.fs
        folder = self.path(COMMITS)
        fs.invalidate_cache(folder)  # an object store's listing is cached, and other processes commit
        if not fs.exists(folder):
            return {}
        records = {}
        for entry in sorted(fs.ls(folder, detail=False)):
            name = entry.rsplit("/", 1)[-1]
            if name.startswith(prefix) and name.endswith(".json"):
                records[name[: -len(".json")]] = self.read_json(f"{COMMITS}/{name}")
        return records

    def uncommit(self, prefix: str) -> None:
        """Withdraw the commit records whose name starts with ``prefix`` (their files stay,
        unread, until rewritten)."""
        fs = self.fs
        folder = self.path(COMMITS)
        fs.invalidate_cache(folder)
        if fs.exists(folder):
            for entry in fs.ls(folder, detail=False):
                if entry.rsplit("/", 1)[-1].startswith(prefix):
                    fs.rm(entry)

    def clear_temporary(self) -> None:
        """Remove what killed tasks left half-written (call when no task of the run is running)."""
        if self.fs.exists(self.path(TMP)):
            self.fs.rm(self.path(TMP), recursive=True)


def refuse_credentials(url: str) -> None:
    """Refuse a URL that carries a password (``s3://key:secret@bucket/run``): a run records its
    input and its directory in ``run.json``, the catalog and its progress lines. Credentials
    come from the filesystem's usual sources instead (environment, profile, instance role)."""
    if "://" in url and urlsplit(url).password is not None:
        raise StoreError(
            "a URL holds a password, which the run would record: give credentials through the "
            "environment (AWS_ACCESS_KEY_ID, GOOGLE_APPLICATION_CREDENTIALS, ...) instead"
        )


def connect(
    run: RunDir | None = None, memory_mb: float = WORKER_DUCKDB_MB, threads: int | None = 1,
    temp_directory: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection holding at most ``memory_mb`` MiB, able to read ``run``'s
    files; one thread by default (a worker has one core; ``None``: DuckDB's default). Beyond its
    memory, a sort spills to ``temp_directory`` (DuckDB's default: ``.tmp`` in the working directory)."""
    config = {"memory_limit": f"{memory_mb:g}MiB"}
    if threads is not None:
        config["threads"] = str(threads)
    if temp_directory is not None:
        config["temp_directory"] = temp_directory
    con = duckdb.connect(config=config)
    con.execute("SET enable_progress_bar = false")  # else drawn on a worker's terminal for a query past 2 s
    if run is not None:
        register(con, run)
    return con


def register(con: duckdb.DuckDBPyConnection, run: RunDir) -> None:
    """Let DuckDB read a remote run directory through fsspec (a local one needs nothing)."""
    if not run.is_local:
        con.register_filesystem(run.fs)


def parquet_list(run: RunDir, names: list[str]) -> str:
    """A SQL list literal of the files, for ``read_parquet(...)``."""
    return "[" + ", ".join("'" + run.location(name).replace("'", "''") + "'" for name in names) + "]"


class Rows:
    """A table gathered row by row into Arrow batches of ``chunk`` rows.

    A task's notes and facts are held as compact Arrow columns rather than as Python
    tuples of strings: tens of thousands of small objects that, once freed, the
    allocators keep (a worker's resident size would stay that much higher for the rest
    of its life). Rows pass as tuples in the schema's column order.
    """

    def __init__(self, schema: pa.Schema, chunk: int = 1024) -> None:
        self.schema = schema
        self.chunk = chunk
        self._rows: list[Sequence[Any]] = []
        self._tables: list[pa.Table] = []
        self._count = 0

    def append(self, row: Sequence[Any]) -> None:
        self._rows.append(row)
        self._count += 1
        if len(self._rows) >= self.chunk:
            self._flush()

    def extend(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.append(row)

    def __len__(self) -> int:
        return self._count

    def _flush(self) -> None:
        if self._rows:
            self._tables.append(arrow_rows(self.schema, self._rows))
            self._rows = []

    def table(self) -> pa.Table:
        """Every row; the builder is empty after (the rows are handed over, not copied)."""
        self._flush()
        table = pa.concat_tables(self._tables) if self._tables else arrow_rows(self.schema, [])
        self._tables, self._count = [], 0
        return table


def release_memory() -> None:
    """Give the memory Arrow keeps for reuse back to the system (after a task's tables are written)."""
    pa.default_memory_pool().release_unused()
