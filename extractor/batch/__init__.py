"""Batch screening: whole archives into a DuckDB store, resumable, in parallel, then screened.

Public API:
    run_batch(source, store_path, trial, workers=1, dask=None, ...) -> RunSummary
    export_store(store_path, output_dir, ExportFormat.PARQUET | JSONL | FHIR, trial=None)
    Limits(max_chars, seconds)        per-note limits; a note over one fails alone

``runner`` holds the run and its two phases, ``work`` what workers do, ``executors``
where they run (this process, local processes, Dask), ``dispatch`` how batches are fed
to them, ``export`` the export formats; ``extractor.store`` is the DuckDB store.
"""

from __future__ import annotations

from extractor.batch.executors import WorkersUnavailable
from extractor.batch.export import ExportFormat, export_store
from extractor.batch.runner import RunSummary, run_batch
from extractor.batch.work import Limits

__all__ = ["ExportFormat", "Limits", "RunSummary", "WorkersUnavailable", "export_store", "run_batch"]
