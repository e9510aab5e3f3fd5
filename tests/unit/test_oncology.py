"""Oncology attributes (``extractor.pipeline.oncology``): phrase cases as data, exact offsets,
the facts' JSON, and a trial's ``attrs`` filter on stage and spread."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import extractor
from extractor.errors import ResourceError
from extractor.facts import AttributeSpan, Evidence, Fact, Kind, OncologyDetails
from extractor.notes import Note
from extractor.pipeline.oncology import OncologyFile, OncologyReader, oncology_reader
from extractor.resources import load_model, patterns_dir
from extractor.screening import load_trial, screen_patient
from extractor.screening.predicates.presence import attr_matches

CASES = yaml.safe_load((Path(__file__).parent / "data" / "oncology_phrases.yaml").read_text(encoding="utf-8"))


def _read(text: str, mention: str) -> OncologyDetails | None:
    start = text.index(mention)
    return oncology_reader().read(text, start, start + len(mention), 0, len(text))


def _spans(details: OncologyDetails) -> list[AttributeSpan]:
    spans: list[AttributeSpan] = [a for a in (details.histology, details.stage, details.status) if a]
    if details.metastatic is not None:
        spans += [details.metastatic, *details.metastatic.sites]
    return spans


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:48] for c in CASES])
def test_phrase_case(case: dict[str, Any]) -> None:
    text = case["text"]
    details = _read(text, case["mention"]) or OncologyDetails()
    for name, expected in case.get("expect", {}).items():
        if name == "sites":
            assert set(details.value("metastatic_site") or ()) == set(expected), name
        else:
            assert details.value(name) == expected, name
    for name in case.get("absent", ()):
        assert details.value(name) is None, name
    for name, words in case.get("text_of", {}).items():
        assert getattr(details, "metastatic" if name == "metastatic" else name).text == words, name
    for span in _spans(details):  # every attribute cites the note's own words at its offsets
        assert text[span.char_start : span.char_end] == span.text


def test_nothing_said_is_none() -> None:
    assert _read("Breast cancer diagnosed by her gynecologist.", "Breast cancer") is None


def test_the_clause_ends_at_a_semicolon() -> None:
    details = _read("Prostate cancer on surveillance; stage IV lung cancer.", "Prostate cancer")
    assert details is None


@settings(max_examples=60, deadline=None)
@given(
    before=st.text(alphabet="abc ,.;-\n", max_size=40),
    after=st.text(alphabet="abc ,.;-\n", max_size=40),
    case=st.sampled_from(CASES),
)
def test_offsets_hold_wherever_the_sentence_sits(before: str, after: str, case: dict[str, Any]) -> None:
    text = before + case["text"] + after
    start = len(before) + case["text"].index(case["mention"])
    details = oncology_reader().read(text, start, start + len(case["mention"]), 0, len(text))
    for span in _spans(details or OncologyDetails()):
        assert text[span.char_start : span.char_end] == span.text


def test_facts_carry_oncology_in_their_json() -> None:
    text = "Assessment: stage IIIB adenocarcinoma of the lung with brain metastases."
    facts = {f.concept: f for f in extractor.extract_text(text) if f.oncology is not None}
    assert set(facts) == {"lung_cancer", "brain_metastases"}  # a secondary neoplasm is a malignancy too
    fact = facts["lung_cancer"]
    record = fact.to_json_dict()["oncology"]
    assert record["stage"]["value"] == "IIIB" and record["stage"]["group"] == 3
    assert record["metastatic"]["value"] is True
    assert [s["value"] for s in record["metastatic"]["sites"]] == ["brain"]
    assert text[record["stage"]["char_start"] : record["stage"]["char_end"]] == "stage IIIB"
    assert Fact.model_validate_json(fact.model_dump_json()) == fact


def test_no_oncology_on_other_conditions() -> None:
    facts = extractor.extract_text("Stage 3 chronic kidney disease, progression of proteinuria.")
    assert facts and all(f.oncology is None for f in facts)


def _cancer(details: OncologyDetails | None) -> Fact:
    evidence = Evidence(note_id="n1", char_start=0, char_end=6, text="cancer")
    return Fact(
        kind=Kind.CONDITION,
        concept="lung_cancer",
        label="Lung cancer",
        evidence=evidence,
        oncology=details,
        note_date=dt.date(2025, 1, 1),
    )


@pytest.mark.parametrize(
    ("text", "tests", "expected"),
    [
        ("Lung cancer, stage IIIB.", {"stage_group": ">= 3"}, True),
        ("Lung cancer, stage II.", {"stage_group": ">= 3"}, False),
        ("Lung cancer, metastatic to bone.", {"metastatic": True}, True),
        ("Lung cancer, metastatic to bone.", {"metastatic_site": ["liver", "brain"]}, False),
        ("Lung cancer, metastatic to bone.", {"metastatic_site": "bone"}, True),
        ("Lung cancer, no metastases.", {"metastatic": True}, False),
        ("Lung cancer.", {"metastatic": True}, None),  # not stated: left to a reviewer
        ("Lung cancer in remission.", {"status": ["remission"]}, True),
    ],
)
def test_a_trial_filters_on_oncology_attributes(text: str, tests: dict[str, Any], expected: bool | None) -> None:
    matches, _reason = attr_matches(_cancer(_read(text, "Lung cancer")), tests)
    assert matches is expected


def test_a_stage_pattern_without_its_groups_fails_at_load(tmp_path: Path) -> None:
    data = yaml.safe_load((patterns_dir() / "oncology.yaml").read_text(encoding="utf-8"))
    data["stages"] = [r"stage (\d)"]
    broken = tmp_path / "oncology.yaml"
    broken.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ResourceError, match=r"oncology\.yaml"):
        load_model(OncologyFile, broken)
    with pytest.raises(ResourceError, match=r"oncology\.yaml"):
        OncologyReader(broken)


TRIAL = """\
schema: trial/v1
name: oncology-example
title: The README's oncology criteria
description: Criteria on a cancer's stage and spread, as README "Oncology attributes" writes them.
version: 1
source: Written for this test.
license: Apache-2.0
criteria:
  - id: inc-advanced-nsclc
    type: inclusion
    text: "Stage III or IV non-small cell lung cancer."
    absent: not_met
    rule:
      present: {concept: lung_cancer, attrs: {stage_group: ">= 3"}}
  - id: exc-brain-mets
    type: exclusion
    text: "Known brain metastases."
    absent: not_met
    rule:
      any:
        - present: {concept: brain_metastases}
        - present: {concept: malignancy, attrs: {metastatic_site: brain}}
"""


@pytest.mark.parametrize(
    ("text", "advanced", "brain"),
    [
        ("Stage IIIB adenocarcinoma of the lung, metastatic to the brain.", "met", "met"),
        ("Stage II adenocarcinoma of the lung, no metastases.", "not_met", "not_met"),
        ("Adenocarcinoma of the lung, metastatic to the liver.", "unknown", "not_met"),
    ],
)
def test_a_trial_screens_on_stage_and_spread(tmp_path: Path, text: str, advanced: str, brain: str) -> None:
    path = tmp_path / "oncology-example.yaml"
    path.write_text(TRIAL, encoding="utf-8")
    trial = load_trial(path)
    note = Note(patient_id="p1", note_id="n1", text=text, date=dt.date(2025, 3, 1))
    [(_, facts)] = list(extractor.extract_notes([note]))
    verdict = screen_patient([note], facts, trial, dt.date(2025, 3, 2))
    assert verdict.result("inc-advanced-nsclc").status.value == advanced
    assert verdict.result("exc-brain-mets").status.value == brain
