"""Facts and verdicts as FHIR R4 resources, for EHR tools that speak FHIR rather than our JSON.

``facts_to_bundle(facts)`` gives a ``collection`` Bundle (a plain dict, ready for
``json.dumps``); the service answers with it on ``Accept: application/fhir+json``, and
batch export reuses it. Every resource carries the words of the chart it rests on in
the *evidence* extension and the fact's qualifiers (kind, concept, assertion,
experiencer, temporality) in the *fact* extension, so a reader can always find the
words and our reading of them. Codes are exactly those the fact carries: a fact
without a code gets a ``CodeableConcept`` with text only.

How facts map (``skip_reason`` says why a fact has no resource):

- condition / infection of the patient → ``Condition``; verificationStatus confirmed
  (present), refuted (absent), provisional (possible); clinicalStatus active when
  current, resolved for a resolved infection, left out otherwise (a chronic disease
  under "past history" is not necessarily inactive) and always for a refuted one.
- condition / infection of a family member, present → ``FamilyMemberHistory``
  (relationship "family member": the note's relative is not a coded fact). A relative's
  absent or possible condition is skipped: R4 has no way to negate or doubt one entry.
- medication → ``MedicationStatement``, status from the medication's status
  (current → active, past → completed, planned → intended, held → on-hold,
  stopped → stopped), not-taken when negated, unknown when possible, intended when
  hypothetical.
- lab / score → ``Observation``; a value in the lab's canonical unit (UCUM-coded where the
  unit is known), a titer as a ratio, a written range as a range, a qualitative result
  as text; the reference range, converted to the value's unit; H/L/critical flags as
  v3 interpretation codes. Status final; preliminary when uncertain; negated: cancelled,
  data absent "not-performed"; hypothetical: registered, no value. No category: our lab kind also holds LVEF and
  SpO2, and a wrong category is worse than none.
- vaccine → ``Immunization`` (completed / not-done); procedure → ``Procedure``
  (not-done, preparation when hypothetical, completed when historical, else unknown).
- skipped: hypothetical conditions; uncertain or hypothetical vaccinations; anything
  about someone other than the patient or family; demographic and social facts (they
  claim nothing the patient's record could hold, or belong on ``Patient``).

Resource ids are UUIDs derived from the facts themselves, so the same input gives the
same Bundle. The validated model set is ``fhir.resources.R4B`` (4.3, backwards
compatible with R4 for every resource used here).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from extractor.screening import PatientVerdict

# Identifiers of this project's definitions, not addresses: nothing fetches them, and the
# reserved ``.invalid`` domain (RFC 2606) can never belong to anyone else.
PROJECT_BASE = "https://fhir.extractor.invalid"
EVIDENCE_URL = f"{PROJECT_BASE}/StructureDefinition/evidence"
FACT_URL = f"{PROJECT_BASE}/StructureDefinition/fact"
PATIENT_ID_SYSTEM = f"{PROJECT_BASE}/NamingSystem/patient-id"
CRITERION_STATUS_SYSTEM = f"{PROJECT_BASE}/CodeSystem/criterion-status"
OVERALL_SYSTEM = f"{PROJECT_BASE}/CodeSystem/screening-overall"
SCREENING_SYSTEM = f"{PROJECT_BASE}/CodeSystem/screening"

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, PROJECT_BASE)

# The canonical FHIR system URI of each code system a fact may carry (resources.CodeSystem).
SYSTEM_URIS = {
    "ICD-10-CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "SNOMED CT": "http://snomed.info/sct",
    "RxNorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "LOINC": "http://loinc.org",
    "CVX": "http://hl7.org/fhir/sid/cvx",
}
UCUM = "http://unitsofmeasure.org"
# UCUM codes of the unit spellings used for canonical lab units; a unit not listed is
# given as text only (Quantity.unit), never with a guessed code.
UCUM_CODES = {
    "g/L": "g/L",
    "g/dL": "g/dL",
    "mg/dL": "mg/dL",
    "mg/L": "mg/L",
    "umol/L": "umol/L",
    "mmol/L": "mmol/L",
    "10^9/L": "10*9/L",
    "10^3/uL": "10*3/uL",
    "cells/uL": "/uL",
    "/uL": "/uL",
    "%": "%",
    "U/L": "U/L",
    "IU/mL": "[IU]/mL",
    "mIU/mL": "m[IU]/mL",
    "mL/min/1.73m2": "mL/min/{1.73_m2}",
    "g/day": "g/d",
    "mg/day": "mg/d",
    "mg/g": "mg/g",
    "g/g": "g/g",
    "copies/mL": "{copies}/mL",
    "mg": "mg",
    "g": "g",
    "mcg": "ug",
    "mL": "mL",
}
_COMPARATORS = {"<", "<=", ">=", ">"}
_INTERPRETATION = {  # v3-ObservationInterpretation
    "H": ("H", "High"),
    "high": ("H", "High"),
    "L": ("L", "Low"),
    "low": ("L", "Low"),
    "*": ("A", "Abnormal"),
    "critical": ("AA", "Critical abnormal"),
}
_MED_STATUS = {
    MedStatus.CURRENT: "active",
    MedStatus.PAST: "completed",
    MedStatus.PLANNED: "intended",
    MedStatus.HELD: "on-hold",
    MedStatus.STOPPED: "stopped",
}
_VERIFICATION = {
    Assertion.PRESENT: "confirmed",
    Assertion.ABSENT: "refuted",
    Assertion.POSSIBLE: "provisional",
}

SKIP_HYPOTHETICAL = "hypothetical mention: it claims nothing about the patient"
SKIP_OTHER_PERSON = "about someone other than the patient or a family member"
SKIP_FAMILY_UNSTATED = "a relative's absent or uncertain condition: R4 FamilyMemberHistory cannot negate or doubt one"
SKIP_FAMILY_OTHER_KIND = "a relative's medication, result or procedure is not part of the patient's record"
SKIP_NO_RESOURCE = "demographic and social facts have no resource of their own here"
SKIP_VACCINE_UNSTATED = "an uncertain or hypothetical vaccination: Immunization records given or not-given doses"


def skip_reason(fact: Fact) -> str | None:
    """Why ``fact`` has no FHIR resource, or None when it has one."""
    if fact.kind in (Kind.DEMOGRAPHIC, Kind.SOCIAL):
        return SKIP_NO_RESOURCE
    if fact.experiencer is Experiencer.OTHER:
        return SKIP_OTHER_PERSON
    if fact.experiencer is Experiencer.FAMILY:
        if fact.kind not in (Kind.CONDITION, Kind.INFECTION):
            return SKIP_FAMILY_OTHER_KIND
        return None if fact.assertion is Assertion.PRESENT else SKIP_FAMILY_UNSTATED
    if fact.kind is Kind.VACCINE and fact.assertion in (Assertion.POSSIBLE, Assertion.HYPOTHETICAL):
        return SKIP_VACCINE_UNSTATED
    if fact.assertion is Assertion.HYPOTHETICAL and fact.kind in (Kind.CONDITION, Kind.INFECTION):
        return SKIP_HYPOTHETICAL
    return None


def fact_to_resource(fact: Fact, subject: str) -> dict[str, Any]:
    """One FHIR resource for a fact that ``skip_reason`` lets through; ``subject`` is the
    reference (e.g. ``urn:uuid:...``) of the patient it is about."""
    reason = skip_reason(fact)
    if reason is not None:
        raise ValueError(f"fact {fact.concept!r} has no FHIR resource: {reason}")
    if fact.experiencer is Experiencer.FAMILY:
        resource = _family_history(fact, subject)
    elif fact.kind in (Kind.CONDITION, Kind.INFECTION):
        resource = _condition(fact, subject)
    elif fact.kind is Kind.MEDICATION:
        resource = _medication_statement(fact, subject)
    elif fact.kind in (Kind.LAB, Kind.SCORE, Kind.VITAL):
        resource = _observation(fact, subject)
    elif fact.kind is Kind.VACCINE:
        resource = _immunization(fact, subject)
    else:
        resource = _procedure(fact, subject)
    resource["extension"] = [evidence_extension(fact.evidence), _fact_extension(fact)]
    return resource


def facts_to_bundle(facts: Iterable[Fact]) -> dict[str, Any]:
    """A FHIR R4 ``collection`` Bundle: one Patient per patient id, one resource per fact
    that has one (see ``skip_reason``), in input order."""
    return _collection(_fact_entries(facts, {}))


def verdict_to_bundle(verdict: PatientVerdict, facts: Iterable[Fact] = ()) -> dict[str, Any]:
    """A screening verdict as a Bundle, with the patient's facts.

    Each criterion is an Observation (code: the criterion id in the trial's code system,
    value: met / not_met / unknown, note: the reason, the cited spans as evidence
    extensions), gathered by an ``overall`` Observation through ``hasMember``. Status is
    preliminary: the matcher proposes, a person signs off. The patient's facts follow.
    """
    patient = _patient_entry(verdict.patient_id)
    entries = [patient, *_fact_entries(facts, {verdict.patient_id: patient["fullUrl"]})]
    subject = {"reference": patient["fullUrl"]}
    trial_system = f"{PROJECT_BASE}/CodeSystem/trial/{verdict.trial}"
    when = {"effectiveDateTime": verdict.screening_date.isoformat()} if verdict.screening_date else {}
    members = []
    for result in verdict.criteria:
        full_url = _urn("criterion", verdict.patient_id, verdict.trial, result.id)
        observation = {
            "resourceType": "Observation",
            "id": _id(full_url),
            "status": "preliminary",
            "code": {"coding": [{"system": trial_system, "code": result.id}], "text": result.id},
            "subject": subject,
            **when,
            "valueCodeableConcept": _coded(CRITERION_STATUS_SYSTEM, result.status.value),
            "note": [{"text": result.reason}] if result.reason else [],
            "extension": [evidence_extension(e) for e in result.evidence],
        }
        entries.append({"fullUrl": full_url, "resource": _pruned(observation)})
        members.append({"reference": full_url})
    overall_url = _urn("overall", verdict.patient_id, verdict.trial)
    overall = {
        "resourceType": "Observation",
        "id": _id(overall_url),
        "status": "preliminary",
        "code": {"coding": [{"system": SCREENING_SYSTEM, "code": verdict.trial}], "text": verdict.trial},
        "subject": subject,
        **when,
        "valueCodeableConcept": _coded(OVERALL_SYSTEM, verdict.overall.value),
        "hasMember": members,
    }
    entries.append({"fullUrl": overall_url, "resource": overall})
    return _collection(entries)


def evidence_extension(evidence: Evidence) -> dict[str, Any]:
    """The evidence span: note id, start / end (Python str offsets, end-exclusive), text, section."""
    parts: list[dict[str, Any]] = [
        {"url": "noteId", "valueString": evidence.note_id},
        {"url": "start", "valueInteger": evidence.char_start},
        {"url": "end", "valueInteger": evidence.char_end},
    ]
    if evidence.text:  # FHIR strings are never empty
        parts.append({"url": "text", "valueString": evidence.text})
    if evidence.section:
        parts.append({"url": "section", "valueString": evidence.section})
    return {"url": EVIDENCE_URL, "extension": parts}


# ---------------------------------------------------------------- entries and ids


def _fact_entries(facts: Iterable[Fact], patients: dict[str | None, str]) -> list[dict[str, Any]]:
    """Bundle entries for ``facts``, each patient's Patient before its first resource;
    ``patients`` maps the patient ids already in the Bundle to their fullUrl."""
    entries: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for fact in facts:
        if skip_reason(fact) is not None:
            continue
        if fact.patient_id not in patients:
            patient = _patient_entry(fact.patient_id)
            patients[fact.patient_id] = patient["fullUrl"]
            entries.append(patient)
        key = json.dumps(fact.to_json_dict(), sort_keys=True)
        seen[key] = seen.get(key, 0) + 1  # a fact written twice in a note is two resources
        full_url = _urn("fact", key, str(seen[key]))
        resource = {"id": _id(full_url), **fact_to_resource(fact, patients[fact.patient_id])}
        entries.append({"fullUrl": full_url, "resource": _pruned(resource)})
    return entries


def _collection(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A collection Bundle; no ``entry`` at all when empty (FHIR JSON has no empty arrays)."""
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if entries:
        bundle["entry"] = entries
    return bundle


