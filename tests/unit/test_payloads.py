"""Stage payloads: typed, frozen, one accessor, and a Doc carrying them still serialises."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from spacy.language import Language
from spacy.tokens import Doc

import extractor
from extractor.facts import Assertion, Experiencer, LabResult, MedicationDetails, Temporality, TimeRef
from extractor.payloads import (
    ContextPayload,
    LabPayload,
    MedicationPayload,
    TimePayload,
    context_of,
    get_payload,
)

TEXT = "Mother with lupus. No h/o TB. Creatinine 1.4 mg/dL on 01/02/2025. Prednisone 10 mg daily since 2023."


@pytest.fixture(scope="module")
def staged(nlp: Language) -> Doc:
    """A Doc through every stage but the facts stage, which drops nothing of ours anyway."""
    doc = extractor.make_doc(nlp, TEXT, "N1", dt.date(2025, 3, 1))
    for name, pipe in nlp.pipeline:
        if name != "extractor_facts":
            doc = pipe(doc)
    return doc


def test_every_stage_leaves_its_typed_payload(staged: Doc) -> None:
    by_text = {ent.text: ent for ent in staged.ents}
    lupus = context_of(by_text["lupus"])
    assert isinstance(lupus, ContextPayload) and lupus.experiencer is Experiencer.FAMILY
    assert context_of(by_text["TB"]).assertion is Assertion.ABSENT
    lab = get_payload(by_text["Creatinine"], LabPayload)
    assert isinstance(lab, LabResult) and lab.value == 1.4 and lab.unit == "mg/dL"
    time = get_payload(by_text["Creatinine"], TimePayload)
    assert isinstance(time, TimeRef) and time.date == dt.date(2025, 1, 2)
    medication = get_payload(by_text["Prednisone"], MedicationPayload)
    assert isinstance(medication, MedicationDetails) and medication.dose == 10.0
    assert type(medication.details()) is MedicationDetails  # what the fact carries


def test_payloads_are_frozen_and_refuse_an_unknown_value() -> None:
    context = ContextPayload()
    assert (context.assertion, context.experiencer, context.temporality) == (
        Assertion.PRESENT, Experiencer.PATIENT, Temporality.CURRENT,
    )
    with pytest.raises(ValidationError):
        context.assertion = Assertion.ABSENT  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ContextPayload(assertion="negated")  # type: ignore[arg-type]


def test_a_doc_with_payloads_round_trips_through_bytes(staged: Doc, nlp: Language) -> None:
    again = Doc(nlp.vocab).from_bytes(staged.to_bytes())
    for before, after in zip(staged.ents, again.ents, strict=True):
        for model in (ContextPayload, TimePayload, LabPayload, MedicationPayload):
            assert get_payload(after, model) == get_payload(before, model), (before.text, model.__name__)
