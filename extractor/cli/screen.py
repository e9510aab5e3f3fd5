"""``extractor screen``: notes in, one CONTRACT verdict line per patient out, a run summary."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from extractor.cli.extract import NotesArgument
from extractor.cli.runs import EXIT_UNUSABLE, AllowFailuresOption, MaxFailuresOption, finish, print_summary, say
from extractor.errors import Errors
from extractor.facts import Fact
from extractor.notes import EARLIEST_DATE, LATEST_DATE, Note, ReadReport, read_numbered
from extractor.screening import TrialError, load_trial, screen_patient


def screen(
    notes: NotesArgument,
    trial: Annotated[
        str, typer.Option("--trial", help="bundled trial id (see `extractor trials`) or a trial YAML path")
    ],
    screening_date: Annotated[
        dt.datetime | None,
        typer.Option(
            "--screening-date", formats=["%Y-%m-%d"],
            help="default: each patient's latest note date that is not after today",
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="verdicts .jsonl (default stdout)")] = None,
    allow_failures: AllowFailuresOption = False,
    max_failures: MaxFailuresOption = 0,
) -> None:
    """Screen every patient against a trial: one JSON verdict per patient, every criterion.

    Notes dated after the screening date are not read; each verdict names them and the
    summary counts them. A note that cannot be read or processed is reported and skipped.
    """
    from extractor import load
    from extractor.isolation import extract_isolated, where

    try:
        chosen = load_trial(trial)
    except TrialError as exc:
        say(str(exc))
        raise typer.Exit(EXIT_UNUSABLE) from exc
    day = screening_date.date() if screening_date else None
    if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
        raise typer.BadParameter(f"give a date from {EARLIEST_DATE} to {LATEST_DATE}", param_hint="--screening-date")
    report = ReadReport()
    by_patient: dict[str, tuple[list[Note], list[Fact]]] = {}
    processed = 0
    for note, facts in extract_isolated(read_numbered(notes, report), load(), report):
        processed += 1
        own_notes, own_facts = by_patient.setdefault(note.patient_id, ([], []))
        own_notes.append(note)
        own_facts.extend(facts)
    unread = 0
    handle = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        for patient_id, (own_notes, own_facts) in by_patient.items():
            try:
                verdict = screen_patient(own_notes, own_facts, chosen, day)
            except Exception as exc:  # one patient's fault must not stop the others
                reason = f"{type(exc).__name__} at {where(exc)}"
                report.failed.append((0, Errors.E032.format(patient_id=patient_id, reason=reason)))
                continue
            unread += len(verdict.notes_after_screening_date)
            handle.write(json.dumps(verdict.to_contract_dict(), ensure_ascii=False) + "\n")
    finally:
        if output:
            handle.close()
    print_summary(
        report, processed,
        f"patients: {len(by_patient)}  notes after the screening date (not read): {unread}  trial: {chosen.name}",
    )
    finish(report, allow_failures, max_failures)