def _patient_entry(patient_id: str | None) -> dict[str, Any]:
    full_url = _urn("patient", patient_id or "")
    resource: dict[str, Any] = {"resourceType": "Patient", "id": _id(full_url)}
    if patient_id:
        resource["identifier"] = [{"system": PATIENT_ID_SYSTEM, "value": patient_id}]
    return {"fullUrl": full_url, "resource": resource}


def _urn(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, chr(31).join(parts))}"


def _id(full_url: str) -> str:
    """The resource id of a ``urn:uuid:`` fullUrl: the UUID itself."""
    return full_url.removeprefix("urn:uuid:")


def _pruned(resource: dict[str, Any]) -> dict[str, Any]:
    """Drop empty lists and None values: FHIR forbids empty elements."""
    return {k: v for k, v in resource.items() if v is not None and v != [] and v != {}}


# ---------------------------------------------------------------- datatypes


def _coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _concept(fact: Fact) -> dict[str, Any]:
    """The fact's own codes (in systems FHIR names) and its label as text."""
    return _pruned({"coding": [_coding(code) for code in fact.codes if code.system in SYSTEM_URIS],
                    "text": fact.label})


def _coding(code: Code) -> dict[str, Any]:
    coding = {"system": SYSTEM_URIS[code.system], "code": code.code}
    if code.display:
        coding["display"] = code.display
    return coding


