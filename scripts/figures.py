"""Measure the README's figures and write them to ``docs/figures/*.json``; render the README tables.

Every figure comes from a command written in the JSON next to it, with the date, the
machine and the commit it was measured on. The README's measured tables sit between
``<!-- figures:NAME -->`` and ``<!-- /figures:NAME -->`` and are rendered from
``docs/figures/NAME.json`` (``--readme`` rewrites them); ``tests/unit/test_readme_figures.py``
fails when a table and its JSON disagree, so a stale number fails CI.

    .venv/bin/python scripts/figures.py --only accuracy --readme   # evaluations (minutes)
    .venv/bin/python scripts/figures.py --only speed --readme      # benchmarks: run on an idle machine
    .venv/bin/python scripts/figures.py --readme-only              # re-render the tables from the JSON

Figures:
- ``learned_assertion`` (accuracy): the three assertion modes on the held-back dev split
  (``evaluate assertion`` on its TSV and ``evaluate facts`` on its patients) and on the
  held-back phrase cases.
- ``assertion_speed`` (speed): ``scripts/bench_extract.py`` in each mode.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures"
README = ROOT / "README.md"
MODES = ("rules", "hybrid", "model")
HELD_BACK_PATIENTS = "P04,P08,P12,P16,P20,P24,P28,P32"
BLOCK = re.compile(r"(<!-- figures:(?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- /figures:(?P=name) -->)", re.DOTALL)


# ------------------------------------------------------------------ measuring
def measured_on() -> dict[str, Any]:
    """When, where and on what code a figure was measured."""
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "extractor", "patterns", "models"],
                           cwd=ROOT, capture_output=True, text=True, check=False)
    return {
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "commit": commit.stdout.strip() or None,
        "uncommitted_changes": bool(dirty.stdout.strip()),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
    }


def _extractor_command() -> str:
    return str(Path(sys.executable).parent / "extractor")


def run_json(args: list[str]) -> dict[str, Any]:
    """One ``extractor evaluate ...`` command with ``--format json``; its report."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [_extractor_command(), *args, "--format", "json", "--max-errors", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"failed: extractor {' '.join(args)}\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def assertion_commands(mode: str) -> dict[str, list[str]]:
    """The README's commands for the learned-assertion table, in one mode."""
    return {
        "dev_tsv": ["evaluate", "assertion", "--tsv", "corpora/assertion/dev_heldback.tsv", "--assertion", mode],
        "dev_facts": ["evaluate", "facts", "--gold", "corpora/dev", "--patients", HELD_BACK_PATIENTS,
                      "--assertion", mode],
        "phrase_tsv": ["evaluate", "assertion", "--tsv", "corpora/assertion/phrase_heldback.tsv",
                       "--assertion", mode],
    }


def measure_learned_assertion() -> dict[str, Any]:
    results: dict[str, Any] = {}
    commands: list[str] = []
    for mode in MODES:
        results[mode] = {}
        for key, args in assertion_commands(mode).items():
            print(f"  extractor {' '.join(args)}", file=sys.stderr)
            commands.append("extractor " + " ".join(args))
            results[mode][key] = run_json(args)["metrics"]
    return {"figure": "learned_assertion", "measured": measured_on(), "commands": commands, "results": results}


BENCH_LINES = {
    "extractor_notes_per_s": re.compile(r"extractor full pipeline\s*:\s*([\d.]+) notes/s"),
    "medspacy_notes_per_s": re.compile(r"medspaCy default\s*:\s*([\d.]+) notes/s"),
    "speed_up": re.compile(r"speed-up\s*:\s*([\d.]+)x"),
    "peak_rss_mb": re.compile(r"peak RSS after extractor:\s*([\d.]+) MB"),
    "notes": re.compile(r"notes: (\d+)"),
}


