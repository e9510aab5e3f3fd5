"""Contract tests of the service routes, through FastAPI's test client."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from extractor.screening import load_trial

Serve = Callable[..., AbstractContextManager[TestClient]]


def _texts(notes: list[dict[str, Any]]) -> dict[str, str]:
    return {note["note_id"]: note["text"] for note in notes}


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(response.headers["x-request-id"]) == 16


def test_extract_gives_facts_per_note_with_exact_spans(client: TestClient, five_notes: list[dict[str, Any]]) -> None:
    response = client.post("/v1/extract", json={"notes": five_notes})
    assert response.status_code == 200
    body = response.json()
    assert [n["note_id"] for n in body["notes"]] == [n["note_id"] for n in five_notes]
    texts = _texts(five_notes)
    for item in body["notes"]:
        assert item["patient_id"] == "L001"
        for fact in item["facts"]:
            evidence = fact["evidence"]
            assert evidence["note_id"] == item["note_id"]
            assert texts[item["note_id"]][evidence["char_start"] : evidence["char_end"]] == evidence["text"]
    concepts = {f["concept"] for n in body["notes"] for f in n["facts"]}
    assert {"sle", "lupus_nephritis", "prednisone", "hemoglobin", "cd19_b_cells"} <= concepts


def test_extract_keeps_negated_and_family_facts_with_their_qualifiers(client: TestClient) -> None:
    text = "Family History: Maternal aunt with breast cancer.\nROS: Denies seizures. No h/o TB."
    response = client.post("/v1/extract", json={"notes": [{"patient_id": "P", "note_id": "N", "text": text}]})
    facts = {f["concept"]: f for f in response.json()["notes"][0]["facts"]}
    assert facts["breast_cancer"]["experiencer"] == "family"
    assert facts["seizure"]["assertion"] == "absent"
    assert facts["tuberculosis"]["assertion"] == "absent"
    assert facts["seizure"]["evidence"]["text"] == "seizures"


def test_extract_resolves_relative_time_against_the_note_date(client: TestClient) -> None:
    note = {
        "patient_id": "P", "note_id": "N", "date": "2025-03-01T09:30:00+01:00",
        "text": "Prednisone tapered from 15 to 10 mg daily 2 weeks ago.", "ward": "4B",
    }
    response = client.post("/v1/extract", json={"notes": [note]})
    assert response.status_code == 200
    fact = next(f for f in response.json()["notes"][0]["facts"] if f["concept"] == "prednisone")
    assert fact["note_date"] == "2025-03-01"
    assert fact["time"]["date"] == "2025-02-15"


def test_extract_reads_unicode_offsets_as_python_str_indices(client: TestClient) -> None:
    text = "Pt 😀 naïve — ✓ SLE confirmed; prednisone 5 mg daily."
    response = client.post("/v1/extract", json={"notes": [{"patient_id": "P", "note_id": "N", "text": text}]})
    for fact in response.json()["notes"][0]["facts"]:
        evidence = fact["evidence"]
        assert text[evidence["char_start"] : evidence["char_end"]] == evidence["text"]
    assert {"sle", "prednisone"} <= {f["concept"] for f in response.json()["notes"][0]["facts"]}


def test_screen_gives_the_contract_verdict(client: TestClient, five_notes: list[dict[str, Any]]) -> None:
    response = client.post("/v1/screen", json={"trial": "blinatumomab-sle", "notes": five_notes})
    assert response.status_code == 200
    verdict = response.json()
    assert set(verdict) == {"patient_id", "trial", "screening_date", "overall", "criteria"}
    assert verdict["patient_id"] == "L001"
    assert verdict["trial"] == "blinatumomab-sle"
    assert verdict["screening_date"] == "2025-02-27"  # the latest note's date
    assert verdict["overall"] in {"ineligible", "candidate", "needs_review"}
    trial_ids = [c.id for c in load_trial("blinatumomab-sle").criteria]
    assert [c["id"] for c in verdict["criteria"]] == trial_ids
    texts = _texts(five_notes)
    for criterion in verdict["criteria"]:
        assert criterion["status"] in {"met", "not_met", "unknown"}
        for span in criterion["evidence"]:
            assert texts[span["note_id"]][span["start"] : span["end"]] == span["text"]
    by_id = {c["id"]: c for c in verdict["criteria"]}
    assert by_id["inc-sle-diagnosis"]["status"] == "met"
    assert by_id["inc-consent"]["status"] == "unknown"


def test_screen_uses_the_given_screening_date(client: TestClient, sample_notes: list[dict[str, Any]]) -> None:
    body = {"trial": "blinatumomab-sle", "screening_date": "2025-01-31", "notes": sample_notes}
    verdict = client.post("/v1/screen", json=body).json()
    assert verdict["screening_date"] == "2025-01-31"
    cited_notes = {span["note_id"] for c in verdict["criteria"] for span in c["evidence"]}
    assert cited_notes <= {"S001-N1"}  # notes written after the screening date are not read


def test_trials_lists_the_bundled_trials(client: TestClient) -> None:
    response = client.get("/v1/trials")
    assert response.status_code == 200
    trials = {t["id"]: t for t in response.json()["trials"]}
    assert {"blinatumomab-sle", "n2c2-2018"} <= set(trials)
    assert trials["n2c2-2018"]["criteria"] == len(load_trial("n2c2-2018").criteria)


def test_trial_detail_gives_every_criterion(client: TestClient) -> None:
    response = client.get("/v1/trials/blinatumomab-sle")
    assert response.status_code == 200
    detail = response.json()
    trial = load_trial("blinatumomab-sle")
    assert detail["title"] == trial.title
    assert [c["id"] for c in detail["criteria"]] == [c.id for c in trial.criteria]
    consent = next(c for c in detail["criteria"] if c["id"] == "inc-consent")
    assert consent == {**consent, "type": "inclusion", "absent": "unknown", "person_only": True}


def test_unknown_trial_is_404_with_the_available_ids(client: TestClient) -> None:
    response = client.get("/v1/trials/no-such-trial")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert "blinatumomab-sle" in response.json()["message"]


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/v2/nothing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_interactive_docs_are_off_and_openapi_is_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {"/healthz", "/v1/extract", "/v1/screen", "/v1/trials", "/v1/trials/{trial_id}"}
    extract_200 = schema["paths"]["/v1/extract"]["post"]["responses"]["200"]["content"]
    assert set(extract_200) == {"application/json", "application/fhir+json"}


MARKER = "Zebulon-Quartz-Marker"  # stands for note text: it must never come back in an error

MALFORMED = [
    pytest.param({"notes": [{"patient_id": "P", "note_id": "N"}]}, "notes[0].text", id="missing-text"),
    pytest.param({"notes": [{"patient_id": "P", "note_id": "N", "text": 7}]}, "notes[0].text", id="text-not-string"),
    pytest.param(
        {"notes": [{"patient_id": "P", "note_id": "N", "text": MARKER, "date": "last Tuesday"}]},
        "notes[0].date", id="bad-date",
    ),
    pytest.param(
        {"notes": [{"patient_id": "P", "note_id": "N", "text": MARKER, "date": 20250301}]},
        "notes[0].date", id="date-as-number",
    ),
    pytest.param(
        {"notes": [{"patient_id": "P", "note_id": "", "text": MARKER}]}, "notes[0].note_id", id="empty-note-id"
    ),
    pytest.param(
        {"notes": [
            {"patient_id": "P", "note_id": "A", "text": MARKER},
            {"patient_id": "Q", "note_id": "A", "text": "x"},
        ]},
        "notes[1].note_id",
        id="duplicate-note-id",
    ),
    pytest.param({"notes": []}, "notes", id="no-notes"),
    pytest.param({"notes": [], "extra": 1}, "extra", id="unknown-top-level-field"),
    pytest.param({"note": [{"patient_id": "P", "note_id": "A", "text": MARKER}]}, "notes", id="misspelt-notes"),
]


@pytest.mark.parametrize(("body", "field"), MALFORMED)
def test_malformed_extract_is_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/v1/extract", json=body)
    assert response.status_code == 422
    error = response.json()
    assert error["error"] == "invalid_request"
    assert field in [f["field"] for f in error["fields"]]
    assert field in error["message"]
    assert MARKER not in response.text


def test_invalid_json_is_422_naming_the_body(client: TestClient) -> None:
    truncated = b'{"notes": [{"text": "' + MARKER.encode() + b'"'
    response = client.post("/v1/extract", content=truncated, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "body"
    assert MARKER not in response.text


def test_lone_surrogate_text_is_422(client: TestClient) -> None:
    body = b'{"notes": [{"patient_id": "P", "note_id": "N", "text": "SLE \\ud800"}]}'
    response = client.post("/v1/extract", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "notes[0].text"


def test_screen_rejects_an_unknown_trial_naming_the_field(client: TestClient) -> None:
    body = {"trial": "../../etc/passwd", "notes": [{"patient_id": "P", "note_id": "N", "text": "SLE"}]}
    response = client.post("/v1/screen", json=body)
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "trial"


def test_screen_takes_one_patient_per_request(client: TestClient) -> None:
    notes = [{"patient_id": "P1", "note_id": "A", "text": "SLE"}, {"patient_id": "P2", "note_id": "B", "text": "SLE"}]
    response = client.post("/v1/screen", json={"trial": "blinatumomab-sle", "notes": notes})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "notes[1].patient_id"


def test_too_many_notes_is_413(serve: Serve) -> None:
    notes = [{"patient_id": "P", "note_id": str(i), "text": "SLE"} for i in range(3)]
    with serve(max_notes=2) as small:
        response = small.post("/v1/extract", json={"notes": notes})
        assert response.status_code == 413
        assert response.json()["error"] == "too_large"
        assert "3 notes" in response.json()["message"] and "limit is 2" in response.json()["message"]
        assert small.post("/v1/extract", json={"notes": notes[:2]}).status_code == 200


def test_too_much_text_is_413_counting_utf8_bytes(serve: Serve) -> None:
    with serve(max_text_bytes=100) as small:
        fits = small.post("/v1/extract", json={"notes": [{"patient_id": "P", "note_id": "N", "text": "é" * 50}]})
        assert fits.status_code == 200
        over = small.post("/v1/extract", json={"notes": [{"patient_id": "P", "note_id": "N", "text": "é" * 51}]})
        assert over.status_code == 413
        assert "102 bytes" in over.json()["message"]


def test_an_oversized_body_is_refused_before_parsing(serve: Serve) -> None:
    with serve(max_text_bytes=100) as small:  # body cap: 800 bytes
        response = small.post("/v1/extract", content=b"[" * 2000, headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json()["message"].startswith("[S003]")
