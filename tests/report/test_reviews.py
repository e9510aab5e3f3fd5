"""Reviewer decisions: validated, appended to the store, the latest one counts, exported, read as gold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from extractor.evaluation.errors import GoldError
from extractor.report import reviews
from extractor.report.reviews import ReviewIn
from extractor.store import Store


def decision(**changes: str) -> ReviewIn:
    fields = {
        "reviewer": "ada",
        "patient_id": "P001",
        "trial": "demo",
        "target": "criterion",
        "target_id": "exc-tb",
        "predicted": "met",
        "decision": "correct",
    }
    return ReviewIn(**{**fields, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"decision": "wrong"}, id="wrong-without-value-or-comment"),
        pytest.param({"decision": "correct", "corrected": "not_met"}, id="correct-with-correction"),
        pytest.param({"decision": "wrong", "corrected": "absent"}, id="fact-value-for-criterion"),
        pytest.param({"target": "fact", "decision": "wrong", "corrected": "met"}, id="criterion-value-for-fact"),
        pytest.param({"reviewer": ""}, id="no-reviewer"),
        pytest.param({"target": "overall", "decision": "wrong", "corrected": "met"}, id="status-for-overall"),
    ],
)
def test_inconsistent_decisions_are_refused(changes: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        decision(**changes)


def test_decisions_survive_reopening_and_the_latest_counts(store_path: Path, tmp_path: Path) -> None:
    with Store.open(store_path) as store:
        reviews.ensure_table(store)
        reviews.save(store, decision())
        reviews.save(store, decision(reviewer="bo", decision="wrong", corrected="not_met", comment="treated"))
    with Store.open(store_path, read_only=True) as store:
        latest = reviews.latest(store, "P001", "demo")
        count = reviews.export(store, tmp_path / "reviews.jsonl")
    record = latest["criterion", "exc-tb"]
    assert (record.reviewer, record.decision.value, record.corrected, record.gold_status) == (
        "bo",
        "wrong",
        "not_met",
        "not_met",
    )
    lines = [json.loads(line) for line in (tmp_path / "reviews.jsonl").read_text().splitlines()]
    assert count == 2
    assert [(line["review_id"], line["reviewer"]) for line in lines] == [(1, "ada"), (2, "bo")]
    assert lines[0]["reviewed_at"] <= lines[1]["reviewed_at"]


def test_a_store_without_reviews_exports_none(store_path: Path, tmp_path: Path) -> None:
    with Store.open(store_path, read_only=True) as store:
        assert reviews.export(store, tmp_path / "reviews.jsonl") == 0
    assert (tmp_path / "reviews.jsonl").read_text() == ""


def test_gold_statuses_keep_the_latest_decision_with_a_status(store_path: Path, tmp_path: Path) -> None:
    with Store.open(store_path) as store:
        reviews.ensure_table(store)
        reviews.save(store, decision(target_id="inc-sle", predicted="met"))
        reviews.save(store, decision(target_id="exc-tb", decision="wrong", corrected="not_met"))
        reviews.save(store, decision(target_id="exc-seizure", predicted="unknown", decision="wrong", comment="?"))
        reviews.save(store, decision(target="fact", target_id="P001-N1:3:8:fever", predicted="absent"))
        reviews.save(store, decision(target="overall", target_id="overall", predicted="needs_review"))
        reviews.export(store, tmp_path / "reviews.jsonl")
    gold = reviews.gold_statuses(reviews.read_decisions(tmp_path / "reviews.jsonl"))
    assert {cid: status for cid, (_, status) in gold["demo", "P001"].items()} == {"inc-sle": "met", "exc-tb": "not_met"}


def test_a_malformed_reviews_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "reviews.jsonl"
    path.write_text('{"reviewer": "ada"}\n')
    with pytest.raises(GoldError, match=r"R001.*line 1"):
        reviews.read_decisions(path)
