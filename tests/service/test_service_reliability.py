"""The service under hostile or unlucky requests: deadlines (408/503 with the request id),
work stopped when the client leaves, unusable dates as 422, a log that cannot be forged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

import anyio
import pytest
from fastapi.testclient import TestClient
from loguru import logger
from spacy.language import Language

from extractor.notes import Note
from extractor.service import ServiceSettings, pool

NOTE = {"patient_id": "P", "note_id": "N", "date": "2025-03-01", "text": "14 yo F with SLE on prednisone 10 mg daily."}
LONG_TEXT = "Seizure 3 months ago. SLE flare, Hgb 9.6 g/dL on 01/02/2025; prednisone 10 mg daily.\n" * 400


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO", format="{message}")
    yield lines
    logger.remove(sink)


@pytest.mark.parametrize("field", ["date", "birth_date"])
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "2025-03-01garbage", "20250301", "2025-03-01T25:00"])
def test_unusable_dates_are_422_naming_the_field(client: TestClient, field: str, value: str) -> None:
    response = client.post("/v1/screen", json={"trial": "blinatumomab-sle", "notes": [{**NOTE, field: value}]})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == f"notes[0].{field}"
    assert value not in response.text


def test_extreme_but_usable_dates_screen_without_error(client: TestClient) -> None:
    notes = [{**NOTE, "date": "2999-12-31", "birth_date": "1800-01-01", "text": "Seizure 3000 months ago."}]
    response = client.post(
        "/v1/screen", json={"trial": "blinatumomab-sle", "screening_date": "2999-12-31", "notes": notes}
    )
    assert response.status_code == 200, response.text
    early = client.post("/v1/extract", json={"notes": [{**NOTE, "date": "1800-01-01", "text": "SLE 99 years ago."}]})
    assert early.status_code == 200


def test_a_future_note_is_named_and_not_the_screening_date(client: TestClient) -> None:
    notes = [NOTE, {**NOTE, "note_id": "N2", "date": "2099-03-01", "text": "Seizure yesterday."}]
    verdict = client.post("/v1/screen", json={"trial": "blinatumomab-sle", "notes": notes}).json()
    assert verdict["screening_date"] == "2025-03-01"
    assert verdict["notes_after_screening_date"] == ["N2"]


def test_work_past_the_deadline_is_stopped_with_408_and_the_request_id(serve: Any) -> None:
    with serve(request_seconds=0.05) as client:
        response = client.post("/v1/extract", json={"notes": [{**NOTE, "text": LONG_TEXT}]})
        assert response.status_code == 408
        request_id = response.headers["X-Request-ID"]
        assert response.json()["error"] == "deadline"
        assert f"Request id {request_id}" in response.json()["message"]
        assert client.post("/v1/extract", json={"notes": [NOTE]}).status_code == 200  # the pipeline came back


def test_no_free_pipeline_before_the_deadline_is_503(serve: Any) -> None:
    with serve(request_seconds=0.2) as client:
        free = client.app.state.pool._free  # type: ignore[attr-defined]
        held = free.get_nowait()  # another request holds the only pipeline
        try:
            response = client.post("/v1/extract", json={"notes": [NOTE]})
        finally:
            free.put_nowait(held)
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert response.headers["X-Request-ID"] in response.json()["message"]


@pytest.mark.anyio
async def test_work_stops_when_the_client_disconnects(nlp: Language, monkeypatch: pytest.MonkeyPatch) -> None:
    stages: list[str] = []
    real_pipeline = list(nlp.pipeline)

    class Counting:
        """The session pipeline, with each stage counted as it runs."""

        max_length = nlp.max_length
        pipeline: ClassVar[list[tuple[str, Any]]] = [
            (name, _counted(name, component, stages)) for name, component in real_pipeline
        ]

        def make_doc(self, text: str) -> Any:
            return nlp.make_doc(text)

    disconnected = anyio.Event()

    async def receive() -> dict[str, Any]:
        await disconnected.wait()
        return {"type": "http.disconnect"}

    lender = pool.PipelinePool([Counting()])  # type: ignore[list-item]
    notes = [Note(patient_id="P", note_id=f"N{i}", text=LONG_TEXT) for i in range(20)]
    async with anyio.create_task_group() as tasks:
        outcome: dict[str, BaseException] = {}

        async def run() -> None:
            try:
                await lender.extract(notes, 60.0, receive)
            except pool.ClientGone as exc:
                outcome["error"] = exc

        tasks.start_soon(run)
        while not stages:
            await anyio.sleep(0.01)
        disconnected.set()
    assert isinstance(outcome["error"], pool.ClientGone)
    assert len(stages) < len(real_pipeline) * 2  # stopped within the first notes, not after all 20
    assert lender._free.qsize() == 1  # the pipeline is back for the next request


def _counted(name: str, component: Any, stages: list[str]) -> Any:
    def stage(doc: Any) -> Any:
        stages.append(name)
        time.sleep(0.02)
        return component(doc)

    return stage


@pytest.mark.parametrize("path", ["/v1/trials/x%0aFAKE 200 line", "/v1/trials/%1b[2Jx", "/v1/trials/a%5cb%7f"])
def test_the_access_log_escapes_control_characters(serve: Any, log_lines: list[str], path: str) -> None:
    with serve(token="s3cret") as client:
        assert client.get(path).status_code == 401
    (line,) = [line for line in log_lines if "/v1/trials/" in line]
    assert "\n" not in line.rstrip("\n") and "\x1b" not in line and "\x7f" not in line
    assert "\\n" in line or "\\x1b" in line or "\\\\" in line


def test_request_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="request_seconds"):
        ServiceSettings(request_seconds=0)


def test_serve_exposes_the_request_timeout() -> None:
    from typer.testing import CliRunner

    from extractor.cli.app import app

    result = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert "--request-timeout" in result.stdout



@pytest.mark.parametrize("body", [
    b'{"notes": [{"patient_id": "P", "note_id": "N", "text": "no seizure", "text": "seizure"}]}',
    b'{"notes": [], "notes": [{"patient_id": "P", "note_id": "N", "text": "t"}]}',
])
def test_duplicate_json_keys_are_422_not_last_wins(client: TestClient, body: bytes) -> None:
    response = client.post("/v1/extract", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "body"
    assert "appears twice in one JSON object" in response.json()["message"]
    assert "seizure" not in response.text


def test_a_note_over_the_pipeline_limit_is_413_naming_it(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from extractor.service import routes

    # as if --max-text-bytes allowed more than the pipeline (patched where the route reads it)
    monkeypatch.setattr(routes.extractor, "MAX_NOTE_CHARS", 100)
    with serve() as client:
        response = client.post("/v1/extract", json={"notes": [NOTE, {**NOTE, "note_id": "N2", "text": "x" * 101}]})
    assert response.status_code == 413
    assert response.json()["fields"][0]["field"] == "notes[1].text"
    message = response.json()["message"]
    assert message.startswith("[S014] notes[1].text has 101 characters; the pipeline's limit is 100.")
