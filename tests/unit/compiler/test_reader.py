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
