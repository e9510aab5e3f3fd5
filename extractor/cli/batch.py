"""``extractor batch``: a whole archive into a DuckDB store, resumable, in parallel, then screened."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from extractor.batch.executors import WORKER_MEMORY_MB
from extractor.cli.runs import (
    EXIT_INTERRUPTED,
    EXIT_NOTES_FAILED,
    EXIT_UNUSABLE,
    AllowFailuresOption,
    MaxFailuresOption,
    err,
    say,
)


def batch(
    source: Annotated[
        Path,
        typer.Argument(
            exists=True,
            help="notes: JSONL, CSV or Parquet (CONTRACT fields), or a directory of .txt files "
            "with manifest.csv / manifest.jsonl (file, patient_id, note_id, date)",
        ),
    ],
    trial: Annotated[str, typer.Option("--trial", help="bundled trial id, or a trial YAML file")],
    store: Annotated[Path, typer.Option("--store", dir_okay=False, help="DuckDB store (created if missing)")],
    workers: Annotated[int, typer.Option("--workers", min=0, help="worker processes (0: this process)")] = 1,
    dask: Annotated[
        str | None,
        typer.Option("--dask", help="'local' (a LocalCluster of --workers processes) or tcp://scheduler:8786"),
    ] = None,
    screening_date: Annotated[
        dt.datetime | None,
        typer.Option("--screening-date", formats=["%Y-%m-%d"], help="default: each patient's latest note"),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="notes per task")] = 16,
    worker_memory: Annotated[
        float,
        typer.Option("--worker-memory", min=1.0, help="MB of resident memory past which local workers are renewed"),
    ] = WORKER_MEMORY_MB,
    max_chars: Annotated[int, typer.Option("--max-chars", min=1, help="longer notes fail alone")] = 1_000_000,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="seconds per note before it fails")] = 120.0,
    log_every: Annotated[
        float, typer.Option("--log-every", min=0.01, help="seconds between progress lines when not on a terminal")
    ] = 30.0,
    allow_failures: AllowFailuresOption = False,
    max_failures: MaxFailuresOption = 0,
) -> None:
    """Extract every new or changed note into the store and screen the patients whose notes changed.

    Rerun the same command after a kill to resume: no note is lost or processed twice.
    """
    if source.is_file() and source.suffix.lower() == ".txt":
        raise typer.BadParameter(
            "one .txt note: use `extractor extract`; for many, a directory of .txt files with a manifest"
        )
    from extractor.batch import Limits, WorkersUnavailable, run_batch
    from extractor.batch.progress import reporter_for
    from extractor.errors import ResourceError
    from extractor.store import StoreError

    try:
        summary = run_batch(
            source,
            store,
            trial,
            workers=workers,
            dask=dask,
            batch_size=batch_size,
            worker_memory_mb=worker_memory,
            limits=Limits(max_chars=max_chars, seconds=timeout),
            screening_date=screening_date.date() if screening_date else None,
            reporter=reporter_for(err, log_every),
        )
    except (StoreError, ResourceError) as exc:
        say(str(exc))
        raise typer.Exit(EXIT_UNUSABLE) from None
    except WorkersUnavailable as exc:
        say(str(exc))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        say("interrupted: what was written is kept; rerun the same command to resume")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    resumed = f" (resumed, attempt {summary.attempts})" if summary.resumed else ""
    say(f"run {summary.run_id}{resumed} finished in {summary.seconds:.1f} s; store {store}")
    say(summary.line())
    for message in summary.errors:
        say(f"  {message}")
    if summary.error_count > len(summary.errors):
        more = summary.error_count - len(summary.errors)
        say(f"  ... {more} more: SELECT * FROM errors WHERE run_id = {summary.run_id}")
    faults = summary.failed + summary.rejected + summary.screen_failed
    if faults > max_failures and not allow_failures:
        say(f"exit {EXIT_NOTES_FAILED}: {faults} note(s) or patient(s) rejected or failed (allowed: {max_failures})")
        raise typer.Exit(EXIT_NOTES_FAILED)