def _date(value: dt.date, precision: str | None) -> str:
    """A FHIR date at the precision the note gave: 2022, 2022-03 or 2022-03-14."""
    text = value.isoformat()
    return {"year": text[:4], "age": text[:4], "month": text[:7]}.get(precision or "day", text)


def _time(time: TimeRef | None, note_date: dt.date | None, prefix: str) -> dict[str, Any]:
    """``{prefix}DateTime`` or ``{prefix}Period`` from a fact's time (or the note's date)."""
    if time is not None and time.date is not None:
        return {f"{prefix}DateTime": _date(time.date, time.precision)}
    if time is not None and (time.start or time.end):
        period = {}
        if time.start:
            period["start"] = _date(time.start, time.precision)
        if time.end:
            period["end"] = _date(time.end, time.precision)
        return {f"{prefix}Period": period}
    if note_date is not None and prefix in ("effective", "occurrence"):
        return {f"{prefix}DateTime": note_date.isoformat()}
    return {}


def _fact_extension(fact: Fact) -> dict[str, Any]:
    """Our qualifiers, so that a consumer can tell a refuted condition's source cue etc."""
    parts = [
        {"url": "kind", "valueCode": fact.kind.value},
        {"url": "concept", "valueCode": fact.concept},
        {"url": "assertion", "valueCode": fact.assertion.value},
        {"url": "experiencer", "valueCode": fact.experiencer.value},
        {"url": "temporality", "valueCode": fact.temporality.value},
    ]
    if fact.infection_state is not None:
        parts.append({"url": "infectionState", "valueCode": fact.infection_state.value})
    return {"url": FACT_URL, "extension": parts}


