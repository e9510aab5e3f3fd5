"""The three renderers show the same numbers from one report model."""

from __future__ import annotations

import io
import json

from rich.console import Console

from extractor.evaluation.report import (
    Column,
    OutputFormat,
    Report,
    Table,
    limited,
    render,
    to_json,
    to_markdown,
)

REPORT = Report(
    title="Facts against brat gold",
    metrics={"overlap.all.f1": 2 / 3, "exact.all.precision": None, "notes": 3},
    lines=("3 notes",),
    tables=(
        Table(
            "Spans per kind",
            (Column("kind", "kind"), Column("gold", "gold"), Column("f1", "f1", ratio=True)),
            (
                {"kind": "lab", "gold": 2, "f1": 2 / 3},
                {"kind": "a|b [bold]x[/bold]", "gold": 0, "f1": None},
            ),
            caption="showing 2 of 9 errors",
        ),
    ),
)


def test_json_keeps_metrics_unrounded_and_rows_keyed_by_column() -> None:
    payload = json.loads(to_json(REPORT))
    assert payload["metrics"] == {"overlap.all.f1": 2 / 3, "exact.all.precision": None, "notes": 3}
    (table,) = payload["tables"]
    assert table["columns"] == ["kind", "gold", "f1"]
    assert table["rows"][1] == {"kind": "a|b [bold]x[/bold]", "gold": 0, "f1": None}
    assert table["caption"] == "showing 2 of 9 errors"


def test_markdown_formats_ratios_escapes_pipes_and_shows_undefined_as_dash() -> None:
    text = to_markdown(REPORT)
    assert "| kind | gold | f1 |\n|---|---:|---:|\n| lab | 2 | 0.667 |\n" in text  # numbers right-aligned
    assert "| a\\|b [bold]x[/bold] | 0 | - |" in text
    assert text.startswith("# Facts against brat gold\n\n- 3 notes\n")
    assert "_showing 2 of 9 errors_" in text


def test_terminal_table_prints_cells_literally() -> None:
    buffer = io.StringIO()
    render(REPORT, OutputFormat.TABLE, Console(file=buffer, width=120))
    text = buffer.getvalue()
    assert "0.667" in text
    assert "a|b [bold]x[/bold]" in text  # cell text is not read as rich markup
    assert "showing 2 of 9 errors" in text


def test_render_writes_json_and_markdown_unwrapped() -> None:
    for output_format, expected in ((OutputFormat.JSON, to_json(REPORT)), (OutputFormat.MARKDOWN, to_markdown(REPORT))):
        buffer = io.StringIO()
        render(REPORT, output_format, Console(file=buffer, width=20))
        assert buffer.getvalue().rstrip("\n") == expected.rstrip("\n")


def test_limited_says_how_many_rows_were_left_out() -> None:
    rows = [{"n": i} for i in range(5)]
    assert limited(rows, 3, "errors") == (tuple(rows[:3]), "showing 3 of 5 errors")
    assert limited(rows, 9, "errors") == (tuple(rows), "")


def test_an_empty_table_says_none() -> None:
    empty = Report("r", {}, (Table("Errors", (Column("note_id", "note id"),), ()),))
    assert to_markdown(empty).endswith("## Errors\n\n| note id |\n|---|\n\n_none_\n")
    buffer = io.StringIO()
    render(empty, OutputFormat.TABLE, Console(file=buffer, width=60))
    assert buffer.getvalue().split()[-1] == "none"
