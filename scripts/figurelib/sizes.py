"""Size targets: what the tools write, measured on the dev corpus. Sizes do not depend on the machine's load."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from figurelib.core import (
    Block,
    Figure,
    Measurement,
    Options,
    Target,
    extractor,
    shown,
    table,
    thousands,
    with_provenance,
)

NOTES = "corpora/dev/notes.jsonl"
TRIAL = "blinatumomab-sle"


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def measure_report_size(options: Options) -> Measurement:
    """The README's report commands on the dev corpus, in a scratch directory; the files' sizes in bytes."""
    with tempfile.TemporaryDirectory() as scratch:
        here = Path(scratch)
        steps = [
            ["extract", NOTES, "-o", "facts.jsonl"],
            ["screen", NOTES, "--trial", TRIAL, "-o", "verdicts.jsonl"],
            ["report", "verdicts.jsonl", "--notes", NOTES, "--facts", "facts.jsonl", "--out-dir", "report/"],
            ["report", "verdicts.jsonl", "--notes", NOTES, "--facts", "facts.jsonl", "-o", "report.html"],
        ]
        for step in steps:
            extractor([str(here / a) if a in ("facts.jsonl", "verdicts.jsonl", "report/", "report.html") else a
                       for a in step])
        verdicts = [json.loads(line) for line in _lines(here / "verdicts.jsonl")]
        pages = sorted(p.stat().st_size for p in (here / "report" / "patients").glob("*.html"))
        results = {
            "patients": len(verdicts),
            "criteria": len(verdicts[0]["criteria"]),
            "notes": len(_lines(Path(NOTES))),
            "facts": len(_lines(here / "facts.jsonl")),
            "index_bytes": (here / "report" / "index.html").stat().st_size,
            "patient_page_bytes": {"min": pages[0], "max": pages[-1], "count": len(pages)},
            "single_file_bytes": (here / "report.html").stat().st_size,
        }
    return Measurement([shown(step) for step in steps], results)


def render_report_size(figure: Figure) -> str:
    """One sentence: the archive's index and patient pages against the single file."""
    r = figure["results"]
    pages = r["patient_page_bytes"]
    lines = [
        f"On the dev corpus ({r['patients']} patients, {r['criteria']} criteria, {r['notes']} notes, "
        f"{thousands(r['facts'])} facts) the index is {r['index_bytes'] / 1000:.0f} KB and a patient page "
        f"{pages['min'] / 1000:.0f}-{pages['max'] / 1000:.0f} KB, where the single file is "
        f"{r['single_file_bytes'] / 1e6:.1f} MB.",
    ]
    return with_provenance(lines, figure)


def measure_vocabulary_size(options: Options) -> Measurement:
    """``extractor concepts count``: what each vocabulary file of ``patterns/`` holds."""
    args = ["concepts", "count", "--json"]
    rows = [json.loads(line) for line in extractor(args).splitlines() if line.strip()]
    return Measurement([shown(args)], {"files": rows})


def render_vocabulary_size(figure: Figure) -> str:
    """The concept count, then a row per file: concepts, written names, token patterns, coded concepts."""
    files = figure["results"]["files"]
    vocabularies = [f for f in files if f["file"] != "drug_classes.yaml"]
    classes = next(f for f in files if f["file"] == "drug_classes.yaml")
    lines = [
        f"{thousands(sum(f['concepts'] for f in vocabularies))} concepts in {len(vocabularies)} files, "
        f"with {thousands(sum(f['names'] for f in vocabularies))} written names, and {classes['concepts']} drug "
        f"classes naming {classes['names']} members:",
        "",
        *table(
            ("file", "concepts", "names", "token patterns", "with a code"),
            [(f"`{f['file']}`", thousands(f["concepts"]), thousands(f["names"]), thousands(f["token_patterns"]),
              thousands(f["coded"])) for f in files],
            ("---", "---:", "---:", "---:", "---:"),
        ),
    ]
    return with_provenance(lines, figure)


TARGETS = (Target("vocabulary_size", "size", True, "extractor concepts count: each vocabulary file's size",
                  measure_vocabulary_size),
           Target("report_size", "size", True, "the reviewer report of the dev corpus: archive pages and single file",
                  measure_report_size),)
BLOCKS = (Block("report_size", ("report_size",), render_report_size),
          Block("vocabulary_size", ("vocabulary_size",), render_vocabulary_size))