# ---------------------------------------------------------------- resources


def _condition(fact: Fact, subject: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "verificationStatus": _coded(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", _VERIFICATION[fact.assertion]
        ),
        "code": _concept(fact),
        "subject": {"reference": subject},
        **_time(fact.time, None, "onset"),
    }
    clinical = _clinical_status(fact)
    if clinical:
        resource["clinicalStatus"] = _coded("http://terminology.hl7.org/CodeSystem/condition-clinical", clinical)
    if fact.note_date:
        resource["recordedDate"] = fact.note_date.isoformat()
    return resource


def _clinical_status(fact: Fact) -> str | None:
    if fact.assertion is Assertion.ABSENT:
        return None
    if fact.infection_state is InfectionState.RESOLVED:
        return "resolved"
    return "active" if fact.temporality is Temporality.CURRENT else None


def _family_history(fact: Fact, subject: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "FamilyMemberHistory",
        "status": "partial",
        "patient": {"reference": subject},
        "relationship": _coded("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "FAMMEMB", "family member"),
        "condition": [{"code": _concept(fact)}],
    }
    if fact.note_date:
        resource["date"] = fact.note_date.isoformat()
    return resource


def _medication_statement(fact: Fact, subject: str) -> dict[str, Any]:
    med = fact.medication
    if fact.assertion is Assertion.ABSENT:
        status = "not-taken"
    elif fact.assertion is Assertion.POSSIBLE:
        status = "unknown"
    elif fact.assertion is Assertion.HYPOTHETICAL:
        status = "intended"
    else:
        status = _MED_STATUS[med.status] if med else "active"
    resource: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "status": status,
        "medicationCodeableConcept": _concept(fact),
        "subject": {"reference": subject},
    }
    if med is not None:
        period = {}
        if med.start and med.start.date:
            period["start"] = _date(med.start.date, med.start.precision)
        if med.stop and med.stop.date:
            period["end"] = _date(med.stop.date, med.stop.precision)
        if period:
            resource["effectivePeriod"] = period
        dosage = _dosage(med)
        if dosage:
            resource["dosage"] = [dosage]
    if fact.note_date:
        resource["dateAsserted"] = fact.note_date.isoformat()
    return resource


