"""`extractor report`, `extractor export-reviews` and `extractor evaluate screen --reviews` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_material import TRIAL, VERDICTS, write_jsonl
from typer.testing import CliRunner

from extractor.cli.app import app
from extractor.report import reviews
from extractor.report.reviews import ReviewIn
from extractor.store import Store

runner = CliRunner()


def test_report_from_files_is_one_self_contained_file(files: dict[str, Path], tmp_path: Path) -> None:
    output = tmp_path / "report.html"
    args = ["report", str(files["verdicts"]), "--notes", str(files["notes"]), "--facts", str(files["facts"])]
    result = runner.invoke(app, [*args, "-o", str(output)])
    assert result.exit_code == 0, result.output
    page = output.read_text(encoding="utf-8")
    assert "http://" not in page
    assert "https://" not in page
    assert "<script src" not in page
    assert '<link rel="stylesheet"' not in page
    assert page.count('class="patient"') == 2
    assert "&lt;low&gt; &amp; stable" in page  # note text escaped, never interpreted
    assert '<span class="badge badge-negated">negated</span>' in page


def test_report_from_a_store_matches_the_report_from_files(
    files: dict[str, Path], store_path: Path, tmp_path: Path
) -> None:
    from_store, from_files = tmp_path / "store.html", tmp_path / "files.html"
    assert runner.invoke(app, ["report", "--store", str(store_path), "-o", str(from_store)]).exit_code == 0
    args = ["report", str(files["verdicts"]), "--notes", str(files["notes"]), "--facts", str(files["facts"])]
    assert runner.invoke(app, [*args, "-o", str(from_files)]).exit_code == 0

    def body(path: Path) -> str:
        return path.read_text().split("<main", 1)[1]

    assert body(from_store) == body(from_files)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="nothing"),
        pytest.param(["VERDICTS"], id="verdicts-without-notes"),
        pytest.param(["VERDICTS", "--notes", "NOTES", "--store", "STORE"], id="both-sources"),
    ],
)
def test_report_needs_exactly_one_source(args: list[str], files: dict[str, Path], store_path: Path) -> None:
    paths = {"VERDICTS": str(files["verdicts"]), "NOTES": str(files["notes"]), "STORE": str(store_path)}
    result = runner.invoke(app, ["report", *[paths.get(a, a) for a in args]])
    assert result.exit_code == 2


def _review(store_path: Path, target_id: str, predicted: str, **decision: str) -> None:
    with Store.open(store_path) as store:
        reviews.ensure_table(store)
        fields = {"reviewer": "ada", "patient_id": "P001", "trial": TRIAL, "target": "criterion"}
        reviews.save(store, ReviewIn(**fields, target_id=target_id, predicted=predicted, **decision))


def test_reviews_export_and_score_the_verdicts(files: dict[str, Path], store_path: Path, tmp_path: Path) -> None:
    _review(store_path, "inc-sle-diagnosis", "met", decision="correct")
    _review(store_path, "exc-tuberculosis", "met", decision="wrong", corrected="not_met", comment="treated long ago")
    exported = tmp_path / "reviews.jsonl"
    result = runner.invoke(app, ["export-reviews", "--store", str(store_path), "-o", str(exported)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["target_id"] for line in exported.read_text().splitlines()] == [
        "inc-sle-diagnosis",
        "exc-tuberculosis",
    ]
    result = runner.invoke(
        app,
        [
            "evaluate",
            "screen",
            "--reviews",
            str(exported),
            "--notes",
            str(files["notes"]),
            "--predicted",
            str(files["verdicts"]),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["patients"] == 1
    assert metrics["criterion_accuracy"] == 0.5  # the diagnosis right, TB wrong
    assert metrics["overall_accuracy"] is None  # reviewers judge criteria, not the overall verdict
    assert metrics["evidence_precision"] is None


def test_evaluate_screen_takes_gold_or_reviews_not_both(files: dict[str, Path], tmp_path: Path) -> None:
    gold = write_jsonl(tmp_path / "gold.jsonl", VERDICTS)
    both = ["--gold", str(gold), "--reviews", str(gold)]
    result = runner.invoke(app, ["evaluate", "screen", *both, "--notes", str(files["notes"])])
    assert result.exit_code == 2


def test_a_bad_reviews_file_stops_the_evaluation_with_its_line(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "reviews.jsonl"
    bad.write_text("{}\n")
    args = [
        "evaluate",
        "screen",
        "--reviews",
        str(bad),
        "--notes",
        str(files["notes"]),
        "--predicted",
        str(files["verdicts"]),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "R001" in result.output
    assert "line 1" in result.output


def test_the_report_allows_its_one_script_by_hash_not_unsafe_inline(files: dict[str, Path], tmp_path: Path) -> None:
    import base64
    import hashlib
    import html
    import re

    output = tmp_path / "report.html"
    args = ["report", str(files["verdicts"]), "--notes", str(files["notes"]), "-o", str(output)]
    assert runner.invoke(app, args).exit_code == 0
    page = output.read_text(encoding="utf-8")
    csp = html.unescape(re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1))
    script_src = next(p.strip() for p in csp.split(";") if p.strip().startswith("script-src"))
    [script] = re.findall(r"<script>(.*?)</script>", page, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert script_src == f"script-src 'sha256-{digest}'"


def test_a_trial_file_gives_the_words_of_a_trial_that_is_not_bundled(files: dict[str, Path], tmp_path: Path) -> None:
    from extractor.screening import load_trial

    bundled = load_trial(TRIAL).path.read_text(encoding="utf-8")
    own = tmp_path / "own-trial.yaml"
    own.write_text(
        bundled.replace(f"name: {TRIAL}", "name: own-trial").replace("Hemoglobin >= 80 g/L.", "Hb at least 8.")
    )
    verdicts = [{**v, "trial": "own-trial"} for v in VERDICTS]
    path = write_jsonl(tmp_path / "verdicts.jsonl", verdicts)
    output = tmp_path / "report.html"
    args = ["report", str(path), "--notes", str(files["notes"]), "-o", str(output)]
    assert runner.invoke(app, args).exit_code == 0
    assert "Hb at least 8." not in output.read_text()
    assert runner.invoke(app, [*args, "--trial-file", str(own)]).exit_code == 0
    assert '<div class="protocol">Hb at least 8.</div>' in output.read_text()
