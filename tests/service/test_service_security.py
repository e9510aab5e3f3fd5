"""Bearer token, CORS, the 500 shield, and no note text in any log at any level."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from loguru import logger

from extractor.service import pool

Serve = Callable[..., AbstractContextManager[TestClient]]
TOKEN = "s3cret-token"
MARKER = "Xylophone-Quokka-Marker"  # stands for note text
NOTE = {"patient_id": "P", "note_id": "N", "text": f"{MARKER} 14 yo F with SLE. No h/o TB.", "date": "2025-03-01"}


@pytest.fixture(scope="module")
def guarded(serve: Serve) -> Iterator[TestClient]:
    with serve(token=TOKEN) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/trials"), ("GET", "/v1/trials/blinatumomab-sle"), ("GET", "/openapi.json"),
     ("POST", "/v1/extract"), ("POST", "/v1/screen"), ("GET", "/no-such-route")],
)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer"])
def test_every_route_but_healthz_needs_the_token(
    guarded: TestClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = guarded.request(method, path, headers=headers, json={"notes": [NOTE]})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"


def test_healthz_is_open_and_the_token_opens_the_rest(guarded: TestClient) -> None:
    assert guarded.get("/healthz").status_code == 200
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert guarded.get("/v1/trials", headers=auth).status_code == 200
    response = guarded.post("/v1/extract", headers=auth, json={"notes": [NOTE]})
    assert response.status_code == 200
    assert "sle" in {f["concept"] for f in response.json()["notes"][0]["facts"]}


def test_the_token_is_checked_before_the_body_is_read(serve: Serve) -> None:
    with serve(token=TOKEN, max_text_bytes=10) as client:
        response = client.post("/v1/extract", content=b"x" * 1000, headers={"content-type": "application/json"})
        assert response.status_code == 401


def test_the_document_declares_the_bearer_scheme(guarded: TestClient) -> None:
    schema = guarded.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert schema["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert schema["security"] == [{"bearer": []}]
    assert schema["paths"]["/healthz"]["get"]["security"] == []


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.get("/v1/trials", headers={"Origin": "https://ehr.example.org"})
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/v1/extract",
        headers={"Origin": "https://ehr.example.org", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_only_the_configured_origins(serve: Serve) -> None:
    with serve(cors_origins=("https://ehr.example.org",), token=TOKEN) as client:
        preflight = client.options(
            "/v1/extract",
            headers={
                "Origin": "https://ehr.example.org",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200  # a preflight carries no token
        assert preflight.headers["access-control-allow-origin"] == "https://ehr.example.org"
        other = client.get("/healthz", headers={"Origin": "https://evil.example.net"})
        assert "access-control-allow-origin" not in other.headers


def test_an_unexpected_error_is_a_json_500_and_the_server_goes_on(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(notes: Any, nlp: Any, *rest: Any) -> Any:
        raise RuntimeError(f"a component failed on: {notes[0].text}")

    with monkeypatch.context() as patch:
        patch.setattr(pool, "_extract", broken)
        response = client.post("/v1/extract", json={"notes": [NOTE]})
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "RuntimeError" in response.json()["message"]
    assert response.headers["x-request-id"] in response.json()["message"]
    assert MARKER not in response.text
    assert client.post("/v1/extract", json={"notes": [NOTE]}).status_code == 200


def test_no_note_text_in_logs_at_any_level(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    messages: list[str] = []
    sink = logger.add(lambda message: messages.append(str(message)), level="TRACE")
    caplog.set_level(logging.DEBUG)
    try:
        assert client.post("/v1/extract", json={"notes": [NOTE]}).status_code == 200
        assert client.post("/v1/screen", json={"trial": "blinatumomab-sle", "notes": [NOTE]}).status_code == 200
        headers = {"Accept": "application/fhir+json"}
        assert client.post("/v1/extract", json={"notes": [NOTE]}, headers=headers).status_code == 200
        assert client.post("/v1/extract", json={"notes": [{**NOTE, "date": MARKER}]}).status_code == 422
        assert client.post("/v1/extract", content=MARKER.encode()).status_code == 422
        with monkeypatch.context() as patch:
            patch.setattr(pool, "_extract", lambda notes, nlp, *rest: 1 / 0 if notes else MARKER)
            assert client.post("/v1/extract", json={"notes": [NOTE]}).status_code == 500
    finally:
        logger.remove(sink)
    assert any("POST /v1/extract 200" in m for m in messages)  # the log is there ...
    assert any("ZeroDivisionError" in m for m in messages)
    assert not [m for m in messages if MARKER in m]  # ... without the note
    assert MARKER not in caplog.text
