"""Accuracy on corpora/dev (and the MTSamples DEV split) never drops below the floors in floors.yaml.

The pipeline is loaded once per session and each evaluation runs once; every floor
is its own test, named ``facts:<metric>``, ``mtsamples_dev:<metric>``, ``mtsamples_dev_assertion:<metric>`` or
``screen:<trial>:<metric>``, so a failure
says which number fell. Evidence that is not the note's text is not a matter of
degree: it must never happen, whatever the floors.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from extractor.api import assert_mention
from extractor.errors import ResourceError
from extractor.evaluation.assertion import AssertionResult, evaluate_assertion, read_tsv
from extractor.evaluation.facts import FactsResult, evaluate_facts, predict_facts, read_scope
from extractor.evaluation.gold import read_gold_dir, read_split
from extractor.evaluation.screen import (
    ScreenResult,
    check_gold_evidence,
    evaluate_screen,
    predict_verdicts,
    read_verdicts,
)
from extractor.notes import read_jsonl

ROOT = Path(__file__).parents[2]
DEV = ROOT / "corpora" / "dev"
MTSAMPLES = ROOT / "corpora" / "mtsamples"
FLOORS_FILE = Path(__file__).parent / "floors.yaml"
FLOORS: dict[str, Any] = yaml.safe_load(FLOORS_FILE.read_text(encoding="utf-8"))
RAISE_FLOORS = os.environ.get("EXTRACTOR_RAISE_FLOORS") == "1"
TOLERANCE = 1e-9

# (section, trial or None, metric, floor) for every line of floors.yaml
FACT_SECTIONS = ("facts", "mtsamples_dev", "mtsamples_dev_assertion")  # corpora/dev; the MTSamples DEV split
CASES = [(section, None, metric, floor) for section in FACT_SECTIONS for metric, floor in FLOORS[section].items()] + [
    ("screen", trial, metric, floor) for trial, floors in FLOORS["screen"].items() for metric, floor in floors.items()
]
reached: dict[tuple[str, str | None, str], float] = {}


@pytest.fixture(scope="session")
def pipeline(request: pytest.FixtureRequest) -> Any:
    """The session's pipeline (tests/conftest.py); skipped while its vocabularies are not all written."""
    try:
        return request.getfixturevalue("nlp")
    except ResourceError as exc:
        if "[E001]" not in str(exc):
            raise
        pytest.skip(f"the pipeline is not complete yet ({exc})")


@pytest.fixture(scope="session")
def facts_result(pipeline: Any) -> FactsResult:
    gold = read_gold_dir(DEV)
    return evaluate_facts(gold, predict_facts(gold, pipeline), read_scope(DEV))


@pytest.fixture(scope="session")
def mtsamples_dev_result(pipeline: Any) -> FactsResult:
    """The MTSamples DEV split only (40 notes, a few seconds): the test split is never a floor."""
    gold = read_gold_dir(MTSAMPLES, read_split(MTSAMPLES, "dev"))
    return evaluate_facts(gold, predict_facts(gold, pipeline))


@pytest.fixture(scope="session")
def mtsamples_dev_assertion_result(pipeline: Any) -> AssertionResult:
    """Sentence-level assertion on the MTSamples DEV split's TSV (the test split's TSV is never a floor)."""
    cases = read_tsv(ROOT / "corpora" / "assertion" / "mtsamples_dev.tsv")
    return evaluate_assertion(cases, lambda text, start, end: assert_mention(text, start, end, nlp=pipeline))


def _gold_verdicts(trial: str) -> Path | None:
    """``verdicts.<trial>.jsonl``, else the directory of one-patient ``<patient>.<trial>.json``."""
    single = DEV / f"verdicts.{trial}.jsonl"
    if single.exists():
        return single
    return DEV / "verdicts" if any((DEV / "verdicts").glob(f"*.{trial}.json")) else None


@pytest.fixture(scope="session")
def screen_results(pipeline: Any) -> dict[str, ScreenResult]:
    """A result per trial of floors.yaml whose gold verdicts are written."""
    notes_path = DEV / "notes.jsonl"
    if not notes_path.exists():
        pytest.skip("corpora/dev/notes.jsonl is not written yet")
    notes = list(read_jsonl(notes_path))
    texts = {note.note_id: note.text for note in notes}
    results = {}
    for trial in FLOORS["screen"]:
        path = _gold_verdicts(trial)
        if path is None:
            continue
        gold = read_verdicts(path, trial)
        check_gold_evidence(gold, texts)
        verdicts = [verdict for _, verdict in gold]
        results[trial] = evaluate_screen(verdicts, predict_verdicts(verdicts, notes, pipeline), texts)
    return results


def _screen_result(results: dict[str, ScreenResult], trial: str) -> ScreenResult:
    if trial not in results:
        pytest.skip(f"no gold verdicts for {trial} in corpora/dev yet")
    return results[trial]


def raise_floors(values: dict[tuple[str, str | None, str], float], path: Path = FLOORS_FILE) -> None:
    """Set each floor to the value reached, rounded down to 0.001, never lowering one.

    The comment header of the file is kept; the floors are rewritten below it.
    """
    floors = yaml.safe_load(path.read_text(encoding="utf-8"))
    for (section, trial, metric), value in values.items():
        table = floors[section] if trial is None else floors[section][trial]
        table[metric] = max(table[metric], math.floor(value * 1000) / 1000)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = "".join(line for line in lines if line.startswith("#"))
    path.write_text(header + yaml.safe_dump(floors, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="session", autouse=True)
def _raise_floors_when_asked() -> Iterator[None]:
    """With EXTRACTOR_RAISE_FLOORS=1, write the values reached back as the new floors."""
    yield
    if RAISE_FLOORS and reached:
        raise_floors(reached)


def test_extracted_evidence_is_always_the_note_text(facts_result: FactsResult) -> None:
    assert facts_result.evidence_mismatched == 0


@pytest.mark.parametrize("trial", list(FLOORS["screen"]))
def test_cited_spans_are_always_the_note_text(screen_results: dict[str, ScreenResult], trial: str) -> None:
    assert _screen_result(screen_results, trial).cited_problems == []


@pytest.mark.parametrize(
    ("section", "trial", "metric", "floor"),
    [pytest.param(*case, id=":".join(part for part in case[:3] if part)) for case in CASES],
)
def test_metric_stays_at_or_above_its_floor(
    request: pytest.FixtureRequest, section: str, trial: str | None, metric: str, floor: float
) -> None:
    if section == "facts":
        metrics = request.getfixturevalue("facts_result").metrics()
    elif section in ("mtsamples_dev", "mtsamples_dev_assertion"):
        metrics = request.getfixturevalue(f"{section}_result").metrics()
    else:
        metrics = _screen_result(request.getfixturevalue("screen_results"), trial).metrics()
    assert metric in metrics, f"floors.yaml names {metric!r}, which the evaluation does not report"
    value = metrics[metric]
    assert value is not None, f"{metric} is undefined on corpora/dev (nothing to score)"
    reached[(section, trial, metric)] = value
    assert value >= floor - TOLERANCE, f"{metric} fell to {value:.4f}, below its floor {floor}"
