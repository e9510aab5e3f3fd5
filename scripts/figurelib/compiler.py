"""Trial-compiler targets (issue 16): its drafts against the hand-written trials, and its reading of
Clinical-Trial-Parser's annotated criteria. Both parse the scripts' printed output."""

from __future__ import annotations

import ast
import re
import sys
from typing import Any

from figurelib import core
from figurelib.core import Block, Figure, Measurement, Options, Target

SUMMARY = re.compile(
    r"^(?P<trial>[\w-]+): (?P<criteria>\d+) hand-written criteria; draft forms (?P<forms>\{.*?\}); .*?: "
    r"(?P<agree>\d+)/(?P<cases>\d+) \([\d.]+\); met<->not_met swaps: (?P<swaps>\d+)$"
)
DETAIL_COLUMNS = ("hand", "draft", "form", "concepts", "cases", "swaps")


def parse_compare_drafts(text: str) -> dict[str, Any]:
    """``compare_drafts.py --markdown``'s output: per trial its summary and its criterion rows."""
    trials: dict[str, Any] = {}
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        if match := SUMMARY.match(line):
            current = trials[match["trial"]] = {
                "criteria": int(match["criteria"]), "forms": ast.literal_eval(match["forms"]),
                "agree": int(match["agree"]), "cases": int(match["cases"]), "swaps": int(match["swaps"]), "rows": [],
            }
        elif current is not None and line.startswith("| ") and not line.startswith(("| hand-written", "| ---")):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            current["rows"].append(dict(zip(DETAIL_COLUMNS, cells, strict=True)))
    if not trials:
        raise SystemExit("compare_drafts.py printed no trial summary")
    return trials


def measure_compare_drafts(options: Options) -> Measurement:
    argv, command = core.script("compare_drafts", ["--markdown"])
    return Measurement([command], {"trials": parse_compare_drafts(core.run_text(argv))})


def render_compare_drafts(figure: Figure) -> str:
    """Drafts against the hand-written trials: one summary row per trial, then criterion by criterion."""
    trials = figure["results"]["trials"]
    forms = ("rule", "partial", "person", "missing")
    rows = [
        [name, str(t["criteria"]), " / ".join(str(t["forms"].get(f, 0)) for f in forms),
         f"{t['agree']}/{t['cases']} ({t['agree'] / t['cases'] if t['cases'] else 0.0:.3f})", str(t["swaps"])]
        for name, t in trials.items()
    ]
    lines = core.table(["trial", "hand-written criteria", "draft: rule / partial / person / missing",
                   "test charts judged alike", "met <-> not_met swaps"], rows)
    lines += ["", "<details><summary>criterion by criterion</summary>"]
    for name, t in trials.items():
        lines += ["", f"**{name}**", ""]
        lines += core.table(["hand-written", "drafted", "form", "concepts shared", "charts agreeing", "swaps"],
                       [[r[c] for c in DETAIL_COLUMNS] for r in t["rows"]])
    lines += ["", "</details>"]
    return core.with_provenance(lines, figure)


FB_ROW = re.compile(r"^\| (?P<label>[a-z_]+) \| (?P<cells>[\d. |]+)\|$")
FB_COLUMNS = ("gold", "predicted", "precision", "recall", "f1", "precision_overlap", "recall_overlap", "f1_overlap")
FB_HEADER = ("label", "gold", "predicted", "P", "R", "F1", "P overlap", "R overlap", "F1 overlap")
FB_BOUNDS = re.compile(r"^bounds: (?P<same>\d+)/(?P<of>\d+) numeric criteria read exactly")
FB_HEADING = re.compile(r"^(?P<heading>\w+ \([^)]*\)):$")  # "dev (concepts):" before each split's table


def parse_fb_parser(text: str) -> dict[str, Any]:
    """``score_fb_parser.py``'s output: its per-label tables (one, or one per split under a heading), labels in
    its order, and the bounds line."""
    tables: dict[str, list[dict[str, Any]]] = {}
    heading, bounds = "", None
    for line in text.splitlines():
        if match := FB_HEADING.match(line):
            heading = match["heading"]
        elif match := FB_ROW.match(line):
            values = [float(cell) for cell in match["cells"].split("|")]
            row = {"label": match["label"], **dict(zip(FB_COLUMNS, values, strict=True))}
            tables.setdefault(heading, []).append(row)
        elif match := FB_BOUNDS.match(line):
            bounds = {"same": int(match["same"]), "of": int(match["of"])}
    if not tables or bounds is None:
        raise SystemExit("score_fb_parser.py printed no label table or no bounds line")
    return {"tables": tables, "bounds": bounds}


def measure_fb_parser(options: Options) -> Measurement:
    argv, command = core.script("score_fb_parser", ["--no-similar"])
    results = parse_fb_parser(core.run_text(argv))
    count = [sys.executable, "-c", "from extractor.resources import concepts_by_id; print(len(concepts_by_id()))"]
    results["concepts"] = int(core.run_text(count).strip())
    return Measurement([command], results)


def render_fb_parser(figure: Figure) -> str:
    """Reading the Clinical-Trial-Parser criteria: per-label exact and overlap P / R / F1, and the bounds."""
    results = figure["results"]
    lines = []
    for heading, labels in results["tables"].items():
        rows = [[v["label"], *(str(int(v[c])) if c in ("gold", "predicted") else core.fmt(v[c]) for c in FB_COLUMNS)]
                for v in labels]
        lines += [f"{heading}:", ""] if heading else []
        lines += [*core.table(FB_HEADER, rows), ""]
    bounds = results["bounds"]
    lines += [
        f"Bounds: of the {bounds['of']} numeric criteria Clinical-Trial-Parser reads "
        "(`cfg_parsed_clinical_trials.tsv`), the reader gives the same bounds (side, value, inclusive; an "
        "exclusion's bound turned into the eligible range as that file writes it) for "
        f"{bounds['same']} ({bounds['same'] / bounds['of']:.3f}). Lexicon only (`--no-similar`), with the "
        f"{core.thousands(results['concepts'])} concepts of `patterns/`.",
    ]
    return core.with_provenance(lines, figure)


TARGETS = (
    Target("compare_drafts", "accuracy", True, "trial drafts against the hand-written trials (issue 16)",
           measure_compare_drafts),
    Target("fb_parser", "accuracy", True, "the eligibility reader on Clinical-Trial-Parser's criteria (issue 16)",
           measure_fb_parser),
)
BLOCKS = (
    Block("compare_drafts", ("compare_drafts",), render_compare_drafts),
    # fb_parser's block is not in README.md since issue 16's dev/test and --unnamed tables (written by hand there);
    # the target still records `score_fb_parser.py --no-similar`: see the h19 report
)
