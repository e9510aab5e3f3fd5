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

from extractor.imports import prepare_process

prepare_process()  # every worker imports this package before the pipeline (and spaCy)

# isort: split
from extractor.batch.executors import WorkersUnavailable  # noqa: E402
from extractor.batch.export import ExportFormat, export_store  # noqa: E402
from extractor.batch.runner import RunSummary, run_batch  # noqa: E402
from extractor.batch.work import Limits  # noqa: E402

__all__ = ["ExportFormat", "Limits", "RunSummary", "WorkersUnavailable", "export_store", "run_batch"]
