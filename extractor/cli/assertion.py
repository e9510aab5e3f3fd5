"""``extractor assert``: the context of a mention found by another tool, given its span."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def assert_command(
    text: Annotated[str, typer.Argument(help="the sentence or note text")],
    start: Annotated[int, typer.Option("--start", min=0, help="mention start (str index)")],
    end: Annotated[int, typer.Option("--end", min=0, help="mention end (exclusive)")],
) -> None:
    """Print negation, certainty, temporality and experiencer of text[start:end] as JSON."""
    from extractor import assert_mention

    try:
        result = assert_mention(text, start, end)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(json.dumps(result, ensure_ascii=False))
