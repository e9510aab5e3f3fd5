"""A batch on a real Dask LocalCluster writes the same store as a single-process run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from distributed import Client, LocalCluster
from spacy.language import Language
from test_batch_inputs import archive_records, write_jsonl

from extractor.batch import ExportFormat, export_store, run_batch, work

TRIAL = "blinatumomab-sle"


def test_local_cluster_output_is_identical_to_single_process(
    tmp_path: Path, nlp: Language, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_jsonl(tmp_path / "notes.jsonl", archive_records(patients=4, per_patient=5))
    monkeypatch.setattr(work._local, "nlp", nlp, raising=False)  # this thread only: Dask threads load their own
    single = run_batch(source, tmp_path / "single.duckdb", TRIAL, workers=0)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        spread = run_batch(source, tmp_path / "dask.duckdb", TRIAL, dask=client, batch_size=3)
    with duckdb.connect(str(tmp_path / "dask.duckdb"), read_only=True) as con:
        assert con.execute("SELECT executor, workers FROM runs").fetchall() == [("dask", 2)]
    counts = ("notes_read", "processed", "skipped", "failed", "rejected", "patients_screened")
    assert [getattr(spread, c) for c in counts] == [getattr(single, c) for c in counts] == [20, 20, 0, 0, 0, 4]
    for store in ("single", "dask"):
        export_store(tmp_path / f"{store}.duckdb", tmp_path / f"{store}-out", ExportFormat.JSONL)
    for name in ("facts.jsonl", "verdicts.jsonl"):
        assert (tmp_path / "dask-out" / name).read_bytes() == (tmp_path / "single-out" / name).read_bytes()
    assert (tmp_path / "dask-out" / "facts.jsonl").stat().st_size > 1000
