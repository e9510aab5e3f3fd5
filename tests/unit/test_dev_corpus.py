"""The development gold corpus is valid, and its built JSON Lines files match its sources.

Runs the same checks as ``python scripts/dev_corpus_tools.py check`` on the whole of
``corpora/dev``, plus the offset and validation helpers on small made-up cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import load_script

REPO = Path(__file__).resolve().parents[2]


tools = load_script("dev_corpus_tools")
needs_trials = pytest.mark.skipif(
    not (tools.SHARED_TRIAL_DIR / "criteria.yaml").is_file(),
    reason="the shared trial definitions (../shared/trial) are not present",
)


@needs_trials
def test_whole_corpus_passes_check() -> None:
    errors, _warnings = tools.check_corpus(tools.DEFAULT_ROOT)
    assert errors == []


@needs_trials
def test_every_sle_criterion_is_met_not_met_and_unknown_somewhere() -> None:
    """The issue asks for each criterion in each status; person-only ones stay unknown."""
    seen: dict[str, set[str]] = {}
    for path in (tools.DEFAULT_ROOT / "verdicts").glob("*.blinatumomab-sle.json"):
        for item in json.loads(path.read_text(encoding="utf-8"))["criteria"]:
            seen.setdefault(item["id"], set()).add(item["status"])
    for criterion in tools.trial_criteria("blinatumomab-sle"):
        expected = {"unknown"} if criterion.id in tools.PERSON_ONLY else tools.STATUSES
        assert seen.get(criterion.id) == expected, criterion.id


@pytest.mark.parametrize("name", ["notes.jsonl", "verdicts.blinatumomab-sle.jsonl", "verdicts.n2c2-2018.jsonl"])
def test_built_jsonl_in_sync_with_sources(name: str) -> None:
    built = tools.built_files(tools.DEFAULT_ROOT)[name]
    on_disk = (tools.DEFAULT_ROOT / name).read_text(encoding="utf-8")
    assert on_disk == built, f"run: python scripts/dev_corpus_tools.py build ({name} is stale)"


def test_built_notes_are_contract_lines_in_patient_date_order() -> None:
    lines = (tools.DEFAULT_ROOT / "notes.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    keys = [(r["patient_id"], r["date"], r["note_id"]) for r in records]
    assert keys == sorted(keys)
    for record in records:
        text = tools.read_note_text(tools.DEFAULT_ROOT / "notes" / f"{record['note_id']}.txt")
        assert record["text"] == text


def test_find_span_counts_occurrences_and_anchors() -> None:
    text = "SLE dx 2019. Mother with SLE. SLE flare."
    assert tools.find_span(text, "SLE") == (0, 3)
    assert tools.find_span(text, "SLE", occurrence=2) == (30, 33)
    assert tools.find_span(text, "SLE", within="Mother with SLE") == (25, 28)
    with pytest.raises(tools.SpanNotFound):
        tools.find_span(text, "SLE", occurrence=3)


def test_entities_from_spec_all_skips_spans_claimed_by_explicit_entities() -> None:
    text = "SLE dx 2019. Mother with SLE. cSLE"
    entities = tools.entities_from_spec(
        text,
        [
            {"type": "Condition", "text": "SLE", "concept": "sle", "all": True},
            {
                "type": "Condition",
                "text": "SLE",
                "within": "Mother with SLE",
                "concept": "sle",
                "attrs": {"Experiencer": "family"},
            },
        ],
    )
    assert [(e.start, e.attrs) for e in entities] == [(0, {}), (25, {"Experiencer": "family"})]


def test_ann_round_trip_and_check_catches_a_shifted_span() -> None:
    text = "Hgb 9.6 g/dL on 2025-02-14"
    entity = tools.Entity(
        "", "Lab", 0, 3, "Hgb", {"Assertion": "absent"}, {"concept": "hemoglobin", "value": "9.6", "date": "2025-02-14"}
    )
    ann = tools.format_ann([entity])
    parsed, problems = tools.parse_ann(ann)
    assert problems == []
    assert parsed["T1"].notes["value"] == "9.6"
    assert parsed["T1"].attrs == {"Assertion": "absent"}
    assert tools.check_ann("N", text, ann, {}) == []
    shifted = ann.replace("Lab 0 3", "Lab 1 4")
    assert any("span text differs" in p for p in tools.check_ann("N", text, shifted, {}))


def test_check_ann_rejects_bad_attribute_and_unknown_concept() -> None:
    text = "prednisone 10 mg"
    ann = (
        "T1\tMedication 0 10\tprednisone\n"
        "A1\tInfectionState T1 active\n"
        "#1\tAnnotatorNotes T1\tconcept=prednisolone_typo; date=2025-13-01\n"
    )
    problems = tools.check_ann("N", text, ann, {"prednisone": "medication"})
    assert any("InfectionState does not apply" in p for p in problems)
    assert any("in no patterns/ vocabulary" in p for p in problems)
    assert any("ISO date" in p for p in problems)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({"inc-a": "met", "exc-b": "not_met", "inc-consent": "unknown"}, "candidate"),
        ({"inc-a": "unknown", "exc-b": "not_met", "inc-consent": "unknown"}, "needs_review"),
        ({"inc-a": "unknown", "exc-b": "met", "inc-consent": "unknown"}, "ineligible"),
        ({"inc-a": "not_met", "exc-b": "not_met", "inc-consent": "unknown"}, "ineligible"),
    ],
)
def test_expected_overall_follows_criteria_yaml(statuses: dict, expected: str) -> None:
    criteria = [
        tools.Criterion("inc-a", "inclusion"),
        tools.Criterion("exc-b", "exclusion"),
        tools.Criterion("inc-consent", "inclusion"),
    ]
    assert tools.expected_overall(criteria, statuses) == expected


def test_section_at_uses_the_nearest_known_heading() -> None:
    text = "HPI: fever\nPast medical history:\nSLE\nLabs 05/01: Hgb 9\nHEMATOLOGY\nWBC 4\n"
    assert tools.section_at(text, text.index("fever")) == "hpi"
    assert tools.section_at(text, text.index("SLE")) == "pmh"
    assert tools.section_at(text, text.index("Hgb")) == "labs"
    assert tools.section_at(text, text.index("WBC")) == "labs"
