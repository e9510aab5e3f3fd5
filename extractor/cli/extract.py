"""``extractor extract``: notes in (JSONL or one .txt), one fact a line out, a run summary."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from extractor.cli.runs import AllowFailuresOption, MaxFailuresOption, finish, print_summary
from extractor.cli.runs import err as err  # report and review print through it
from extractor.modes import AssertionMode
from extractor.notes import STDIN, ReadReport, read_numbered


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


def _existing_or_stdin(path: Path) -> Path:
    """A readable file, or ``-`` for standard input (click's own check refuses the dash)."""
    if str(path) != STDIN and not path.is_file():
        raise typer.BadParameter(f"file {str(path)!r} does not exist (or is not a file)")
    return path


NotesArgument = Annotated[
    Path,
    typer.Argument(callback=_existing_or_stdin, help="CONTRACT .jsonl, one .txt note, or - (stdin)"),
]


def extract(
    notes: NotesArgument,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="facts .jsonl (default stdout)")] = None,
    n_process: Annotated[int, typer.Option("--n-process", min=1, help="worker processes")] = 1,
    assertion: AssertionOption = AssertionMode.RULES,
    allow_failures: AllowFailuresOption = False,
    max_failures: MaxFailuresOption = 0,
) -> None:
    """Extract facts from notes: one JSON fact per line, with exact evidence offsets.

    A note that cannot be read or processed is reported (line, note id, reason) and
    skipped; the exit code is 1 when any was, unless --allow-failures / --max-failures.
    """
    from extractor.isolation import extract_isolated

    report = ReadReport()
    nlp = load_pipeline(assertion)
    handle = output.open("w", encoding="utf-8") if output else sys.stdout
    processed = facts_written = 0
    try:
        numbered = read_numbered(notes, report)
        load = functools.partial(load_pipeline, assertion)
        for _note, facts in extract_isolated(numbered, nlp, report, n_process=n_process, load=load):
            processed += 1
            for fact in facts:
                handle.write(json.dumps(fact.to_json_dict(), ensure_ascii=False) + "\n")
                facts_written += 1
    finally:
        if output:
            handle.close()
    print_summary(report, processed, f"facts: {facts_written}")
    finish(report, allow_failures, max_failures)
