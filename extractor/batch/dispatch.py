"""Keeping an executor busy with batches of items, and surviving workers that die.

Generic over what the items are (notes to extract, patients to screen): the caller
says how a batch becomes a task and what to do with each item's outcome.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Generic, TypeVar

from extractor.batch.executors import Executor, WorkerLost, WorkersUnavailable
from extractor.batch.work import WorkerStats

WAIT_SECONDS = 0.5  # how long to wait for results before refreshing the progress display
MAX_LOST_IN_A_ROW = 3  # items that each killed a worker, with no success between: workers are failing, not items

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


def chunked(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Dispatcher(Generic[Item, Outcome]):
    """Keeps the executor busy with at most ``2 x workers`` tasks, each a batch of items.

    A batch runs as ``fn(payload(items), *args)``; its result's ``outcomes`` (one per
    item, in order) go to ``deliver`` as (item, outcome) pairs. When a worker dies, the
    items of every batch that was running are run again one at a time, alone, so that a
    second death names its item (``lost`` gives that item's outcome). When items keep
    killing workers with no success in between, the workers are at fault (memory, a
    broken install), not the items: the run stops with ``WorkersUnavailable``.
    An exception raised by a task itself (the pipeline fails to load) stops the run too.
    """

    def __init__(
        self,
        executor: Executor,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        payload: Callable[[list[Item]], Any],
        outcomes: Callable[[Any], Sequence[Outcome]],
        lost: Callable[[Item], Outcome],
        deliver: Callable[[list[tuple[Item, Outcome]]], None],
        tick: Callable[[], None],
    ) -> None:
        self.executor, self.fn, self.args = executor, fn, args
        self.payload, self.outcomes, self.on_lost = payload, outcomes, lost
        self.deliver, self.tick = deliver, tick
        self.limit = 2 * executor.workers
        self.inflight: dict[Any, list[Item]] = {}
        self.suspects: deque[Item] = deque()
        self.lost: list[Item] = []  # items that killed a worker alone, since the last success
        self.peaks: dict[str, float] = {}

    def put(self, items: list[Item]) -> None:
        """Submit a batch, first waiting while the executor has enough to do."""
        while len(self.inflight) >= self.limit or self.suspects:
            self.poll(block=True)
        self._submit(items)

    def poll(self, block: bool) -> None:
        """Deliver finished batches; with ``block``, wait until at least one finished."""
        while self.inflight:
            done = self.executor.wait(list(self.inflight), WAIT_SECONDS if block else 0)
            for handle in done:
                self._collect(handle, alone=False)
            self.tick()
            if done or not block:
                break
        if self.suspects:
            self._run_suspects()

    def finish(self) -> None:
        """Wait for every batch."""
        while self.inflight or self.suspects:
            self.poll(block=True)
        self._deliver_lost()

    def _deliver_lost(self) -> None:
        if self.lost:
            self.deliver([(item, self.on_lost(item)) for item in self.lost])
            self.lost = []

    def _submit(self, items: list[Item]) -> Any:
        handle = self.executor.submit(self.fn, self.payload(items), *self.args)
        self.inflight[handle] = items
        return handle

    def _collect(self, handle: Any, alone: bool) -> None:
        items = self.inflight.pop(handle)
        try:
            result = self.executor.result(handle)
        except WorkerLost as exc:
            if not alone:
                self.suspects.extend(items)
                return
            self.lost.append(items[0])
            if len(self.lost) >= MAX_LOST_IN_A_ROW:
                raise WorkersUnavailable(
                    f"{len(self.lost)} tasks in a row lost their worker; stopping. Check the "
                    "workers' memory and logs, then rerun the same command to resume."
                ) from exc
            return
        self._deliver_lost()
        stats: WorkerStats = result.stats
        self.peaks[stats.worker] = max(self.peaks.get(stats.worker, 0.0), stats.peak_rss_mb)
        self.deliver(list(zip(items, self.outcomes(result), strict=True)))

    def _run_suspects(self) -> None:
        """After a worker died: let the running batches finish, then run each suspect alone."""
        while self.inflight:
            for handle in self.executor.wait(list(self.inflight), WAIT_SECONDS):
                self._collect(handle, alone=False)
            self.tick()
        while self.suspects:
            handle = self._submit([self.suspects.popleft()])
            while not self.executor.wait([handle], WAIT_SECONDS):
                self.tick()
            self._collect(handle, alone=True)
