"""A sharded run on a real Dask cluster (a scheduler and two workers, separate processes on
127.0.0.1) survives ``kill -9`` of its main process and of a worker mid-run: every note is
processed exactly once, with the same facts and verdicts as a run in one process.

Robust on a loaded machine: the test waits for conditions (a shard committed, a worker
holding a task, the run's exit), never for a length of time, each under a bound far above
what an idle machine needs (STARTUP_SECONDS, RUN_SECONDS); Dask's own connection timeouts
are raised likewise (DASK_TIMEOUTS), in this process and in the ones it starts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dask
import duckdb
import pytest
from distributed import Client
from spacy.language import Language
from test_batch_inputs import archive_records, write_jsonl
from test_batch_resume import FILLER, snapshot

from extractor.batch import run_batch, work
from extractor.batch.dataset import RunDir

TRIAL = "blinatumomab-sle"
BIN = Path(sys.executable).parent
# bounds, not waits: an idle machine needs seconds; 2 cores shared with a dozen busy processes, minutes
STARTUP_SECONDS = 300  # a scheduler and its workers up (each imports distributed)
RUN_SECONDS = 900  # a run's next event (its first shard: the workers load the pipeline), or its end
# Dask's connection timeouts (default 30 s for a connect, 30 s for a reply) in this process ...
DASK_TIMEOUTS = {"distributed.comm.timeouts.connect": "300s", "distributed.comm.timeouts.tcp": "600s"}
# ... and, through the environment, in the scheduler, the workers and the batch's main process
DASK_ENVIRONMENT = {"DASK_" + key.upper().replace(".", "__"): value for key, value in DASK_TIMEOUTS.items()}


@pytest.fixture(autouse=True)
def patient_dask() -> Iterator[None]:
    with dask.config.set(DASK_TIMEOUTS):
        yield


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    """A process in its own session, so that a kill takes its children (a worker's nanny's) too."""
    with log.open("wb") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **DASK_ENVIRONMENT})


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = start(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        tmp_path / "scheduler.log",
    )
    workers = [
        start(
            [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
             "--name", f"w{i}"],
            tmp_path / f"worker{i}.log",
        )
        for i in range(2)
    ]
    try:
        with Client(address, timeout=STARTUP_SECONDS) as client:
            client.wait_for_workers(2, timeout=STARTUP_SECONDS)
        yield address, workers
    finally:
        for process in (*workers, scheduler):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def reference(tmp_path: Path, nlp: Language, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, Any]]:
    records = archive_records(patients=6, per_patient=4)
    for record in records:
        record["text"] += FILLER * 2
    source = write_jsonl(tmp_path / "notes.jsonl", records)
    monkeypatch.setattr(work._local, "nlp", nlp, raising=False)
    run_batch(source, tmp_path / "reference.duckdb", TRIAL, workers=0)
    return source, snapshot(tmp_path / "reference.duckdb")


def test_killed_mid_run_main_process_then_worker_no_note_lost_or_repeated(
    tmp_path: Path, cluster: tuple[str, list[subprocess.Popen[bytes]]], reference: tuple[Path, dict[str, Any]]
) -> None:
    """``kill -9`` of the main process once a shard is committed; the same command again,
    and ``kill -9`` of a worker (with its nanny) holding a task; the run ends exactly once."""
    address, workers = cluster
    source, expected = reference
    run_dir = tmp_path / "run"
    command = [
        str(BIN / "extractor"), "batch", str(source), "--trial", TRIAL, "--run-dir", str(run_dir),
        "--dask", address, "--shard-mb", "0.0005", "--partitions", "4", "--log-every", "0.5",
    ]
    run = RunDir(str(run_dir))
    log = tmp_path / "batch.log"
    environment = {**os.environ, **DASK_ENVIRONMENT}
    with log.open("w") as output, Client(address, timeout=STARTUP_SECONDS) as watcher:
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=output, env=environment)
        wait_until(lambda: bool(run.committed("extract-")), first)
        first.send_signal(signal.SIGKILL)
        first.wait()
        before = len(run.committed("extract-"))
        second = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=output, env=environment)
        wait_until(lambda: len(run.committed("extract-")) > before and bool(busy_workers(watcher)), second)
        victim = busy_workers(watcher)[0]  # a worker holding a task
        killed = workers[int(victim[1:])]
        os.killpg(killed.pid, signal.SIGKILL)  # the worker and its nanny: no restart
        assert second.wait(timeout=RUN_SECONDS) == 0, log.read_text()
    assert "(resumed, attempt 2)" in log.read_text()
    committed = run.committed("extract-")
    assert len(committed) > 8 and sum(record["counts"]["processed"] for record in committed.values()) == 24
    assert snapshot(run_dir / "results.duckdb") == expected  # the same notes, facts and verdicts
    files = [str(run_dir / record["files"]["notes"]) for record in committed.values()]
    with duckdb.connect() as con:  # each note in exactly one committed file, once
        rows = con.execute("SELECT count(*), count(DISTINCT note_id) FROM read_parquet(?)", [files]).fetchall()
    assert rows == [(24, 24)]
    assert [worker.poll() is None for worker in workers].count(True) == 1 and killed.poll() is not None


def wait_until(condition: Callable[[], bool], batch: subprocess.Popen[bytes], seconds: float = RUN_SECONDS) -> None:
    """Poll ``condition`` while ``batch`` runs; fail if it ends, or the bound passes, first."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert batch.poll() is None and time.monotonic() < deadline, "the run ended before the kill"
        time.sleep(0.05)


def busy_workers(client: Client) -> list[str]:
    """Names of the workers that hold a task (running or queued)."""
    names = {address: info["name"] for address, info in client.scheduler_info()["workers"].items()}
    return [names[address] for address, keys in client.processing().items() if keys and address in names]
