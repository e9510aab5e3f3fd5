"""One result model for every evaluation, rendered as a rich table, JSON or Markdown.

Each evaluation turns its result into a ``Report``: a flat dict of named metrics (the
names the regression floors use) and a few tables. The three renderers read only this
model, so the terminal, the JSON and the Markdown always show the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text


class OutputFormat(StrEnum):
    """How ``extractor evaluate`` writes its report."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


@dataclass(frozen=True)
class Column:
    """A table column: the row key it shows, its header, and ``ratio`` for 0-1 scores."""

    key: str
    header: str
    ratio: bool = False


@dataclass(frozen=True)
class Table:
    """Rows are dicts keyed by column key; ``caption`` says what the table leaves out."""

    title: str
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, Any], ...]
    caption: str = ""


@dataclass(frozen=True)
class Report:
    """What an evaluation found: headline lines, named metrics, tables."""

    title: str
    metrics: Mapping[str, float | int | None]
    tables: tuple[Table, ...] = ()
    lines: tuple[str, ...] = field(default=())


def format_cell(value: Any, column: Column) -> str:
    """Ratios to three decimals, undefined scores as '-', everything else as text."""
    if value is None:
        return "-"
    if column.ratio and isinstance(value, int | float):
        return f"{value:.3f}"
    return str(value)


def to_json(report: Report) -> str:
    """The report as JSON: metrics unrounded, tables as lists of row objects."""
    payload = {
        "title": report.title,
        "lines": list(report.lines),
        "metrics": dict(report.metrics),
        "tables": [
            {
                "title": table.title,
                "caption": table.caption,
                "columns": [column.key for column in table.columns],
                "rows": [{column.key: _plain(row.get(column.key)) for column in table.columns} for row in table.rows],
            }
            for table in report.tables
        ],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def _numeric(table: Table, column: Column) -> bool:
    """Right-align ratios, and columns whose every value is a number."""
    values = [row.get(column.key) for row in table.rows]
    return column.ratio or (bool(values) and all(isinstance(v, int | float) for v in values))


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | float) else str(value)


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    """The report as GitHub-flavoured Markdown: a heading, the lines, one table each."""
    out = [f"# {report.title}", ""]
    out += [f"- {line}" for line in report.lines]
    for table in report.tables:
        out += ["", f"## {table.title}", ""]
        out.append("| " + " | ".join(_markdown_cell(c.header) for c in table.columns) + " |")
        out.append("|" + "|".join("---:" if _numeric(table, c) else "---" for c in table.columns) + "|")
        for row in table.rows:
            cells = (_markdown_cell(format_cell(row.get(c.key), c)) for c in table.columns)
            out.append("| " + " | ".join(cells) + " |")
        if table.caption or not table.rows:
            out += ["", f"_{table.caption or 'none'}_"]
    return "\n".join(out) + "\n"


def print_rich(report: Report, console: Console) -> None:
    """The report as terminal tables."""
    console.print(Text(report.title, style="bold"))
    for line in report.lines:
        console.print(Text(line))
    for table in report.tables:
        console.print(_rich_table(table))


def _rich_table(table: Table) -> RichTable:
    rich_table = RichTable(
        title=Text(table.title, style="bold"),
        caption=Text(table.caption or ("none" if not table.rows else "")) or None,
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    for column in table.columns:
        justify = "right" if _numeric(table, column) else "left"
        rich_table.add_column(Text(column.header), justify=justify, overflow="fold")
    for row in table.rows:
        rich_table.add_row(*(Text(format_cell(row.get(c.key), c)) for c in table.columns))
    return rich_table


def render(report: Report, output_format: OutputFormat, console: Console) -> None:
    """Write the report to ``console`` in the chosen format."""
    if output_format is OutputFormat.TABLE:
        print_rich(report, console)
        return
    text = to_json(report) if output_format is OutputFormat.JSON else to_markdown(report)
    console.out(text, end="", highlight=False)


def ratio_columns(*keys: str) -> tuple[Column, ...]:
    """Columns for scores whose key and header are the same word."""
    return tuple(Column(key, key.replace("_", " "), ratio=True) for key in keys)


def limited(rows: Sequence[Mapping[str, Any]], limit: int, what: str) -> tuple[tuple[Mapping[str, Any], ...], str]:
    """The first ``limit`` rows, with a caption saying how many were left out."""
    shown = tuple(rows[:limit])
    caption = f"showing {len(shown)} of {len(rows)} {what}" if len(rows) > len(shown) else ""
    return shown, caption
