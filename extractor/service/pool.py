"""Running the pipeline for concurrent requests without blocking the event loop.

spaCy does not promise that one ``Language`` (with its medspaCy and scispaCy
components) may run in two threads at once, so each loaded pipeline is lent to one
request at a time: requests wait for a free pipeline in the event loop (an
``asyncio.Queue``, no thread is held while waiting), then run it in a worker thread.
The event loop stays free for /healthz, trial look-ups and other I/O. With the GIL,
extra pipelines in threads add little throughput for this CPU-bound work; they let a
short request overtake a long one. On the 2 shared cores here the default is one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import anyio.to_thread
from spacy.language import Language

from extractor import extract_notes
from extractor.facts import Fact
from extractor.notes import Note


class PipelinePool:
    """Loaded pipelines, each lent to one request at a time."""

    def __init__(self, pipelines: Sequence[Language]) -> None:
        if not pipelines:
            raise ValueError("a pool needs at least one pipeline")
        self.size = len(pipelines)
        self._free: asyncio.Queue[Language] = asyncio.Queue()
        for nlp in pipelines:
            self._free.put_nowait(nlp)

    async def extract(self, notes: Sequence[Note]) -> list[tuple[Note, list[Fact]]]:
        """Facts of each note, in order, computed in a worker thread."""
        nlp = await self._free.get()
        try:
            # not abandoned on cancel: the pipeline goes back only once its thread is done
            return await anyio.to_thread.run_sync(_extract, list(notes), nlp)
        finally:
            self._free.put_nowait(nlp)


def _extract(notes: list[Note], nlp: Language) -> list[tuple[Note, list[Fact]]]:
    return list(extract_notes(notes, nlp))
