"""``extractor extract``: notes in (JSONL or one .txt), one fact a line out, a run summary."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from extractor.modes import AssertionMode
from extractor.notes import ReadReport, read_notes

err = Console(stderr=True)


def load_pipeline(assertion: AssertionMode) -> Any:
    """``extractor.load()``, with the learned assertion stage unless the mode is rules."""
    import extractor

    if assertion is AssertionMode.RULES:
        return extractor.load()
    return extractor.load(assertion=assertion)


AssertionOption = Annotated[
    AssertionMode,
    typer.Option("--assertion", case_sensitive=False, help="rules (ConText), model, or hybrid"),
]


def print_summary(report: ReadReport, processed: int, extra: str = "") -> None:
    """The run summary on stderr: counts, and each rejected line's reason (never note text)."""
    err.print(
        f"notes read: {report.read}  processed: {processed}  rejected: {len(report.rejected)}"
        + (f"  {extra}" if extra else "")
    )
    for _line, message in report.rejected:
        err.print(f"  rejected {message}")
    for _line, message in report.warnings:
        err.print(f"  warning {message}")


def extract(
    notes: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CONTRACT .jsonl or one .txt note")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="facts .jsonl (default stdout)")] = None,
    n_process: Annotated[int, typer.Option("--n-process", min=1, help="worker processes")] = 1,
    assertion: AssertionOption = AssertionMode.RULES,
) -> None:
    """Extract facts from notes: one JSON fact per line, with exact evidence offsets."""
    from extractor import extract_notes

    report = ReadReport()
    nlp = load_pipeline(assertion)
    handle = output.open("w", encoding="utf-8") if output else sys.stdout
    processed = facts_written = 0
    try:
        for note, facts in extract_notes(read_notes(notes, report), nlp, n_process=n_process):
            processed += 1
            for fact in facts:
                handle.write(json.dumps(fact.to_json_dict(), ensure_ascii=False) + "\n")
                facts_written += 1
            del note
    finally:
        if output:
            handle.close()
    print_summary(report, processed, f"facts: {facts_written}")
