"""The ``extractor`` command: one typer app, one module per command, thin over the API."""

from __future__ import annotations

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
    trials,
)

app = typer.Typer(
    name="extractor",
    help="Clinical-note NLP for trial pre-screening.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals hold note text: patient data
    add_completion=False,
)


app.command("extract")(extract.extract)
app.command("assert")(assertion.assert_command)
app.command("package")(package.package)
app.command("serve")(serve.serve)
app.command("screen")(screen.screen)
app.command("trials")(trials.trials)
app.command("batch")(batch.batch)
app.command("export")(export.export)
app.command("report")(report.report)
app.command("review")(review.review)
app.command("export-reviews")(review.export_reviews)
app.add_typer(evaluate.app, name="evaluate")
app.add_typer(concepts.app, name="concepts")


def main() -> None:
    """Console-script entry point."""
    app()