def _dosage(med: MedicationDetails) -> dict[str, Any]:
    dosage: dict[str, Any] = {}
    written = " ".join(part for part in (med.route, med.frequency) if part)
    if written:
        dosage["text"] = written
    if med.dose is not None:
        dosage["doseAndRate"] = [{"doseQuantity": _quantity(med.dose, med.dose_unit)}]
    return dosage


def _observation(fact: Fact, subject: str) -> dict[str, Any]:
    status = {
        Assertion.PRESENT: "final",
        Assertion.POSSIBLE: "preliminary",
        Assertion.HYPOTHETICAL: "registered",
        Assertion.ABSENT: "cancelled",
    }[fact.assertion]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": status,
        "code": _concept(fact),
        "subject": {"reference": subject},
        **_time(fact.time, fact.note_date, "effective"),
    }
    if fact.assertion is Assertion.ABSENT:
        resource["dataAbsentReason"] = _coded(
            "http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-performed", "Not Performed"
        )
        return resource
    if fact.assertion is Assertion.HYPOTHETICAL or fact.lab is None:
        return resource
    resource.update(_lab_value(fact.lab))
    flag = _INTERPRETATION.get(fact.lab.flag or "")
    if flag:
        resource["interpretation"] = [
            _coded("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", *flag)
        ]
    reference = _reference_range(fact.lab)
    if reference:
        resource["referenceRange"] = [reference]
    return resource


def _lab_value(lab: LabResult) -> dict[str, Any]:
    """value[x]: a titer as a ratio, a number as a quantity (or range), else the qualitative word."""
    if lab.titer is not None:
        return {"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": lab.titer}}}
    if lab.value is not None:
        unit, factor = _reported_unit(lab)
        if lab.value_high is not None:
            low, high = _quantity(lab.value * factor, unit), _quantity(lab.value_high * factor, unit)
            return {"valueRange": {"low": low, "high": high}}
        quantity = _quantity(lab.value * factor, unit)
        if lab.comparator in _COMPARATORS:
            quantity["comparator"] = lab.comparator
        return {"valueQuantity": quantity}
    if lab.qualitative:
        return {"valueCodeableConcept": {"text": lab.qualitative}}
    return {}


def _reported_unit(lab: LabResult) -> tuple[str | None, float]:
    """The canonical unit when the value was normalised, else the unit as written; and the
    factor from the written number to the reported one (our conversions are proportional)."""
    if lab.value and lab.canonical_value is not None and lab.canonical_unit:
        return lab.canonical_unit, lab.canonical_value / lab.value
    return lab.unit or lab.inferred_unit, 1.0


def _quantity(value: float, unit: str | None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": round(value, 6)}
    if unit:
        quantity["unit"] = unit
        if unit in UCUM_CODES:
            quantity.update(system=UCUM, code=UCUM_CODES[unit])
    return quantity


def _reference_range(lab: LabResult) -> dict[str, Any]:
    if lab.value is None or (lab.ref_low is None and lab.ref_high is None):
        return {}
    unit, factor = _reported_unit(lab)
    reference = {}
    if lab.ref_low is not None:
        reference["low"] = _quantity(lab.ref_low * factor, unit)
    if lab.ref_high is not None:
        reference["high"] = _quantity(lab.ref_high * factor, unit)
    return reference


def _immunization(fact: Fact, subject: str) -> dict[str, Any]:
    when = _time(fact.time, None, "occurrence") or {"occurrenceString": "date not stated in the note"}
    return {
        "resourceType": "Immunization",
        "status": "not-done" if fact.assertion is Assertion.ABSENT else "completed",
        "vaccineCode": _concept(fact),
        "patient": {"reference": subject},
        **when,
    }


def _procedure(fact: Fact, subject: str) -> dict[str, Any]:
    if fact.assertion is Assertion.ABSENT:
        status = "not-done"
    elif fact.assertion is Assertion.HYPOTHETICAL:
        status = "preparation"
    elif fact.assertion is Assertion.POSSIBLE or fact.temporality is Temporality.CURRENT:
        status = "unknown"  # "on dialysis" is ongoing, "biopsy showed" is done: the note rarely says
    else:
        status = "completed"
    return {
        "resourceType": "Procedure",
        "status": status,
        "code": _concept(fact),
        "subject": {"reference": subject},
        **_time(fact.time, None, "performed"),
    }
