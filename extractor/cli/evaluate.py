"""``extractor evaluate``: accuracy against gold facts, gold verdicts or an assertion test set.

Each command reads its gold strictly (a fault stops the run with the file and line,
exit code 2), runs the pipeline unless given predictions to score, and writes one
report as terminal tables, JSON or Markdown.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from extractor.cli.extract import AssertionMode, AssertionOption, load_pipeline
from extractor.cli.runs import print_summary
from extractor.errors import ResourceError
from extractor.evaluation.assertion import evaluate_assertion, read_tsv
from extractor.evaluation.errors import GoldError
from extractor.evaluation.facts import evaluate_facts, predict_facts, read_predicted_facts, read_scope
from extractor.evaluation.gold import read_gold_dir, read_split
from extractor.evaluation.report import OutputFormat, Report, render
from extractor.evaluation.screen import (
    check_gold_evidence,
    evaluate_screen,
    gold_from_reviews,
    predict_verdicts,
    read_verdicts,
)
from extractor.notes import ReadReport, read_jsonl

app = typer.Typer(
    help="Measure accuracy against gold material.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals hold note text: patient data
)

err = Console(stderr=True, soft_wrap=True)  # one message, one line, terminal or not

FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", case_sensitive=False, help="table (terminal), json or markdown"),
]
MaxErrors = Annotated[int, typer.Option("--max-errors", min=0, help="how many errors to list (0: none)")]


class Split(str, Enum):
    """A manifest split: rules are tuned on dev; test only measures."""

    DEV = "dev"
    TEST = "test"


@contextmanager
def _bad_input() -> Iterator[None]:
    """Malformed gold, predictions, rules or trial: say where, exit 2, no traceback."""
    try:
        yield
    except (GoldError, ResourceError) as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _emit(report: Report, output_format: OutputFormat) -> None:
    render(report, output_format, Console())


@app.command("facts")
def facts_command(
    gold: Annotated[
        Path,
        typer.Option(exists=True, file_okay=False, help="brat gold: DIR/notes/*.txt+.ann, DIR/patients/*.yaml"),
    ],
    predicted: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="facts .jsonl to score (default: run)"),
    ] = None,
    output_format: FormatOption = OutputFormat.TABLE,
    max_errors: MaxErrors = 50,
    assertion: AssertionOption = AssertionMode.RULES,
    patients: Annotated[
        str | None, typer.Option(help="comma-separated patient ids: score only their notes (a held-back split)")
    ] = None,
    split: Annotated[
        Split | None, typer.Option(help="score one split of the gold's manifest.yaml (corpora/mtsamples)")
    ] = None,
    score_all: Annotated[
        bool,
        typer.Option(help="score every fact, also those of concepts outside the gold's scope (GUIDELINES.md)"),
    ] = False,
) -> None:
    """P/R/F1 per kind (exact and overlapping spans), attribute accuracy, errors to read."""
    with _bad_input():
        gold_notes = read_gold_dir(gold, read_split(gold, split.value) if split else None)
        if patients:
            wanted = {p.strip() for p in patients.split(",") if p.strip()}
            gold_notes = [note for note in gold_notes if note.patient_id in wanted]
        if predicted is not None:
            facts = read_predicted_facts(predicted)
        else:
            facts = predict_facts(gold_notes, load_pipeline(assertion))
    scope = None if score_all else read_scope(gold)
    _emit(evaluate_facts(gold_notes, facts, scope).to_report(max_errors), output_format)


@app.command("screen")
def screen_command(
    notes: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="the notes .jsonl (CONTRACT)")],
    gold: Annotated[
        Path | None,
        typer.Option(exists=True, help="gold verdicts: a CONTRACT .jsonl, or a directory of one-patient .json"),
    ] = None,
    reviews: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="reviewer decisions as gold (`extractor export-reviews`)"),
    ] = None,
    predicted: Annotated[
        Path | None,
        typer.Option(exists=True, help="verdicts to score, same layouts as --gold (default: run screening)"),
    ] = None,
    trial: Annotated[str | None, typer.Option(help="score only this trial's verdicts")] = None,
    output_format: FormatOption = OutputFormat.TABLE,
    max_errors: MaxErrors = 50,
) -> None:
    """Criterion accuracy and confusion, overall-verdict accuracy, evidence overlap, span check.

    With ``--reviews`` the gold is what reviewers decided: criterion statuses only.
    """
    if (gold is None) == (reviews is None):
        err.print("give exactly one of --gold and --reviews")
        raise typer.Exit(2)
    read_report = ReadReport()
    with _bad_input():
        gold_lines = read_verdicts(gold, trial) if gold is not None else gold_from_reviews(reviews, trial)
        note_list = list(read_jsonl(notes, read_report))
        texts = {note.note_id: note.text for note in note_list}
        check_gold_evidence(gold_lines, texts)
        verdicts = [verdict for _, verdict in gold_lines]
        if predicted is not None:
            predicted_lines = [verdict for _, verdict in read_verdicts(predicted, trial)]
        else:
            import extractor

            predicted_lines = predict_verdicts(verdicts, note_list, extractor.load())
    if read_report.rejected or read_report.warnings:
        print_summary(read_report, len(note_list))
    _emit(evaluate_screen(verdicts, predicted_lines, texts).to_report(max_errors), output_format)


@app.command("cases")
def cases_command(
    cases: Annotated[
        Path,
        typer.Option(exists=True, file_okay=False, help="a directory of phrase-case files (tests/regression/cases)"),
    ],
    output_format: FormatOption = OutputFormat.TABLE,
) -> None:
    """Phrase cases passed per file: each file an area or one of issue 14's error classes."""
    from extractor.evaluation.cases import evaluate_cases

    with _bad_input():
        import extractor

        report = evaluate_cases(cases, extractor.load())
    _emit(report, output_format)


@app.command("assertion")
def assertion_command(
    tsv: Annotated[
        Path,
        typer.Option(exists=True, dir_okay=False, help="tab-separated NegEx/ConText-style test set"),
    ],
    output_format: FormatOption = OutputFormat.TABLE,
    max_errors: MaxErrors = 50,
    assertion: AssertionOption = AssertionMode.RULES,
) -> None:
    """Negation, temporality and experiencer against a test set; mentions not found."""
    import extractor

    with _bad_input():
        cases = read_tsv(tsv)
    nlp = load_pipeline(assertion)
    result = evaluate_assertion(cases, lambda text, start, end: extractor.assert_mention(text, start, end, nlp=nlp))
    _emit(result.to_report(max_errors), output_format)
