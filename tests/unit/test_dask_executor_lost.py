"""A task the Dask scheduler drops (cancelled, "already forgotten") is reported lost, to be run again."""

from __future__ import annotations

from typing import Any

import distributed
import pytest
from distributed.client import FutureCancelledError, FuturesCancelledError

from extractor.batch.executors import DaskExecutor, WorkerLost


class _Client:
    def nthreads(self) -> dict[str, int]:
        return {"tcp://a": 1, "tcp://b": 1}


class _Handle:
    def __init__(self, key: str, state: str) -> None:
        self.key, self.state = key, state

    def done(self) -> bool:
        return self.state != "pending"

    def cancelled(self) -> bool:
        return self.state == "cancelled"

    def result(self) -> Any:
        if self.state == "cancelled":
            raise FutureCancelledError(self.key, reason="already forgotten")
        return "value"


def test_a_cancelled_task_is_done_and_reported_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    dropped, running = _Handle("screen-1", "cancelled"), _Handle("screen-2", "pending")

    def cancelled_wait(*args: Any, **kwargs: Any) -> Any:
        raise FuturesCancelledError([])

    monkeypatch.setattr(distributed, "wait", cancelled_wait)
    executor = DaskExecutor(_Client())
    assert executor.wait([dropped, running], timeout=1) == [dropped]
    with pytest.raises(WorkerLost, match="already forgotten"):
        executor.result(dropped)


def test_shared_values_travel_with_each_task_not_scattered_to_workers() -> None:
    trial = {"id": "t", "criteria": []}
    assert DaskExecutor(_Client()).share(trial) is trial  # _Client has no scatter: nothing may call it
