"""``extractor export``: a batch store's facts and verdicts as Parquet, JSON Lines or FHIR."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from extractor.batch.export import ExportFormat
from extractor.cli.batch import say


def export(
    store: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="the DuckDB store of `extractor batch`, or a sharded run's catalog"
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", file_okay=False, help="directory to write into")],
    export_format: Annotated[
        ExportFormat, typer.Option("--format", case_sensitive=False, help="parquet (a file per table), jsonl, fhir")
    ] = ExportFormat.JSONL,
    trial: Annotated[str | None, typer.Option("--trial", help="only this trial's verdicts")] = None,
    with_text: Annotated[bool, typer.Option("--with-text", help="include note text in the notes table")] = False,
) -> None:
    """Write the store's tables: facts (as `extract` writes them), CONTRACT verdicts, notes, errors."""
    from extractor.batch import export_store
    from extractor.store import StoreError

    try:
        written = export_store(store, output, export_format, trial, with_text)
    except StoreError as exc:
        say(str(exc))
        raise typer.Exit(2) from None
    for name, rows in written.items():
        say(f"{output / name}: {rows} rows")
