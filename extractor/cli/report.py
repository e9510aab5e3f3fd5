"""``extractor report``: verdicts, notes and facts as HTML for reviewers: one file, or an archive directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from extractor.cli.extract import err


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
    except StoreError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        # the message names the problem only: the record may hold note text
        err.print(f"cannot read the verdicts or facts: {type(exc).__name__}")
        raise typer.Exit(2) from None
    patients = build_views(material, trial_file or ())
    if out_dir is not None:
        written = write_archive(patients, out_dir, page_size)
        err.print(f"{out_dir}: {len(patients)} patients, {written} pages (open index.html)")
        return
    write_report(patients, output)
    err.print(f"{output}: {len(patients)} patients")
