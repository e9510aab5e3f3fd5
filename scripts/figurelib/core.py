"""Figures as data: a target measures, a JSON file keeps, a README block shows.

A *target* runs commands and returns their figures; ``docs/figures/NAME.json`` keeps them
with the date, machine and commit they were measured on, the commands, and any recorded
*baselines* (figures of older code, kept as measured then). A *block* is the text between
``<!-- figures:NAME -->`` and ``<!-- /figures:NAME -->`` in README.md, rendered from one or
more figure files; a block whose text differs from its rendering is stale.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "docs" / "figures"
README = ROOT / "README.md"
BLOCK = re.compile(
    r"(?P<open><!-- figures:(?P<name>[a-z_0-9]+) -->\n)(?P<body>.*?)(?P<close><!-- /figures:(?P=name) -->)",
    re.DOTALL,
)
OPENING = re.compile(r"<!-- figures:([a-z_0-9]+) -->")
Figure = dict[str, Any]


@dataclass(frozen=True)
class Measurement:
    """What one target's run produced: the commands as a reader would type them, and their figures."""

    commands: list[str]
    results: dict[str, Any]


@dataclass(frozen=True)
class Options:
    """How to run a target: ``quick`` shrinks benchmarks to check the plumbing (never for README figures);
    ``extra_args`` are appended to a benchmark script's command line."""

    quick: bool = False
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """One figure file: ``measure`` runs its commands. ``kind`` says whether it may run on a loaded machine
    (accuracy, size) or only on an idle one (speed); ``cheap`` targets are re-measured by ``run --cheap``."""

    name: str
    kind: Literal["accuracy", "size", "speed"]
    cheap: bool
    about: str
    measure: Callable[[Options], Measurement]


@dataclass(frozen=True)
class Block:
    """One README block: rendered from the figure files named in ``sources``, in that order."""

    name: str
    sources: tuple[str, ...]
    render: Callable[..., str]


# ------------------------------------------------------------------ measuring
CODE = ("extractor", "patterns", "models", "corpora", "scripts", ":(exclude)scripts/figures.py",
        ":(exclude)scripts/figurelib")  # what a figure depends on (git pathspecs)


def measured_on() -> dict[str, Any]:
    """When, where and on what code a figure was measured."""
    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--", *CODE)
    return {
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "commit": commit or None,
        "uncommitted_changes": bool(dirty),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        },
    }


