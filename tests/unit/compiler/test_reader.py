"""Criterion phrasings → rules, as data (cases/reader.yaml); similarity off, so exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from extractor.compiler.draft import Drafter

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "reader.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def drafter() -> Drafter:
    return Drafter()


def _one(drafter: Drafter, text: str, exclusion: bool) -> Any:
    section = "Exclusion Criteria:" if exclusion else "Inclusion Criteria:"
    draft = drafter.draft(f"{section}\n  - {text}\n", name="t", title="t", source="t")
    assert len(draft.criteria) == 1
    return draft.criteria[0]


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:40] for c in CASES])
def test_phrase(drafter: Drafter, case: dict[str, Any]) -> None:
    criterion = _one(drafter, case["text"], case.get("exclusion", False))
    assert criterion.text == case["text"]
    if "person_only" in case:
        assert criterion.rule is None
        for word in case["person_only"]:
            assert word in criterion.reason
    else:
        assert criterion.rule == case["rule"]


def test_every_drafted_rule_is_valid_in_the_criteria_language(drafter: Drafter, tmp_path: Path) -> None:
    """by_age bands, treatment_response, uln_if_missing ranges: what the reader writes loads."""
    from extractor.screening.language import load_trial_file

    inclusion = "\n".join(f"  - {c['text']}" for c in CASES if not c.get("exclusion"))
    exclusion = "\n".join(f"  - {c['text']}" for c in CASES if c.get("exclusion"))
    draft = drafter.draft(f"Inclusion Criteria:\n{inclusion}\nExclusion Criteria:\n{exclusion}\n",
                          name="cases", title="t", source="t")
    path = tmp_path / "cases.yaml"
    path.write_text(draft.to_yaml(), encoding="utf-8")
    trial = load_trial_file(path)
    assert len(trial.criteria) == len(CASES)


def test_a_lead_in_about_failed_classes_is_one_treatment_response(drafter: Drafter) -> None:
    """The bullets name the classes; the lead-in says how many must have failed."""
    text = (
        "Inclusion Criteria:\n"
        "- Treatment Resistance: Inadequate response to at least three of the following:\n"
        "  - Oral corticosteroids (OCS),\n"
        "  - Antimalarials,\n"
        "  - Conventional immunosuppressants (e.g., azathioprine, methotrexate),\n"
        "  - Biologics (e.g., belimumab). At least one treatment must involve immunosuppressants or biologics.\n"
    )
    (criterion,) = drafter.draft(text, name="t", title="t", source="t").criteria
    assert criterion.rule == {"treatment_response": {
        "classes": ["ocs", "antimalarial", "conventional_immunosuppressant", "biologic"],
        "at_least": 3, "require_any": ["conventional_immunosuppressant", "biologic"],
    }}


def test_a_lead_in_over_bullets_without_classes_stays_at_least(drafter: Drafter) -> None:
    text = (
        "Inclusion Criteria:\n"
        "- Inadequate response to at least one of the following:\n"
        "  - methotrexate\n"
        "  - azathioprine\n"
    )
    (criterion,) = drafter.draft(text, name="t", title="t", source="t").criteria
    assert "treatment_response" not in str(criterion.rule)
