"""``extractor trial draft|check`` on real eligibility text: all 20 FB trials, stdin, similarity."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.cli.app import app
from extractor.screening.language import load_trial_file

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).parents[2]
FB = ROOT / "corpora" / "eligibility" / "fb-clinical-trial-parser" / "clinical_trials.csv"
TRIALS = [row for row in csv.DictReader(FB.open(encoding="utf-8")) if row["#nct_id"].startswith("NCT")]
runner = CliRunner()


def test_twenty_trials_are_read() -> None:
    assert len(TRIALS) == 20


@pytest.mark.parametrize("row", TRIALS, ids=[row["#nct_id"] for row in TRIALS])
def test_draft_and_check_every_fb_trial(tmp_path: Path, row: dict[str, str]) -> None:
    source = tmp_path / f"{row['#nct_id']}.txt"
    source.write_text(row["eligibility_criteria"], encoding="utf-8")
    out = tmp_path / "trial.yaml"
    drafted = runner.invoke(app, ["trial", "draft", str(source), "-o", str(out), "--no-similar",
                                  "--title", row["title"]])
    assert drafted.exit_code == 0, drafted.output
    trial = load_trial_file(out)
    assert trial.name == row["#nct_id"].lower()
    # every bullet kept: each criterion's text is in the published block (whitespace folded)
    published = " ".join(row["eligibility_criteria"].split())
    for criterion in trial.criteria:
        assert criterion.text.split(" ")[0] in published
        assert criterion.person_only == (criterion.rule is None)
        if criterion.person_only:
            assert criterion.reason
    checked = runner.invoke(app, ["trial", "check", str(out)])
    assert checked.exit_code == 0, checked.output
    assert all(c.id in checked.output for c in trial.criteria)


def test_draft_reads_stdin_and_maps_by_similarity() -> None:
    text = "Exclusion Criteria:\n  - Severe kidney failure\n  - Known HIV infection\n"
    result = runner.invoke(app, ["trial", "draft", "-", "--id", "stdin-trial", "--similar"], input=text)
    assert result.exit_code == 0, result.output
    assert "name: stdin-trial" in result.output
    assert "{phrase: kidney failure, concept: ckd, match: similar, confidence: 0.89" in result.output
    assert "{unexpressed: Severe}" in result.output
    assert "{phrase: HIV infection, concept: hiv, match: exact, confidence: 1.0}" in result.output


def test_draft_refuses_a_bad_id(tmp_path: Path) -> None:
    source = tmp_path / "e.txt"
    source.write_text("Inclusion Criteria:\n - Age >= 18 years\n", encoding="utf-8")
    result = runner.invoke(app, ["trial", "draft", str(source), "--id", "Bad Id"])
    assert result.exit_code == 2
    assert "C002" in result.output
