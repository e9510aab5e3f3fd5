"""A batch on a real Dask LocalCluster writes the same store as a single-process run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from distributed import Client, LocalCluster
from spacy.language import Language
from test_batch_inputs import archive_records, write_jsonl

from extractor.batch import ExportFormat, RunSummary, export_store, run_batch, work

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
    assert_same_output(tmp_path, {"single": single, "dask": spread}, [20, 20, 0, 0, 0, 4])
    assert (tmp_path / "dask-out" / "facts.jsonl").stat().st_size > 1000


def assert_same_output(tmp_path: Path, runs: dict[str, RunSummary], counts: list[int]) -> None:
    """Every run (its store at ``tmp_path / f"{name}.duckdb"``) counted ``counts`` (read,
    processed, skipped, failed, rejected, patients screened) and exports the same facts
    and verdicts, byte for byte."""
    fields = ("notes_read", "processed", "skipped", "failed", "rejected", "patients_screened")
    for summary in runs.values():
        assert [getattr(summary, field) for field in fields] == counts
    for store in runs:
        export_store(tmp_path / f"{store}.duckdb", tmp_path / f"{store}-out", ExportFormat.JSONL)
    first, *others = runs
    for other in others:
        for name in ("facts.jsonl", "verdicts.jsonl"):
            assert (tmp_path / f"{other}-out" / name).read_bytes() == (tmp_path / f"{first}-out" / name).read_bytes()
