"""Workers renewed for memory in the middle of a run lose and repeat nothing; on Dask too."""

from __future__ import annotations

from pathlib import Path

import dask
import pytest
from distributed import Client, LocalCluster
from spacy.language import Language
from test_batch_cluster import DASK_TIMEOUTS
from test_batch_dask import assert_same_output
from test_batch_inputs import archive_records, write_jsonl

from extractor.batch import run_batch, work
from extractor.batch.executors import DaskExecutor, ProcessExecutor
from extractor.batch.work import screen_batch

TRIAL = "blinatumomab-sle"


def test_renewing_workers_after_every_task_writes_the_same_store(
    tmp_path: Path, nlp: Language, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_jsonl(tmp_path / "notes.jsonl", archive_records(patients=3, per_patient=4))
    monkeypatch.setattr(work._local, "nlp", nlp, raising=False)  # the in-process run only
    single = run_batch(source, tmp_path / "single.duckdb", TRIAL, workers=0)
    renewals: list[int] = []
    renew = ProcessExecutor._renew
    monkeypatch.setattr(ProcessExecutor, "_renew", lambda self: (renewals.append(1), renew(self)))
    # 1 MB: every worker is over the limit after its first task, so each pool runs few tasks
    renewed = run_batch(source, tmp_path / "renewed.duckdb", TRIAL, workers=1, batch_size=4, worker_memory_mb=1.0)
    assert len(renewals) >= 2
    assert_same_output(tmp_path, {"single": single, "renewed": renewed}, [12, 12, 0, 0, 0, 3])


def test_workers_under_the_default_bound_are_kept_the_pipeline_load_not_counted_as_a_task(tmp_path: Path) -> None:
    # loading the pipeline raises a worker by more than 100 MB once; counted as what every
    # task adds, it would renew the workers after each task (a load per task)
    from extractor.batch.work import Limits, extract_batch

    tasks = [(f"N{i}", "P", "2025-01-06", "Creatinine 1.1 mg/dL. No history of lupus.") for i in range(3)]
    executor = ProcessExecutor(1)
    try:
        results = [executor.result(executor.submit(extract_batch, tasks, Limits())) for _ in range(3)]
    finally:
        executor.close()
    assert executor.renewals == 0 and len({result.stats.worker for result in results}) == 1
    # three short notes add a few MB at most: the first task's load is not expected again
    assert all(result.stats.next_peak_mb - result.stats.rss_mb < 25 for result in results)


def test_dask_workers_past_the_memory_limit_are_restarted_by_their_nanny() -> None:
    with (
        dask.config.set(DASK_TIMEOUTS),  # a restart on a loaded machine takes long: bounded, not failed
        LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        executor = DaskExecutor(client, memory_mb=1.0)  # every worker is over it after one task
        first = executor.result(executor.submit(screen_batch, [], None, None))
        second = executor.result(executor.submit(screen_batch, [], None, None))
    assert first.stats.address.startswith("tcp://") and first.stats.rss_mb > 1.0
    assert executor.renewals == 2
    assert first.stats.worker != second.stats.worker  # a fresh process


def test_dask_workers_without_a_nanny_are_kept() -> None:
    with (
        dask.config.set(DASK_TIMEOUTS),
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        executor = DaskExecutor(client, memory_mb=1.0)
        results = [executor.result(executor.submit(screen_batch, [], None, None)) for _ in range(2)]
    assert executor.renewals == 0 and results[0].stats.address == results[1].stats.address
