"""FHIR output on request: ``Accept: application/fhir+json`` gives a valid R4 Bundle."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from extractor.fhir import EVIDENCE_URL
from extractor.screening import load_trial

FHIR = {"Accept": "application/fhir+json"}
NOTE = {
    "patient_id": "P", "note_id": "N", "date": "2025-03-01",
    "text": (
        "14 yo F with SLE. No h/o TB. Family History: Maternal aunt with breast cancer.\n"
        "Medications:\n1. prednisone 10 mg PO daily\nLabs: Hgb 9.6 g/dL, ANA 1:640.\n"
    ),
}


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def evidence_of(resource: dict[str, Any]) -> dict[str, Any]:
    extension = next(e for e in resource["extension"] if e["url"] == EVIDENCE_URL)
    return {part["url"]: next(v for k, v in part.items() if k != "url") for part in extension["extension"]}


def cited(resource: dict[str, Any]) -> str:
    return evidence_of(resource)["text"]


def test_extract_as_a_fhir_bundle(client: TestClient) -> None:
    response = client.post("/v1/extract", json={"notes": [NOTE]}, headers=FHIR)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    Bundle.model_validate(bundle)
    conditions = {cited(c): c for c in resources(bundle, "Condition")}
    assert conditions["SLE"]["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert conditions["TB"]["verificationStatus"]["coding"][0]["code"] == "refuted"
    assert "breast cancer" not in conditions  # a relative's: family history, not the patient's
    assert [cited(f) for f in resources(bundle, "FamilyMemberHistory")] == ["breast cancer"]
    [prednisone] = resources(bundle, "MedicationStatement")
    assert prednisone["status"] == "active"
    assert {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "8640"}.items() <= (
        prednisone["medicationCodeableConcept"]["coding"][0].items()
    )
    observations = {cited(o).split()[0]: o for o in resources(bundle, "Observation")}
    assert observations["Hgb"]["valueQuantity"]["code"] == "g/L"
    assert observations["Hgb"]["valueQuantity"]["value"] == pytest.approx(96.0)
    assert observations["ANA"]["valueRatio"]["denominator"]["value"] == 640
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] != "Patient":
            span = evidence_of(entry["resource"])
            assert NOTE["text"][span["start"] : span["end"]] == span["text"]


def test_json_stays_the_default(client: TestClient) -> None:
    for accept in (None, "application/json", "application/fhir+json;q=0, application/json"):
        headers = {"Accept": accept} if accept else {}
        response = client.post("/v1/extract", json={"notes": [NOTE]}, headers=headers)
        assert response.headers["content-type"] == "application/json"
        assert "notes" in response.json()


def test_screen_as_a_fhir_bundle(client: TestClient) -> None:
    body = {"trial": "blinatumomab-sle", "notes": [NOTE]}
    verdict = client.post("/v1/screen", json=body).json()
    bundle = client.post("/v1/screen", json=body, headers=FHIR).json()
    Bundle.model_validate(bundle)
    observations = resources(bundle, "Observation")
    criteria = [o for o in observations if "/CodeSystem/trial/" in str(o["code"].get("coding"))]
    assert [o["code"]["coding"][0]["code"] for o in criteria] == [c.id for c in load_trial("blinatumomab-sle").criteria]
    statuses = {o["code"]["coding"][0]["code"]: o["valueCodeableConcept"]["coding"][0]["code"] for o in criteria}
    assert statuses == {c["id"]: c["status"] for c in verdict["criteria"]}
    [overall] = [o for o in observations if "hasMember" in o]
    assert overall["valueCodeableConcept"]["coding"][0]["code"] == verdict["overall"]
    assert len(overall["hasMember"]) == len(criteria)
    assert resources(bundle, "Condition")  # the facts come along
