"""extractor.fhir: each kind of fact to its FHIR resource, validated with fhir.resources (R4B)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from extractor.facts import (
    Assertion,
    Code,
    Evidence,
    Experiencer,
    Fact,
    InfectionState,
    Kind,
    LabResult,
    MedicationDetails,
    MedStatus,
    Temporality,
    TimeRef,
)
from extractor.fhir import (
    EVIDENCE_URL,
    FACT_URL,
    SKIP_FAMILY_UNSTATED,
    SKIP_HYPOTHETICAL,
    SKIP_NO_RESOURCE,
    SKIP_OTHER_PERSON,
    SKIP_VACCINE_UNSTATED,
    facts_to_bundle,
    skip_reason,
)

TEXT = "SLE. Hgb 9.6 g/dL (ref 12.0-16.0) L. prednisone 10 mg PO daily. ANA 1:640."
ICD_SLE = Code(system="ICD-10-CM", code="M32.9", display="Systemic lupus erythematosus, unspecified")


def make_fact(kind: Kind, concept: str, word: str, **fields: Any) -> Fact:
    start = TEXT.index(word)
    evidence = Evidence(note_id="N1", char_start=start, char_end=start + len(word), text=word, section="hpi")
    return Fact(
        kind=kind, concept=concept, label=concept, evidence=evidence, patient_id="P1",
        note_date=dt.date(2025, 3, 1), **fields,
    )


def only_resource(fact: Fact) -> dict[str, Any]:
    """The fact's resource, after validating the whole Bundle."""
    bundle = facts_to_bundle([fact])
    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]
    assert len(resources) == 1
    return resources[0]


def code_of(concept: dict[str, Any]) -> str:
    return concept["coding"][0]["code"]


@pytest.mark.parametrize(
    ("assertion", "verification", "clinical"),
    [(Assertion.PRESENT, "confirmed", "active"), (Assertion.ABSENT, "refuted", None),
     (Assertion.POSSIBLE, "provisional", "active")],
)
def test_condition_verification_follows_the_assertion(
    assertion: Assertion, verification: str, clinical: str | None
) -> None:
    resource = only_resource(make_fact(Kind.CONDITION, "sle", "SLE", codes=(ICD_SLE,), assertion=assertion))
    assert resource["resourceType"] == "Condition"
    assert code_of(resource["verificationStatus"]) == verification
    assert (code_of(resource["clinicalStatus"]) if "clinicalStatus" in resource else None) == clinical
    assert resource["code"]["coding"] == [
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M32.9", "display": ICD_SLE.display}
    ]
    assert resource["recordedDate"] == "2025-03-01"


def test_a_resolved_infection_is_resolved_with_its_onset_at_the_written_precision() -> None:
    fact = make_fact(
        Kind.INFECTION, "pneumonia", "SLE", infection_state=InfectionState.RESOLVED,
        temporality=Temporality.HISTORICAL, time=TimeRef(date=dt.date(2021, 1, 1), precision="year"),
    )
    resource = only_resource(fact)
    assert code_of(resource["clinicalStatus"]) == "resolved"
    assert resource["onsetDateTime"] == "2021"


def test_codes_are_only_those_the_fact_carries() -> None:
    resource = only_resource(make_fact(Kind.CONDITION, "sle", "SLE"))
    assert resource["code"] == {"text": "sle"}


def test_evidence_and_qualifiers_ride_in_extensions() -> None:
    resource = only_resource(make_fact(Kind.CONDITION, "sle", "SLE", assertion=Assertion.ABSENT))
    extensions = {e["url"]: {part["url"]: next(v for k, v in part.items() if k != "url") for part in e["extension"]}
                  for e in resource["extension"]}
    evidence = extensions[EVIDENCE_URL]
    assert evidence == {"noteId": "N1", "start": 0, "end": 3, "text": "SLE", "section": "hpi"}
    assert TEXT[evidence["start"] : evidence["end"]] == evidence["text"]
    assert extensions[FACT_URL]["assertion"] == "absent"
    assert extensions[FACT_URL]["concept"] == "sle"


def test_a_relatives_condition_is_family_history_not_the_patients() -> None:
    resource = only_resource(make_fact(Kind.CONDITION, "sle", "SLE", codes=(ICD_SLE,), experiencer=Experiencer.FAMILY))
    assert resource["resourceType"] == "FamilyMemberHistory"
    assert code_of(resource["relationship"]) == "FAMMEMB"
    assert code_of(resource["condition"][0]["code"]) == "M32.9"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [({"experiencer": Experiencer.FAMILY, "assertion": Assertion.ABSENT}, SKIP_FAMILY_UNSTATED),
     ({"experiencer": Experiencer.OTHER}, SKIP_OTHER_PERSON),
     ({"assertion": Assertion.HYPOTHETICAL}, SKIP_HYPOTHETICAL),
     ({"kind": Kind.DEMOGRAPHIC}, SKIP_NO_RESOURCE),
     ({"kind": Kind.VACCINE, "assertion": Assertion.POSSIBLE}, SKIP_VACCINE_UNSTATED)],
)
def test_facts_without_a_resource_say_why(changes: dict[str, Any], reason: str) -> None:
    fact = make_fact(Kind.CONDITION, "sle", "SLE").model_copy(update=changes)
    assert skip_reason(fact) == reason
    bundle = facts_to_bundle([fact])
    Bundle.model_validate(bundle)
    assert bundle == {"resourceType": "Bundle", "type": "collection"}


