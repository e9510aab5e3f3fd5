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
from extractor.store import MEMORY_LIMIT_MB

MemoryLimit = Annotated[
    float, typer.Option("--memory-limit", min=16.0, help="MiB of memory DuckDB may hold in the main process")
]


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
    store: Annotated[
        Path | None,
        typer.Option(
            "--store", dir_okay=False,
            help="DuckDB store (created if missing); with --run-dir, the catalog file of views to write",
        ),
    ] = None,
    run_dir: Annotated[
        str | None,
        typer.Option(
            "--run-dir",
            help="write a sharded run here instead (a path or fsspec URL every worker can reach): "
            "workers write Parquet, the main process only schedules",
        ),
    ] = None,
    shard_mb: Annotated[
        float, typer.Option("--shard-mb", min=0.0001, help="with --run-dir: MB of input per extraction task")
    ] = 8.0,
    partitions: Annotated[
        int | None,
        typer.Option(
            "--partitions", min=1, max=256,
            help="with --run-dir: screening tasks (patient hash ranges); default one per 4 shards, at most 64",
        ),
    ] = None,
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
        typer.Option(
            "--worker-memory", min=1.0,
            help="MB of resident memory a worker should peak under: renewed when its next task would pass it",
        ),
    ] = WORKER_MEMORY_MB,
    max_chars: Annotated[int, typer.Option("--max-chars", min=1, help="longer notes fail alone")] = 1_000_000,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="seconds per note before it fails")] = 120.0,
    log_every: Annotated[
        float, typer.Option("--log-every", min=0.01, help="seconds between progress lines when not on a terminal")
    ] = 30.0,
    memory_limit: MemoryLimit = MEMORY_LIMIT_MB,
    allow_failures: AllowFailuresOption = False,
    max_failures: MaxFailuresOption = 0,
) -> None:
    """Extract every new or changed note into the store and screen the patients whose notes changed.

    Rerun the same command after a kill to resume: no note is lost or processed twice.
    """
    if store is None and run_dir is None:
        raise typer.BadParameter("give --store (one DuckDB file) or --run-dir (a sharded run)")
    if run_dir is not None:
        from extractor.batch.shards import input_kind

        try:
            input_kind(str(source))
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    if source.is_file() and source.suffix.lower() == ".txt":
        raise typer.BadParameter(
            "one .txt note: use `extractor extract`; for many, a directory of .txt files with a manifest"
        )
    from extractor.batch import Limits, WorkersUnavailable, run_batch
    from extractor.batch.progress import reporter_for
    from extractor.errors import ResourceError
    from extractor.store import StoreError

    options = {
        "workers": workers,
        "dask": dask,
        "worker_memory_mb": worker_memory,
        "limits": Limits(max_chars=max_chars, seconds=timeout),
        "screening_date": screening_date.date() if screening_date else None,
        "reporter": reporter_for(err, log_every),
        "memory_mb": memory_limit,
    }
    try:
        if run_dir is not None:
            from extractor.batch.sharded import run_sharded

            summary = run_sharded(
                source, run_dir, trial, catalog=store, shard_mb=shard_mb, screen_partitions=partitions, **options
            )
            store = store or Path(run_dir) / "results.duckdb"
        else:
            summary = run_batch(source, store, trial, batch_size=batch_size, **options)
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
    say(summary.memory_line())
    for message in summary.errors:
        say(f"  {message}")
    if summary.error_count > len(summary.errors):
        more = summary.error_count - len(summary.errors)
        say(f"  ... {more} more: SELECT * FROM errors WHERE run_id = {summary.run_id}")
    faults = summary.failed + summary.rejected + summary.screen_failed
    if faults > max_failures and not allow_failures:
        say(f"exit {EXIT_NOTES_FAILED}: {faults} note(s) or patient(s) rejected or failed (allowed: {max_failures})")
        raise typer.Exit(EXIT_NOTES_FAILED)


def attach(
    run_dir: Annotated[str, typer.Argument(help="a sharded run's directory (path or fsspec URL)")],
    store: Annotated[Path, typer.Option("--store", dir_okay=False, help="the catalog file to (re)write")],
    memory_limit: MemoryLimit = MEMORY_LIMIT_MB,
) -> None:
    """Write a DuckDB file whose views show a sharded run as the store's tables (for export, report, review)."""
    from extractor.batch.dataset import RunDir
    from extractor.batch.views import attach as attach_run
    from extractor.store import StoreError

    try:
        attach_run(RunDir(run_dir), store, memory_limit)
    except StoreError as exc:
        say(str(exc))
        raise typer.Exit(EXIT_UNUSABLE) from None
    say(f"{store}: views over {run_dir}")


def compact(
    run_dir: Annotated[str, typer.Argument(help="a sharded run's directory (path or fsspec URL)")],
    output: Annotated[Path, typer.Option("-o", "--output", dir_okay=False, help="the new single-file store")],
    memory_limit: MemoryLimit = MEMORY_LIMIT_MB,
) -> None:
    """Merge a sharded run into one DuckDB store file (which later `batch --store` runs update)."""
    from extractor.batch.dataset import RunDir
    from extractor.batch.views import compact as compact_run
    from extractor.store import StoreError

    try:
        copied = compact_run(RunDir(run_dir), output, memory_limit)
    except StoreError as exc:
        say(str(exc))
        raise typer.Exit(EXIT_UNUSABLE) from None
    say(f"{output}: " + ", ".join(f"{table} {rows}" for table, rows in copied.items()))
