"""When a worker dies, the item that killed it is found and recorded; the others are done once."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_batch_inputs import archive_records, write_jsonl

from extractor.batch.dispatch import Dispatcher
from extractor.batch.executors import ProcessExecutor, WorkerLost, WorkersUnavailable
from extractor.batch.work import WorkerStats, screen_batch


@dataclass
class Squares:
    values: list[int]
    stats: WorkerStats


def squares(items: list[int]) -> Squares:
    return Squares([item * item for item in items], WorkerStats("fake:1", 100.0))


class DyingPool:
    """Like a process pool: a task holding a poison item kills its worker, and every task
    submitted to the same pool fails with it; the next submit gets a fresh pool."""

    name = "fake"
    workers = 2

    def __init__(self, poison: set[int]) -> None:
        self.poison = poison
        self.pool = 0
        self.broken: set[int] = set()
        self.tasks: dict[int, tuple[int, Any, list[int]]] = {}
        self.submitted: list[list[int]] = []

    def submit(self, fn: Any, items: list[int]) -> int:
        handle = len(self.tasks)
        self.tasks[handle] = (self.pool, fn, items)
        self.submitted.append(items)
        if self.poison & set(items):
            self.broken.add(self.pool)
        return handle

    def wait(self, handles: list[int], timeout: float | None) -> list[int]:
        return list(handles)

    def result(self, handle: int) -> Any:
        pool, fn, items = self.tasks[handle]
        if pool in self.broken:
            self.pool = max(self.pool, pool + 1)
            raise WorkerLost("a worker died")
        return fn(items)

    def share(self, value: Any) -> Any:
        return value


def run(pool: DyingPool, items: list[int], batch: int, delivered: list[tuple[int, int | str]]) -> None:
    dispatcher: Dispatcher[int, int | str] = Dispatcher(
        pool, squares, (), lambda chunk: chunk, lambda result: result.values,
        lambda item: "lost", delivered.extend, lambda: None,
    )
    for start in range(0, len(items), batch):
        dispatcher.put(items[start : start + batch])
    dispatcher.finish()


def test_the_item_that_kills_is_recorded_and_every_other_is_done_once() -> None:
    pool = DyingPool(poison={7})
    delivered: list[tuple[int, int | str]] = []
    run(pool, list(range(12)), 3, delivered)
    assert sorted(delivered, key=lambda pair: pair[0]) == [
        (item, "lost" if item == 7 else item * item) for item in range(12)
    ]
    assert [7] in pool.submitted  # it was run alone before being blamed


def test_workers_that_keep_dying_stop_the_run_without_blaming_items() -> None:
    pool = DyingPool(poison=set(range(100)))
    delivered: list[tuple[int, int | str]] = []
    with pytest.raises(WorkersUnavailable):
        run(pool, list(range(12)), 3, delivered)
    assert delivered == []  # nothing was recorded as a note's fault


def test_a_process_that_dies_is_reported_and_replaced() -> None:
    executor = ProcessExecutor(1)
    try:
        with pytest.raises(WorkerLost):
            executor.result(executor.submit(os._exit, 3))
        assert executor.result(executor.submit(pow, 2, 5)) == 32
    finally:
        executor.close()


def test_workers_past_the_memory_limit_are_renewed_and_tasks_go_on() -> None:
    executor = ProcessExecutor(1, memory_mb=1.0)  # every worker is over it after one task
    try:
        early = [executor.submit(screen_batch, [], None, None) for _ in range(2)]  # both to the first pool
        first, stale = (executor.result(handle) for handle in early)
        later = executor.result(executor.submit(screen_batch, [], None, None))
        assert first.stats.rss_mb > 1.0
        # the stale result came from the pool already renewed: no second renewal for it
        assert executor.renewals == 2
        assert first.stats.worker == stale.stats.worker != later.stats.worker  # a fresh process
    finally:
        executor.close()


def test_workers_under_the_memory_limit_are_kept() -> None:
    executor = ProcessExecutor(1, memory_mb=100_000.0)
    try:
        results = [executor.result(executor.submit(screen_batch, [], None, None)) for _ in range(3)]
        assert executor.renewals == 0
        assert len({result.stats.worker for result in results}) == 1
        assert 0.0 < results[0].stats.rss_mb <= results[0].stats.peak_rss_mb
    finally:
        executor.close()


NO_GUARD = """
import sys
from pathlib import Path
from extractor.batch import run_batch
run_batch(Path(sys.argv[1]), Path(sys.argv[2]), "blinatumomab-sle", workers=2)
"""


def test_a_script_without_a_main_guard_is_told_why_workers_cannot_start(tmp_path: Path) -> None:
    script = tmp_path / "no_guard.py"
    script.write_text(NO_GUARD, encoding="utf-8")
    source = write_jsonl(tmp_path / "notes.jsonl", archive_records(patients=1, per_patient=2))
    done = subprocess.run(
        [sys.executable, str(script), str(source), str(tmp_path / "store.duckdb")],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode != 0
    assert "WorkersUnavailable" in done.stderr and "if __name__ == '__main__':" in done.stderr
