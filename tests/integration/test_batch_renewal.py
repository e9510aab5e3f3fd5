"""Workers renewed for memory in the middle of a run lose and repeat nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from spacy.language import Language
from test_batch_dask import assert_same_output
from test_batch_inputs import archive_records, write_jsonl

from extractor.batch import run_batch, work
from extractor.batch.executors import ProcessExecutor

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
