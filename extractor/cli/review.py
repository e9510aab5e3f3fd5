"""``extractor review`` (the local review app) and ``extractor export-reviews`` (its decisions as JSONL)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from extractor.cli.extract import err

StoreArg = Annotated[
    Path, typer.Option("--store", exists=True, dir_okay=False, help="the DuckDB store of `extractor batch`")
]


def review(
    store: StoreArg,
    host: Annotated[str, typer.Option(help="address to bind; keep 127.0.0.1 unless behind an authenticating proxy")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8766,
    trial: Annotated[str | None, typer.Option("--trial", help="only this trial's verdicts")] = None,
) -> None:
    """Serve the report as a web app where a named reviewer marks verdicts and facts correct or wrong."""
    import uvicorn

    from extractor.report.app import create_app

    err.print(f"review app on http://{host}:{port}/ (Ctrl-C to stop)")
    uvicorn.run(create_app(store, trial), host=host, port=port, log_level="warning")


def export_reviews(
    store: StoreArg,
    output: Annotated[Path, typer.Option("-o", "--output", dir_okay=False, help="reviews .jsonl to write")] = Path(
        "reviews.jsonl"
    ),
) -> None:
    """Every reviewer decision, oldest first, one JSON line each (gold for `evaluate screen --reviews`)."""
    from extractor.report import reviews
    from extractor.store import Store, StoreError

    try:
        with Store.open(store, read_only=True) as opened:
            count = reviews.export(opened, output)
    except StoreError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    err.print(f"{output}: {count} decisions")
