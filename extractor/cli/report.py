"""``extractor report``: verdicts, notes and facts as HTML for reviewers: one file, or an archive directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError

from extractor.cli.extract import err
from extractor.cli.runs import say


def report(
    verdicts: Annotated[
        Path | None, typer.Argument(exists=True, dir_okay=False, help="CONTRACT verdicts .jsonl (or use --store)")
    ] = None,
    notes: Annotated[
        Path | None, typer.Option("--notes", exists=True, dir_okay=False, help="the notes .jsonl the verdicts cite")
    ] = None,
    facts: Annotated[
        Path | None,
        typer.Option("--facts", exists=True, dir_okay=False, help="facts .jsonl from `extractor extract` (optional)"),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option("--store", exists=True, dir_okay=False, help="read verdicts, notes and facts from a batch store"),
    ] = None,
    trial: Annotated[str | None, typer.Option("--trial", help="only this trial's verdicts")] = None,
    trial_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--trial-file", exists=True, dir_okay=False, help="a trial YAML screened from a file: its criteria's words"
        ),
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output", dir_okay=False, help="the HTML file to write")] = Path(
        "report.html"
    ),
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir", file_okay=False, help="write an archive instead: index, paged lists, one page per patient"
        ),
    ] = None,
    page_size: Annotated[int, typer.Option("--page-size", min=1, help="patients per list page (--out-dir)")] = 50,
) -> None:
    """Patient list, criteria with their evidence, notes with every cited span highlighted."""
    from extractor.report import build_views, material_from_files, material_from_store, write_archive, write_report
    from extractor.store import Store, StoreError

    if (store is None) == (verdicts is None) or (verdicts is not None and notes is None):
        err.print("give either VERDICTS with --notes, or --store")
        raise typer.Exit(2)
    try:
        if store is not None:
            with Store.open(store, read_only=True) as opened:
                material = material_from_store(opened, trial)
        else:
            material = material_from_files(verdicts, notes, facts, trial)
        problem = first_verdict_problem(material.verdicts)
        if problem is not None:
            say(problem)
            raise typer.Exit(2)
        patients = build_views(material, trial_file or ())
    except StoreError as exc:
        say(str(exc))
        raise typer.Exit(2) from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
        # the message names the problem only: the record may hold note text
        say(f"cannot read the verdicts or facts: {type(exc).__name__}. Check them against CONTRACT.md.")
        raise typer.Exit(2) from None
    if out_dir is not None:
        written = write_archive(patients, out_dir, page_size)
        err.print(f"{out_dir}: {len(patients)} patients, {written} pages (open index.html)")
        return
    write_report(patients, output)
    err.print(f"{output}: {len(patients)} patients")


class _Cited(BaseModel):
    model_config = ConfigDict(extra="allow")
    note_id: StrictStr
    start: StrictInt
    end: StrictInt
    text: StrictStr


class _Judged(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: StrictStr
    status: StrictStr
    evidence: list[_Cited]


class _VerdictShape(BaseModel):
    """What the report reads of a CONTRACT verdict, with the types it needs (no coercion)."""

    model_config = ConfigDict(extra="allow")
    patient_id: StrictStr
    criteria: list[_Judged]


def first_verdict_problem(verdicts: list[dict[str, object]]) -> str | None:
    """The first verdict that does not have the CONTRACT's shape, named by its place and
    field (never its values: evidence text is note text), or None."""
    for number, verdict in enumerate(verdicts, start=1):
        try:
            _VerdictShape.model_validate(verdict)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "verdict"
            return (
                f"[E031] verdict {number}: {where}: {error['msg']}. "
                "Verdicts must have the CONTRACT.md shape (evidence start and end are whole numbers)."
            )
    return None
