"""Extraction runs in worker threads: the event loop keeps answering, and each pipeline
serves one request at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from spacy.language import Language

from extractor.service import ServiceSettings, create_app, pool

NOTE = {"patient_id": "P", "note_id": "N", "text": "14 yo F with SLE on prednisone 10 mg daily."}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def running(pipelines: list[Language]) -> AsyncIterator[httpx.AsyncClient]:
    """The app, started, in this test's event loop."""
    app = create_app(ServiceSettings(), pipelines)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client


@pytest.mark.anyio
async def test_healthz_answers_while_an_extraction_runs(nlp: Language, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = pool._extract

    def held(notes: Any, pipeline: Language, *rest: Any) -> Any:
        assert release.wait(timeout=30)
        return real(notes, pipeline, *rest)

    monkeypatch.setattr(pool, "_extract", held)
    async with running([nlp]) as client:
        results: dict[str, httpx.Response] = {}

        async def extract() -> None:
            results["extract"] = await client.post("/v1/extract", json={"notes": [NOTE]})

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(extract)
            await anyio.sleep(0.05)
            health = await client.get("/healthz")
            trials = await client.get("/v1/trials")
            assert "extract" not in results  # still held in its worker thread
            release.set()
        assert health.status_code == 200 and trials.status_code == 200
        assert results["extract"].status_code == 200
        assert "sle" in {f["concept"] for f in results["extract"].json()["notes"][0]["facts"]}


def _counting(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Replace extraction by a slow stand-in that records how many run at once."""
    lock = threading.Lock()
    active = peak = 0

    def slow(notes: Any, pipeline: Language, *rest: Any) -> Any:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.2)
        with lock:
            active -= 1
        return [(note, []) for note in notes]

    monkeypatch.setattr(pool, "_extract", slow)
    return lambda: peak


@pytest.mark.anyio
@pytest.mark.parametrize("size", [1, 2])
async def test_each_pipeline_serves_one_request_at_a_time(
    nlp: Language, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    peak = _counting(monkeypatch)
    async with running([nlp] * size) as client:
        statuses: list[int] = []

        async def extract() -> None:
            statuses.append((await client.post("/v1/extract", json={"notes": [NOTE]})).status_code)

        async with anyio.create_task_group() as tasks:
            for _ in range(4):
                tasks.start_soon(extract)
    assert statuses == [200] * 4
    assert peak() == size
