"""``extractor trials``: the bundled trial definitions, one per line."""

from __future__ import annotations

import typer

from extractor.screening import bundled_trials, load_trial


def trials() -> None:
    """List the bundled trials: id, criteria (inclusion / exclusion), title."""
    for name in bundled_trials():
        trial = load_trial(name)
        inclusion = sum(c.type == "inclusion" for c in trial.criteria)
        exclusion = len(trial.criteria) - inclusion
        typer.echo(f"{trial.name}\t{inclusion} inclusion, {exclusion} exclusion\t{trial.title}")
