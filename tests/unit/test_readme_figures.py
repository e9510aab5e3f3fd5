"""The README's measured tables are the figures in docs/figures, rendered: a stale number fails here.

``scripts/figures.py run TARGET`` measures and writes ``docs/figures/TARGET.json`` with the date,
machine and commit, then re-renders each README block between ``<!-- figures:BLOCK -->``
markers. Editing a number by hand in the README, or re-measuring without re-rendering, fails
these tests; nothing is re-measured here (the check only renders the JSON).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import load_script

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data" / "figures"


FIGURES = load_script("figures")
from figurelib import compiler, core, speed  # noqa: E402  (scripts/ is on the path once figures.py is loaded)

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = core.readme_blocks(README)
FIGURE_FILES = sorted((ROOT / "docs" / "figures").glob("*.json"))


def test_every_block_has_its_renderer_and_every_target_its_figure_file() -> None:
    structural = [p for p in core.problems(README, FIGURES.BLOCKS, FIGURES.TARGETS) if "differs" not in p]
    assert structural == []
    assert sorted(BLOCKS) == sorted(FIGURES.BLOCKS)


@pytest.mark.parametrize("name", sorted(FIGURES.BLOCKS))
def test_each_readme_block_is_its_json_rendered(name: str) -> None:
    assert BLOCKS[name] == core.render_block(FIGURES.BLOCKS[name]), (
        f"README block {name!r} differs from its JSON: run scripts/figures.py render (or re-measure with "
        f"scripts/figures.py run {FIGURES.BLOCKS[name].sources[0]})"
    )


def test_a_number_edited_by_hand_fails_the_check_and_render_restores_it() -> None:
    body = BLOCKS["mtsamples_kinds"]
    first_figure = re.search(r"\d\.\d{3}", body)
    assert first_figure is not None
    edited_body = body.replace(first_figure[0], "0.999" if first_figure[0] != "0.999" else "0.998", 1)
    edited = README.replace(body, edited_body, 1)
    found = core.problems(edited, FIGURES.BLOCKS, FIGURES.TARGETS)
    assert found == [found[0]] and "'mtsamples_kinds'" in found[0]
    assert core.render_readme(edited, FIGURES.BLOCKS) == README


def test_a_block_without_its_closing_marker_is_reported() -> None:
    broken = README.replace("<!-- /figures:compare_drafts -->", "", 1)
    assert any("no closing marker" in p and "compare_drafts" in p for p in core.problems(broken, FIGURES.BLOCKS,
                                                                                    FIGURES.TARGETS))


@pytest.mark.parametrize("path", FIGURE_FILES, ids=lambda p: p.stem)
def test_each_figure_says_when_where_and_on_what_code_it_was_measured(path: Path) -> None:
    figure = json.loads(path.read_text(encoding="utf-8"))
    assert figure["figure"] == path.stem and path.stem in FIGURES.TARGETS
    measured = figure["measured"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", measured["date"])
    assert re.fullmatch(r"[0-9a-f]{40}", measured["commit"])
    assert measured["machine"]["cpus"] >= 1 and measured["machine"]["python"]
    assert figure["commands"] and figure["results"]
    for baseline in figure.get("baselines", {}).values():
        assert baseline["about"] and baseline["results"]


@pytest.mark.parametrize("path", FIGURE_FILES, ids=lambda p: p.stem)
def test_only_speed_figures_are_carried_over_from_hand_measurements(path: Path) -> None:
    """Accuracy figures are always measured by their commands; speed figures measured by hand on an idle
    machine before figures.py existed stay until the benchmarks are re-run on one."""
    figure = json.loads(path.read_text(encoding="utf-8"))
    if figure["measured"].get("carried_over"):
        assert FIGURES.TARGETS[figure["figure"]].kind == "speed"


def test_saving_a_figure_keeps_the_recorded_baselines(tmp_path: Path) -> None:
    target = FIGURES.TARGETS["mtsamples"]
    written = core.save_figure(target, core.Measurement(["extractor evaluate ..."], {"x": 1}), core.measured_on(),
                               tmp_path)
    saved = json.loads(written.read_text(encoding="utf-8"))
    assert saved["baselines"] == core.load_figure("mtsamples")["baselines"]
    assert saved["results"] == {"x": 1} and saved["kind"] == "accuracy"
    assert re.fullmatch(r"[0-9a-f]{40}", saved["measured"]["commit"])


def test_quick_figures_never_land_in_docs_figures() -> None:
    done = subprocess.run([sys.executable, "scripts/figures.py", "run", "--speed", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "--out" in done.stderr


@pytest.mark.parametrize("argv", [["check"], ["--check"]])
def test_the_check_command_passes_on_this_readme(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "scripts/figures.py", *argv], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------ parsers, on real outputs of each script
def test_bench_extract_output_is_read() -> None:
    figures = speed.parse_bench_extract((DATA / "bench_extract.txt").read_text(encoding="utf-8"))
    assert figures["notes"] == 3 and figures["mean_words"] > 0
    assert figures["extractor_notes_per_s"] > 0 and figures["medspacy_notes_per_s"] > 0
    assert figures["speed_up"] == pytest.approx(figures["extractor_notes_per_s"] / figures["medspacy_notes_per_s"],
                                                abs=0.1)


def test_bench_batch_output_is_read_round_by_round() -> None:
    figures = speed.parse_bench_batch((DATA / "bench_batch.txt").read_text(encoding="utf-8"))
    assert figures["notes"] == 40 and len(figures["rounds"]) == 2
    for round_ in figures["rounds"]:
        assert sorted(round_) == ["1", "2"]
        assert round_["2"]["setup"] is not None and round_["1"]["patients"] > 0
    assert figures["speed_up"] > 0 and sorted(figures["projected_hours"]) == ["16", "64"]
    assert "2-worker speed-up" in speed.render_batch_speed(
        {"figure": "batch_speed", "commands": ["python scripts/bench_batch.py"], "results": figures,
         "measured": core.measured_on()})


def test_bench_sentences_output_is_read_in_order() -> None:
    figures = speed.parse_bench_sentences((DATA / "bench_sentences.txt").read_text(encoding="utf-8"))
    assert [s["name"] for s in figures["splitters"]] == list(speed.SPLITTER_LABELS)
    assert figures["notes"] == 5 and all(s["cases"] == figures["splitters"][0]["cases"] for s in figures["splitters"])


def test_bench_stages_output_is_read_slowest_first() -> None:
    figures = speed.parse_bench_stages((DATA / "bench_stages.txt").read_text(encoding="utf-8"))
    assert figures["notes"] == 3 and figures["facts"] > 0 and figures["tokens"] > figures["facts"]
    names = [s["stage"] for s in figures["stages"]]
    assert "tokenizer" in names and "extractor_facts" in names and "total" not in names
    seconds = [s["seconds"] for s in figures["stages"]]
    assert seconds == sorted(seconds, reverse=True)
    rendered = speed.render_stage_speed({"figure": "stage_speed", "commands": ["python scripts/bench_stages.py"],
                                         "results": figures, "measured": core.measured_on()})
    assert rendered.count("| `extractor_") == len(names) - 1 and "notes per CPU second" in rendered


def test_compare_drafts_output_is_read_with_every_criterion() -> None:
    trials = compiler.parse_compare_drafts((DATA / "compare_drafts.txt").read_text(encoding="utf-8"))
    assert list(trials) == ["blinatumomab-sle", "n2c2-2018"]
    for trial in trials.values():
        assert len(trial["rows"]) == trial["criteria"] == sum(trial["forms"].values())
        assert trial["agree"] == sum(int(r["cases"].split("/")[0]) for r in trial["rows"])


@pytest.mark.parametrize(("output", "headings"), [
    ("score_fb_parser.txt", [""]),  # one table
    ("score_fb_parser_splits.txt", ["dev (concepts)", "test (concepts)", "all (concepts)"]),  # one per split
])
def test_score_fb_parser_output_is_read(output: str, headings: list[str]) -> None:
    results = compiler.parse_fb_parser((DATA / output).read_text(encoding="utf-8"))
    assert list(results["tables"]) == headings
    for labels in results["tables"].values():
        assert [r["label"] for r in labels][:2] == ["chronic_disease", "cancer"] and len(labels) == 7
    assert results["bounds"]["same"] <= results["bounds"]["of"]
    rendered = compiler.render_fb_parser({"figure": "fb_parser", "results": results | {"concepts": 1},
                                          "measured": core.measured_on(), "commands": ["x"]})
    assert rendered.count("| label | gold |") == len(headings)


@pytest.mark.parametrize(
    "parse",
    [speed.parse_bench_extract, speed.parse_bench_batch, speed.parse_bench_sentences, speed.parse_bench_stages,
     compiler.parse_compare_drafts, compiler.parse_fb_parser],
)
def test_an_output_without_its_figures_stops_the_run(parse: Callable[[str], object]) -> None:
    with pytest.raises(SystemExit):
        parse("Traceback (most recent call last):\n  something else entirely\n")


def test_the_best_values_are_marked_as_shown_and_a_full_tie_marks_none() -> None:
    assert core.best_marks([0.5, 0.7, 0.6]) == [False, True, False]
    assert core.best_marks([1.0, 1.0, 1.0]) == [False, False, False]
    assert core.best_marks([0.75757, 0.75806, 0.6]) == [True, True, False]  # both print 0.758
    assert core.best_marks([120.0, 700.0, None], 0, higher_is_better=False) == [True, False, False]


# ---------------------------------------------------------- counts in prose, checked against the data they count
def _rows(path: str) -> int:
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines[1:] if line.strip()) if path.endswith(".tsv") else sum(1 for x in lines if x.strip())


def _training() -> dict[str, Any]:
    return json.loads((ROOT / "models" / "assertion" / "training.json").read_text(encoding="utf-8"))


def _counted_phrases() -> list[str]:
    dev, test = _rows("corpora/assertion/mtsamples_dev.tsv"), _rows("corpora/assertion/mtsamples_test.tsv")
    record = _training()
    examples = record["examples"]
    head_mb = (ROOT / "models" / "assertion" / "head.safetensors").stat().st_size / 1e6
    return [
        f"{dev:,} dev rows and {test:,} test rows ({dev + test:,})",
        f"has the same {_rows('corpora/assertion/dev_heldback.tsv'):,} mentions",
        f"({_rows('corpora/dev/verdicts.blinatumomab-sle.jsonl')} patients with `blinatumomab-sle` verdict gold, "
        f"{_rows('corpora/dev/verdicts.n2c2-2018.jsonl')} with `n2c2-2018`)",
        f"(`models/assertion/`, {head_mb:.1f} MB,",
        f"retrained {record['trained']}",
        f"context phrase cases ({examples['phrase_cases']:,})",
        f"held-back ones ({examples['dev_gold']:,})",
        f"**MTSamples DEV split** ({examples['mtsamples_dev_gold']:,};",
        f"and {examples['mtsamples']:,} mentions of {record['mtsamples_notes']} other mtsamples notes",
        f"with {record['corrected_labels']} hand corrections",
        f"and the {record['held_back']['phrase_cases']} phrase cases held back",
    ]


@pytest.mark.parametrize("phrase", _counted_phrases())
def test_a_count_written_in_the_readme_is_the_count_of_its_data(phrase: str) -> None:
    """Counts in prose (TSV rows, gold patients, the shipped head's training record) are not blocks: each is
    checked against the file it counts, so retraining or regenerating without updating the README fails."""
    assert " ".join(phrase.split()) in " ".join(README.split())


def test_the_learned_assertion_verdict_still_follows_from_its_figures() -> None:
    """The README keeps rules as the default because the hybrid does not beat them on sentence-level negation
    on the MTSamples test split; a re-measurement where it does fails here, so the verdict is revisited."""
    results = core.load_figure("learned_assertion")["results"]
    for metric in ("negation.accuracy", "negation.negated.f1"):
        hybrid, rules = (results[mode]["mtsamples_test_tsv"][metric] for mode in ("hybrid", "rules"))
        assert round(hybrid, 3) <= round(rules, 3), f"hybrid now beats rules on {metric}: revisit the README verdict"
    assert "**Rules stay the default** while the hybrid does not beat them on sentence-level" in README


def test_list_tells_which_figures_rest_on_code_that_changed_since() -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", *core.CODE], cwd=ROOT, check=False).returncode
    assert core.code_changed_since({"measured": {"commit": head.stdout.strip()}}) is (dirty == 1)
    assert core.code_changed_since({"measured": {"commit": None}}) is None
    assert core.code_changed_since({"measured": {"commit": "0" * 40}}) is None  # a commit this clone lacks
