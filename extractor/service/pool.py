"""Running the pipeline for concurrent requests without blocking the event loop.

spaCy does not promise that one ``Language`` (with its medspaCy and scispaCy
components) may run in two threads at once, so each loaded pipeline is lent to one
request at a time: requests wait for a free pipeline in the event loop (an
``asyncio.Queue``, no thread is held while waiting), then run it in a worker thread.
The event loop stays free for /healthz, trial look-ups and other I/O. With the GIL,
extra pipelines in threads add little throughput for this CPU-bound work; they let a
short request overtake a long one. On the 2 shared cores here the default is one.

Every request has a deadline. Waiting for a pipeline past it answers 503 (busy); work
past it stops between two pipeline stages and answers 408. Work also stops when the
client disconnects, so an abandoned long request does not hold the pipeline for the
requests behind it. A worker thread cannot be killed, so stopping is cooperative: the
thread checks a flag between stages, and the pipeline goes back to the pool only once
its thread has returned.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence

import anyio
import anyio.to_thread
from spacy.language import Language
from starlette.types import Receive

from extractor.facts import Fact
from extractor.isolation import Cancelled, run_pipeline
from extractor.notes import Note


class Busy(Exception):
    """No pipeline came free before the request's deadline."""


class DeadlinePassed(Exception):
    """The request's work ran past its deadline and was stopped."""


class ClientGone(Exception):
    """The client disconnected; its work was stopped."""


class PipelinePool:
    """Loaded pipelines, each lent to one request at a time."""

    def __init__(self, pipelines: Sequence[Language]) -> None:
        if not pipelines:
            raise ValueError("a pool needs at least one pipeline")
        self.size = len(pipelines)
        self._free: asyncio.Queue[Language] = asyncio.Queue()
        for nlp in pipelines:
            self._free.put_nowait(nlp)

    async def extract(
        self, notes: Sequence[Note], seconds: float = 3600.0, receive: Receive | None = None
    ) -> list[tuple[Note, list[Fact]]]:
        """Facts of each note, in order, computed in a worker thread within ``seconds``.

        ``receive``: the request's ASGI channel, watched for the client disconnecting.
        Raises ``Busy``, ``DeadlinePassed`` or ``ClientGone``.
        """
        deadline = time.monotonic() + seconds
        gone = threading.Event()
        # a plain task, not a task group: the request's own errors must not come out wrapped
        watcher = asyncio.ensure_future(_watch_disconnect(receive, gone)) if receive is not None else None
        try:
            return await self._run(list(notes), deadline, gone)
        finally:
            if watcher is not None:
                watcher.cancel()

    async def _run(self, notes: list[Note], deadline: float, gone: threading.Event) -> list[tuple[Note, list[Fact]]]:
        try:
            with anyio.fail_after(max(deadline - time.monotonic(), 0.0)):
                nlp = await self._free.get()
        except TimeoutError:
            raise Busy from None

        def stop() -> bool:
            return gone.is_set() or time.monotonic() > deadline

        try:
            # not abandoned on cancel: the pipeline goes back only once its thread is done
            return await anyio.to_thread.run_sync(_extract, notes, nlp, stop)
        except Cancelled:
            raise (ClientGone if gone.is_set() else DeadlinePassed) from None
        finally:
            self._free.put_nowait(nlp)


async def _watch_disconnect(receive: Receive, gone: threading.Event) -> None:
    """Set ``gone`` when the client disconnects (the body has been read already)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


def _extract(notes: list[Note], nlp: Language, stop: Callable[[], bool] | None = None) -> list[tuple[Note, list[Fact]]]:
    return [(note, run_pipeline(nlp, note, stop)) for note in notes]
