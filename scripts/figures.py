"""Measure the README's figures into ``docs/figures/*.json`` and render them into the README.

Every measured table in README.md sits between ``<!-- figures:BLOCK -->`` and
``<!-- /figures:BLOCK -->`` and is rendered from one or more figure files
``docs/figures/TARGET.json``, each written by a *target* that runs the commands it records, with
the date, machine and commit. ``tests/unit/test_readme_figures.py`` runs ``check``: a number
edited by hand, or a figure re-measured without re-rendering, fails it.

    .venv/bin/python scripts/figures.py list                 # targets, blocks, when measured, code changed since?
    .venv/bin/python scripts/figures.py check                # README blocks == their JSON rendered (CI; or --check)
    .venv/bin/python scripts/figures.py render               # rewrite the README blocks from the JSON
    .venv/bin/python scripts/figures.py run mtsamples        # re-measure one target (or several), then render
    .venv/bin/python scripts/figures.py run --cheap          # every cheap accuracy target (a few minutes)
    .venv/bin/python scripts/figures.py run --speed          # the benchmarks: only on an idle machine
    .venv/bin/python scripts/figures.py run batch_speed --extra-args "--notes 20000 --repeat 3"
    .venv/bin/python scripts/figures.py run --speed --quick --out /tmp/figures   # plumbing check, tiny sizes
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from figurelib import accuracy, compiler, sizes, speed
from figurelib.core import (
    FIGURES,
    README,
    Block,
    Options,
    Target,
    code_changed_since,
    load_figure,
    measured_on,
    path_of,
    problems,
    readme_blocks,
    render_readme,
    save_figure,
)

IDLE_LOAD = 1.0  # 1-minute load average above which a benchmark's machine is not idle
TARGETS: dict[str, Target] = {t.name: t for t in (*accuracy.TARGETS, *compiler.TARGETS, *sizes.TARGETS, *speed.TARGETS)}
BLOCKS: dict[str, Block] = {b.name: b for b in (*accuracy.BLOCKS, *compiler.BLOCKS, *sizes.BLOCKS, *speed.BLOCKS)}


def chosen(args: argparse.Namespace) -> list[Target]:
    """The targets ``run`` measures: those named, or a group."""
    unknown = [name for name in args.names if name not in TARGETS]
    if unknown:
        raise SystemExit(f"unknown target(s) {', '.join(unknown)}; targets: {', '.join(TARGETS)}")
    picked = [TARGETS[name] for name in args.names]
    picked += [t for t in TARGETS.values() if (args.cheap and t.cheap) or (args.accuracy and t.kind == "accuracy")
               or (args.speed and t.kind == "speed") or args.all]
    if not picked:
        raise SystemExit("name a target, or --cheap, --accuracy, --speed or --all")
    return list(dict.fromkeys(picked))


def run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve() if args.out else FIGURES
    if args.quick and out == FIGURES:
        raise SystemExit("--quick figures are for checking the plumbing: give --out DIR (not docs/figures)")
    options = Options(quick=args.quick, extra_args=tuple(shlex.split(args.extra_args or "")))
    for target in chosen(args):
        print(f"{target.name} ({target.kind}): {target.about}", file=sys.stderr)
        load = os.getloadavg()[0]
        if target.kind == "speed" and not args.quick and load > IDLE_LOAD:
            print(f"warning: load average {load:.1f}: speed figures want an idle machine (it is recorded)",
                  file=sys.stderr)
        measured = measured_on()  # before the run: the code it starts on
        path = save_figure(target, target.measure(options), measured, out)
        print(f"wrote {path}", file=sys.stderr)
    if out == FIGURES:
        return render()
    return 0


def render() -> int:
    text = README.read_text(encoding="utf-8")
    rendered = render_readme(text, BLOCKS)
    if rendered != text:
        README.write_text(rendered, encoding="utf-8")
        print("README figure blocks re-rendered", file=sys.stderr)
    return 0


def check() -> int:
    found = problems(README.read_text(encoding="utf-8"), BLOCKS, TARGETS)
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


def listing() -> int:
    used = readme_blocks(README.read_text(encoding="utf-8"))
    for target in TARGETS.values():
        path = path_of(target.name)
        when = "not measured"
        if path.exists():
            figure = load_figure(target.name)
            measured = figure["measured"]
            when = f"{measured['date'][:10]} at {(measured.get('commit') or 'unknown')[:10]}"
            when += " (carried over, measured by hand)" if measured.get("carried_over") else ""
            when += "; code changed since: re-run" if code_changed_since(figure) else ""
        blocks = [b.name for b in BLOCKS.values() if target.name in b.sources]
        missing = [b for b in blocks if b not in used]
        print(f"{target.name:18} {target.kind:8} {'cheap' if target.cheap else '     '} {when}")
        note = f" (not in README: {', '.join(missing)})" if missing else ""
        print(f"{'':18} {target.about}; blocks: {', '.join(blocks)}{note}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="the same as the check command")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("list", help="targets, their blocks, when measured")
    commands.add_parser("check", help="fail if a README block is not its JSON rendered")
    commands.add_parser("render", help="rewrite the README blocks from docs/figures")
    measure = commands.add_parser("run", help="measure targets into docs/figures, then render the README")
    measure.add_argument("names", nargs="*", help=f"targets: {', '.join(TARGETS)}")
    measure.add_argument("--cheap", action="store_true", help="every cheap accuracy target")
    measure.add_argument("--accuracy", action="store_true", help="every accuracy target")
    measure.add_argument("--speed", action="store_true", help="every speed target (idle machine only)")
    measure.add_argument("--all", action="store_true", help="every target")
    measure.add_argument("--quick", action="store_true", help="tiny benchmark sizes, to check the plumbing")
    measure.add_argument("--out", help="write the JSON here instead (the README is then left alone)")
    measure.add_argument("--extra-args", help="appended to each benchmark script's command line")
    args = parser.parse_args()
    if args.check or args.command == "check":
        return check()
    if args.command is None:
        parser.error("name a command: list, check, render or run")
    if args.command == "run":
        return run(args)
    return {"list": listing, "render": render}[args.command]()


if __name__ == "__main__":
    raise SystemExit(main())