@pytest.mark.parametrize(
    ("status", "assertion", "expected"),
    [(MedStatus.CURRENT, Assertion.PRESENT, "active"), (MedStatus.PAST, Assertion.PRESENT, "completed"),
     (MedStatus.PLANNED, Assertion.PRESENT, "intended"), (MedStatus.HELD, Assertion.PRESENT, "on-hold"),
     (MedStatus.STOPPED, Assertion.PRESENT, "stopped"), (MedStatus.CURRENT, Assertion.ABSENT, "not-taken"),
     (MedStatus.CURRENT, Assertion.POSSIBLE, "unknown"), (MedStatus.CURRENT, Assertion.HYPOTHETICAL, "intended")],
)
def test_medication_statement_status(status: MedStatus, assertion: Assertion, expected: str) -> None:
    details = MedicationDetails(
        ingredient="prednisone", dose=10.0, dose_unit="mg", route="po", frequency="daily", status=status,
        start=TimeRef(date=dt.date(2024, 3, 1), precision="month"),
    )
    fact = make_fact(
        Kind.MEDICATION, "prednisone", "prednisone", medication=details, assertion=assertion,
        codes=(Code(system="RxNorm", code="8640", display="prednisone"),),
    )
    resource = only_resource(fact)
    assert resource["resourceType"] == "MedicationStatement"
    assert resource["status"] == expected
    assert resource["medicationCodeableConcept"]["coding"][0]["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm"
    assert resource["effectivePeriod"] == {"start": "2024-03"}
    dose = resource["dosage"][0]["doseAndRate"][0]["doseQuantity"]
    assert dose == {"value": 10.0, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}


def test_a_lab_value_is_reported_in_its_canonical_unit_with_range_and_flag() -> None:
    lab = LabResult(
        value=9.6, unit="g/dL", canonical_value=96.0, canonical_unit="g/L", ref_low=12.0, ref_high=16.0, flag="L"
    )
    fact = make_fact(
        Kind.LAB, "hemoglobin", "Hgb 9.6 g/dL", lab=lab, time=TimeRef(date=dt.date(2025, 2, 27), precision="day"),
        codes=(Code(system="LOINC", code="718-7"),),
    )
    resource = only_resource(fact)
    assert resource["status"] == "final"
    assert resource["effectiveDateTime"] == "2025-02-27"
    ucum = "http://unitsofmeasure.org"
    assert resource["valueQuantity"] == {"value": 96.0, "unit": "g/L", "system": ucum, "code": "g/L"}
    assert resource["referenceRange"][0]["low"]["value"] == pytest.approx(120.0)
    assert resource["referenceRange"][0]["high"]["value"] == pytest.approx(160.0)
    assert code_of(resource["interpretation"][0]) == "L"


@pytest.mark.parametrize(
    ("lab", "value"),
    [(LabResult(titer=640), {"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 640}}}),
     (LabResult(qualitative="negative"), {"valueCodeableConcept": {"text": "negative"}}),
     (LabResult(value=30.0, comparator="<", unit="IU/mL"),
      {"valueQuantity": {"value": 30.0, "comparator": "<", "unit": "IU/mL", "system": "http://unitsofmeasure.org",
                         "code": "[IU]/mL"}}),
     (LabResult(value=60.0, value_high=65.0, unit="%", canonical_value=60.0, canonical_unit="%"),
      {"valueRange": {"low": {"value": 60.0, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
                      "high": {"value": 65.0, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}}}),
     (LabResult(value=1.8, unit="mg/mmol"), {"valueQuantity": {"value": 1.8, "unit": "mg/mmol"}})],
    ids=["titer", "qualitative", "comparator", "range", "unit-without-ucum-code"],
)
def test_lab_value_types(lab: LabResult, value: dict[str, Any]) -> None:
    resource = only_resource(make_fact(Kind.LAB, "ana", "ANA 1:640", lab=lab))
    assert {k: v for k, v in resource.items() if k.startswith("value")} == value


def test_a_negated_lab_is_cancelled_without_a_value() -> None:
    resource = only_resource(make_fact(Kind.LAB, "ana", "ANA", assertion=Assertion.ABSENT, lab=LabResult(titer=80)))
    assert resource["status"] == "cancelled"
    assert code_of(resource["dataAbsentReason"]) == "not-performed"
    assert not [k for k in resource if k.startswith("value")]


def test_vaccines_and_procedures() -> None:
    vaccine = only_resource(make_fact(Kind.VACCINE, "mmr_vaccine", "SLE", assertion=Assertion.ABSENT))
    assert (vaccine["resourceType"], vaccine["status"]) == ("Immunization", "not-done")
    procedure = only_resource(make_fact(Kind.PROCEDURE, "kidney_biopsy", "SLE", temporality=Temporality.HISTORICAL))
    assert (procedure["resourceType"], procedure["status"]) == ("Procedure", "completed")


def test_bundles_are_deterministic_and_a_repeated_fact_gets_its_own_id() -> None:
    fact = make_fact(Kind.CONDITION, "sle", "SLE")
    bundle = facts_to_bundle([fact, fact])
    Bundle.model_validate(bundle)
    assert bundle == facts_to_bundle([fact, fact])
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == 3  # the patient and two conditions
    patient = bundle["entry"][0]["resource"]
    assert patient["identifier"][0]["value"] == "P1"
    assert all(e["resource"]["subject"]["reference"] == urls[0] for e in bundle["entry"][1:])
