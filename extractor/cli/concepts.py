"""``extractor concepts search|show|count``: find the ids a trial's criteria can name; size the vocabulary."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Annotated

import typer

from extractor import vocabulary

app = typer.Typer(help="Find concept, class and lab ids in the vocabulary.", no_args_is_help=True)


class KindFilter(str, Enum):
    condition = "condition"
    infection = "infection"
    medication = "medication"
    lab = "lab"
    vital = "vital"
    score = "score"
    vaccine = "vaccine"
    procedure = "procedure"
    social = "social"
    study = "study"
    drug_class = "class"


@app.command("search")
def search(
    text: Annotated[str, typer.Argument(help="words to look for, e.g. \"heart failure\"")],
    kind: Annotated[KindFilter | None, typer.Option(help="only this kind (or `class` for drug classes)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="at most this many results")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object a line")] = False,
) -> None:
    """Ids whose names match TEXT, best first: id, kind, the name that matched, source file."""
    results = vocabulary.search(text, kind.value if kind else None, limit)
    if not results:
        typer.echo(f"nothing matches {text!r}", err=True)
        raise typer.Exit(1)
    for result in results:
        if as_json:
            typer.echo(json.dumps(dataclasses.asdict(result)))
        else:
            typer.echo(f"{result.id}\t{result.kind}\t{result.matched}\t{result.source}")


@app.command("show")
def show(
    concept_id: Annotated[str, typer.Argument(metavar="ID", help="a concept or class id (or an alias)")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Everything the vocabulary holds for ID: names, codes, parents, children, classes."""
    info = vocabulary.show(concept_id)
    if info is None:
        close = vocabulary.vocabulary().suggest(concept_id) + vocabulary.vocabulary().suggest(concept_id, classes=True)
        hint = f" Did you mean {', '.join(dict.fromkeys(close))}?" if close else ""
        typer.echo(f"unknown id {concept_id!r}.{hint}", err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(info), indent=2))
        return
    typer.echo(f"{info.id}  ({info.kind}, {info.source})  {info.label}")
    rows = [
        ("aliases", ", ".join(info.aliases)),
        ("synonyms", ", ".join(info.synonyms)),
        ("exact case", ", ".join(info.case_sensitive)),
        ("codes", "; ".join(f"{c.system} {c.code} {c.display}" for c in info.codes)),
        ("parents", ", ".join(info.parents)),
        ("children", ", ".join(info.children)),
        ("classes", ", ".join(info.classes)),
        ("members", ", ".join(info.members)),
        ("class source", info.class_source),
    ]
    for name, value in rows:
        if value:
            typer.echo(f"  {name}: {value}")


@app.command("count")
def count(as_json: Annotated[bool, typer.Option("--json", help="one JSON object a line")] = False) -> None:
    """How many concepts, names, token patterns and coded concepts each vocabulary file holds."""
    rows = vocabulary.counts()
    if as_json:
        for row in rows:
            typer.echo(json.dumps(dataclasses.asdict(row)))
        return
    typer.echo("file\tconcepts\tnames\ttoken_patterns\tcoded")
    for row in rows:
        typer.echo(f"{row.file}\t{row.concepts}\t{row.names}\t{row.token_patterns}\t{row.coded}")
    typer.echo(f"total\t{sum(r.concepts for r in rows[:-1])} concepts, {len(rows) - 1} files, "
               f"{rows[-1].concepts} drug classes")
