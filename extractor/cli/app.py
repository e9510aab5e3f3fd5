"""The ``extractor`` command: one typer app, one module per command, thin over the API."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from extractor.cli import (
    assertion,
    batch,
    concepts,
    evaluate,
    export,
    extract,
    package,
    report,
    review,
    screen,
    serve,
    trial,
    trials,
)

app = typer.Typer(
    name="extractor",
    help="Clinical-note NLP for trial pre-screening.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals hold note text: patient data
    add_completion=False,
)


def _print_version(wanted: bool) -> None:
    if wanted:
        try:
            number = version("extractor")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "unknown (not installed)"
        typer.echo(f"extractor {number}")
        raise typer.Exit


@app.callback()
def options(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """Clinical-note NLP for trial pre-screening."""


app.command("extract")(extract.extract)
app.command("assert")(assertion.assert_command)
app.command("package")(package.package)
app.command("serve")(serve.serve)
app.command("screen")(screen.screen)
app.command("trials")(trials.trials)
app.command("batch")(batch.batch)
app.command("attach")(batch.attach)
app.command("compact")(batch.compact)
app.command("export")(export.export)
app.command("report")(report.report)
app.add_typer(review.app, name="review")
app.command("export-reviews")(review.export_reviews)
app.add_typer(evaluate.app, name="evaluate")
app.add_typer(concepts.app, name="concepts")
app.add_typer(trial.app, name="trial")


def main() -> None:
    """Console-script entry point."""
    app()
