"""Batch screening: whole archives into a DuckDB store or a sharded run, resumable, in parallel, then screened.

Public API:
    run_batch(source, store_path, trial, workers=1, dask=None, ...) -> RunSummary
        one DuckDB store, written by the main process (incremental: unchanged notes skipped)
    run_sharded(source, run_dir, trial, workers=1, dask=None, ...) -> RunSummary
        workers write Parquet under a run directory (path or fsspec URL); the main process
        only schedules and counts
    attach(RunDir(url), catalog)     a DuckDB file of views showing a sharded run as the store's tables
    compact(RunDir(url), output)     a sharded run copied into one store file
    export_store(store_path, output_dir, ExportFormat.PARQUET | JSONL | FHIR, trial=None)
    Limits(max_chars, seconds)        per-note limits; a note over one fails alone

``runner`` holds the single-store run and its two phases, ``sharded`` the sharded run,
``shards`` how an input is cut and read by position, ``dataset`` the run directory and its
atomic commits, ``views`` the catalog; ``work`` is what workers do, ``executors`` where
they run (this process, local processes, Dask), ``dispatch`` how tasks are fed to them,
``export`` the export formats; ``extractor.store`` is the DuckDB store.
"""

from __future__ import annotations

from extractor.imports import prepare_process

prepare_process()  # every worker imports this package before the pipeline (and spaCy)

# isort: split
import pyarrow as pa  # noqa: E402

# Arrow's own allocator (mimalloc) keeps what a task's tables freed for later, and only part
# of it goes back on request: measured, a worker stayed about 35 MB larger after an 8 MB
# shard with it than with the C library's, which gives it back (``release_memory()``).
pa.set_memory_pool(pa.system_memory_pool())

# isort: split
from extractor.batch.dataset import RunDir  # noqa: E402
from extractor.batch.executors import WorkersUnavailable  # noqa: E402
from extractor.batch.export import ExportFormat, export_store  # noqa: E402
from extractor.batch.runner import RunSummary, run_batch  # noqa: E402
from extractor.batch.sharded import run_sharded  # noqa: E402
from extractor.batch.views import attach, compact  # noqa: E402
from extractor.batch.work import Limits  # noqa: E402

__all__ = [
    "ExportFormat",
    "Limits",
    "RunDir",
    "RunSummary",
    "WorkersUnavailable",
    "attach",
    "compact",
    "export_store",
    "run_batch",
    "run_sharded",
]