def code_changed_since(figure: Figure) -> bool | None:
    """Whether the code a figure depends on differs between its commit and the working tree (None: unknown).
    Not a CI failure (every code change would be one): ``figures.py list`` shows it, to say what to re-run."""
    commit = figure["measured"].get("commit")
    if not commit:
        return None
    done = subprocess.run(["git", "diff", "--quiet", commit, "--", *CODE], cwd=ROOT, capture_output=True,
                          check=False)
    return None if done.returncode not in (0, 1) else done.returncode == 1


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def _environment() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def run_text(argv: Sequence[str]) -> str:
    """Run one command from the repository root; its standard output. A failure stops the run with its stderr."""
    print(f"  {shlex.join(argv)}", file=sys.stderr)
    done = subprocess.run(list(argv), cwd=ROOT, env=_environment(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(argv)}\n{done.stderr[-3000:]}")
    return done.stdout


def extractor(args: Sequence[str]) -> str:
    """Run this environment's ``extractor`` command; its standard output."""
    return run_text([str(Path(sys.executable).parent / "extractor"), *args])


def extractor_json(args: Sequence[str]) -> dict[str, Any]:
    """One ``extractor evaluate ...`` report (``--format json``, no error list): metrics and tables by title."""
    report = json.loads(extractor([*args, "--format", "json", "--max-errors", "0"]))
    tables = {table["title"]: table["rows"] for table in report.get("tables", []) if table["title"] != "Errors"}
    return {"metrics": report["metrics"], "tables": tables}


def shown(args: Sequence[str], program: str = "extractor") -> str:
    """A command as the README writes it (``.venv/bin/`` left out)."""
    return shlex.join([program, *args])


def script(name: str, args: Sequence[str]) -> tuple[list[str], str]:
    """argv for ``python scripts/NAME.py ARGS`` with this interpreter, and the command as shown."""
    return [sys.executable, f"scripts/{name}.py", *args], shlex.join(["python", f"scripts/{name}.py", *args])


# ------------------------------------------------------------------ storing
def path_of(name: str, directory: Path = FIGURES) -> Path:
    return directory / f"{name}.json"


def load_figure(name: str, directory: Path = FIGURES) -> Figure:
    return json.loads(path_of(name, directory).read_text(encoding="utf-8"))


def save_figure(target: Target, measurement: Measurement, measured: dict[str, Any], directory: Path = FIGURES) -> Path:
    """Write the target's JSON (``measured``: ``measured_on()`` taken before the run); baselines recorded in the
    file it replaces are kept."""
    figure: Figure = {
        "figure": target.name,
        "kind": target.kind,
        "measured": measured,
        "commands": measurement.commands,
        "results": measurement.results,
    }
    previous = path_of(target.name)
    if previous.exists():
        baselines = json.loads(previous.read_text(encoding="utf-8")).get("baselines")
        if baselines:
            figure["baselines"] = baselines
    directory.mkdir(parents=True, exist_ok=True)
    path = path_of(target.name, directory)
    path.write_text(json.dumps(figure, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ README blocks
def readme_blocks(text: str) -> dict[str, str]:
    """The README's figure blocks: name -> the text between its markers."""
    return {match["name"]: match["body"] for match in BLOCK.finditer(text)}


def render_block(block: Block, directory: Path = FIGURES) -> str:
    return block.render(*(load_figure(source, directory) for source in block.sources))


def render_readme(text: str, blocks: dict[str, Block], directory: Path = FIGURES) -> str:
    """``text`` with every figure block rendered from its JSON."""

    def replace(match: re.Match[str]) -> str:
        block = blocks.get(match["name"])
        if block is None or not all(path_of(source, directory).exists() for source in block.sources):
            return match[0]  # reported by ``problems``
        return match["open"] + render_block(block, directory) + match["close"]

    return BLOCK.sub(replace, text)


def problems(text: str, blocks: dict[str, Block], targets: dict[str, Target], directory: Path = FIGURES) -> list[str]:
    """Why the README's figures are not their JSON rendered; empty when every block is current."""
    found = readme_blocks(text)
    issues = []
    opened = OPENING.findall(text)
    for name in sorted(set(opened)):
        if opened.count(name) > 1:
            issues.append(f"block {name!r} appears {opened.count(name)} times")
        if name not in found:
            issues.append(f"block {name!r} has no closing marker <!-- /figures:{name} -->")
    for name in sorted(set(found) - set(blocks)):
        issues.append(f"block {name!r} in README.md has no renderer in scripts/figurelib")
    for name in sorted(set(blocks) - set(found)):
        issues.append(f"block {name!r} is missing from README.md")
    for name in sorted(targets):
        if not path_of(name, directory).exists():
            issues.append(f"docs/figures/{name}.json is missing: run scripts/figures.py run {name}")
    for name in sorted(set(found) & set(blocks)):
        block = blocks[name]
        if all(path_of(source, directory).exists() for source in block.sources) and found[name] != render_block(
            block, directory
        ):
            issues.append(
                f"README block {name!r} differs from its rendering of docs/figures/"
                f"{'+'.join(block.sources)}.json: run scripts/figures.py render (or re-measure: run {block.sources[0]})"
            )
    return issues


# ------------------------------------------------------------------ rendering helpers
def fmt(value: float | None, digits: int = 3, missing: str = "—") -> str:
    return missing if value is None else f"{value:.{digits}f}"


def best_marks(values: Sequence[float | None], digits: int = 3, higher_is_better: bool = True) -> list[bool]:
    """Which values are the best, compared as shown; none when all that are known print alike."""
    rounded = [None if v is None else round(v, digits) for v in values]
    known = [v for v in rounded if v is not None]
    if len(set(known)) < 2:
        return [False] * len(values)
    best = max(known) if higher_is_better else min(known)
    return [v is not None and v == best for v in rounded]


def bold(text: str, on: bool = True) -> str:
    return f"**{text}**" if on else text


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str] | None = None) -> list[str]:
    """Markdown table lines."""
    rule = [a if a else "---" for a in align] if align else ["---"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return lines


def provenance(figure: Figure) -> str:
    """The line under a block: when, at which commit, on how many CPUs, from which file; or where a figure
    carried over from before ``figures.py`` came from."""
    measured = figure["measured"]
    source = f"`docs/figures/{figure['figure']}.json`"
    if measured.get("carried_over"):
        return f"Measured {measured['date'][:10]} by hand ({measured['carried_over']}; {source})."
    commit = (measured["commit"] or "unknown")[:10]
    dirty = " with uncommitted changes" if measured.get("uncommitted_changes") else ""
    load = measured["machine"].get("load_average_1min")
    busy = f" (load average {load:.1f} as it started)" if figure.get("kind") == "speed" and load is not None else ""
    return (
        f"Measured {measured['date'][:10]} at commit `{commit}`{dirty} on {measured['machine']['cpus']} CPUs{busy} "
        f"({source}, `scripts/figures.py run {figure['figure']}`)."
    )


def with_provenance(lines: Sequence[str], *figures: Figure) -> str:
    """A block's text: its lines, a blank line, one provenance line per figure file."""
    return "\n".join(lines) + "\n\n" + "\n".join(provenance(figure) for figure in figures) + "\n"


def thousands(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"