def measure_assertion_speed(limit: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    commands = []
    for mode in MODES:
        args = [sys.executable, "scripts/bench_extract.py", "--limit", str(limit), "--assertion", mode]
        commands.append(f"python scripts/bench_extract.py --limit {limit} --assertion {mode}")
        print(f"  {commands[-1]}", file=sys.stderr)
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
        results[mode] = {key: float(regex.search(done.stdout).group(1)) for key, regex in BENCH_LINES.items()}
    return {"figure": "assertion_speed", "measured": measured_on(), "commands": commands, "results": results}


# ------------------------------------------------------------------ rendering
def _row(label: str, values: list[float | None], digits: int = 3, higher_is_better: bool = True) -> str:
    """A table row; the best value in bold, compared as shown (two values that print alike tie)."""
    shown = [None if v is None else round(v, digits) for v in values]
    known = [v for v in shown if v is not None]
    best = (max(known) if higher_is_better else min(known)) if known else None
    cells = []
    for value in shown:
        text = "n/a" if value is None else f"{value:.{digits}f}"
        cells.append(f"**{text}**" if value is not None and value == best and len(set(known)) > 1 else text)
    return f"| {label} | " + " | ".join(cells) + " |"


def render_learned_assertion(figure: dict[str, Any]) -> str:
    """The README's learned-assertion accuracy table, from its JSON."""
    results = figure["results"]

    def get(key: str, metric: str) -> list[float | None]:
        return [results[mode][key].get(metric) for mode in MODES]

    dev, phrase = results["rules"]["dev_tsv"], results["rules"]["phrase_tsv"]
    facts = int(results["rules"]["dev_facts"]["attribute.assertion.scored"])
    lines = [
        "| measure | " + " | ".join(MODES) + " |",
        "| --- | " + " | ".join("---" for _ in MODES) + " |",
        _row(f"held-back dev, `evaluate assertion` ({dev['mentions']} mentions, {dev['mentions_not_found']} not "
             "found): negated F1", get("dev_tsv", "negation.negated.f1")),
        _row("— historical F1", get("dev_tsv", "temporality.historical.f1")),
        _row("— hypothetical F1", get("dev_tsv", "temporality.hypothetical.f1")),
        _row("— non-patient experiencer F1", get("dev_tsv", "experiencer.non_patient.f1")),
        _row(f"held-back dev, `evaluate facts` ({facts} matched facts): assertion accuracy",
             get("dev_facts", "attribute.assertion.accuracy")),
        _row("— temporality accuracy", get("dev_facts", "attribute.temporality.accuracy")),
        _row("— experiencer accuracy", get("dev_facts", "attribute.experiencer.accuracy")),
        _row(f"held-back phrase cases ({phrase['mentions']}, {phrase['mentions_not_found']} not found): negated F1",
             get("phrase_tsv", "negation.negated.f1")),
        _row("— historical F1", get("phrase_tsv", "temporality.historical.f1")),
        _row("— negation accuracy", get("phrase_tsv", "negation.accuracy")),
        _row("— temporality accuracy", get("phrase_tsv", "temporality.accuracy")),
        _row("— experiencer accuracy", get("phrase_tsv", "experiencer.accuracy")),
    ]
    return _with_provenance(figure, lines)


def render_assertion_speed(figure: dict[str, Any]) -> str:
    """The README's speed table of the three assertion modes, from its JSON."""
    results = figure["results"]
    notes = int(results["rules"]["notes"])
    lines = [
        "| measure | " + " | ".join(MODES) + " |",
        "| --- | " + " | ".join("---" for _ in MODES) + " |",
        _row(f"`bench_extract.py` on {notes} notes: notes/s", [results[m]["extractor_notes_per_s"] for m in MODES], 1),
        _row("— medspaCy default in the same run, notes/s", [results[m]["medspacy_notes_per_s"] for m in MODES], 1,
             higher_is_better=False),
        _row("peak RSS after the extractor, MB", [results[m]["peak_rss_mb"] for m in MODES], 0,
             higher_is_better=False),
    ]
    return _with_provenance(figure, lines)


def _with_provenance(figure: dict[str, Any], lines: list[str]) -> str:
    measured = figure["measured"]
    commit = (measured["commit"] or "unknown")[:10]
    return (
        "\n".join(lines)
        + f"\n\nMeasured {measured['date'][:10]} at commit `{commit}` on {measured['machine']['cpus']} CPUs "
        f"(`docs/figures/{figure['figure']}.json`, `scripts/figures.py`).\n"
    )


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "learned_assertion": render_learned_assertion,
    "assertion_speed": render_assertion_speed,
}


def load_figure(name: str, directory: Path = FIGURES) -> dict[str, Any]:
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


def readme_blocks(text: str) -> dict[str, str]:
    """The README's figure blocks: name -> the text between its markers."""
    return {match["name"]: match["body"] for match in BLOCK.finditer(text)}


def render_readme(text: str, directory: Path = FIGURES) -> str:
    """``text`` with every figure block rendered from its JSON."""

    def replace(match: re.Match[str]) -> str:
        body = RENDERERS[match["name"]](load_figure(match["name"], directory))
        return match.group(1) + body + match.group(4)

    return BLOCK.sub(replace, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("accuracy", "speed"), help="measure only these figures")
    parser.add_argument("--readme", action="store_true", help="then re-render the README's figure tables")
    parser.add_argument("--readme-only", action="store_true", help="only re-render the README from the JSON")
    parser.add_argument("--limit", type=int, default=60, help="notes for the speed benchmark")
    args = parser.parse_args()
    FIGURES.mkdir(parents=True, exist_ok=True)
    if not args.readme_only:
        measured = []
        if args.only in (None, "accuracy"):
            measured.append(measure_learned_assertion())
        if args.only in (None, "speed"):
            measured.append(measure_assertion_speed(args.limit))
        for figure in measured:
            path = FIGURES / f"{figure['figure']}.json"
            path.write_text(json.dumps(figure, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
    if args.readme or args.readme_only:
        README.write_text(render_readme(README.read_text(encoding="utf-8")), encoding="utf-8")
        print("README figure tables re-rendered", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
