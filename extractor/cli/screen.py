"""``extractor screen``: notes in, one CONTRACT verdict line per patient out, a run summary."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import typer

from extractor.cli.extract import err, print_summary
from extractor.notes import Note, ReadReport, read_notes
from extractor.screening import TrialError, load_trial
from extractor.screening import screen as screen_notes


def _counted(notes: Iterable[Note], seen: list[int]) -> Iterator[Note]:
    for note in notes:
        seen[0] += 1
        yield note


def screen(
    notes: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CONTRACT notes .jsonl")],
    trial: Annotated[
        str, typer.Option("--trial", help="bundled trial id (see `extractor trials`) or a trial YAML path")
    ],
    screening_date: Annotated[
        dt.datetime | None,
        typer.Option("--screening-date", formats=["%Y-%m-%d"], help="default: each patient's latest note date"),
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="verdicts .jsonl (default stdout)")] = None,
) -> None:
    """Screen every patient against a trial: one JSON verdict per patient, every criterion."""
    from extractor import load

    try:
        chosen = load_trial(trial)
    except TrialError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    report = ReadReport()
    processed = [0]
    patients = 0
    day = screening_date.date() if screening_date else None
    handle = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        for verdict in screen_notes(_counted(read_notes(notes, report), processed), chosen, day, load()):
            handle.write(json.dumps(verdict.to_contract_dict(), ensure_ascii=False) + "\n")
            patients += 1
    finally:
        if output:
            handle.close()
    print_summary(report, processed[0], f"patients: {patients}  trial: {chosen.name}")
