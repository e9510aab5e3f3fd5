"""``extractor package``: the assembled pipeline as a standard spaCy pipeline directory.

The directory (``nlp.to_disk``) loads with plain ``spacy.load()`` wherever this
package is installed: its components are registered through the ``spacy_factories``
entry points. The rule and vocabulary files in force are copied beside the pipeline
(``patterns/``) so the directory records exactly what it was built with.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer


def package(
    output: Annotated[Path, typer.Option("-o", "--output", help="directory to write, e.g. models/extractor_sle")],
    force: Annotated[bool, typer.Option("--force", help="replace an existing directory")] = False,
) -> None:
    """Write the pipeline with its rules as a spaCy pipeline directory."""
    import extractor
    from extractor.resources import patterns_dir

    if output.exists():
        if not force:
            raise typer.BadParameter(f"{output} exists; pass --force to replace it")
        shutil.rmtree(output)
    nlp = extractor.load()
    nlp.meta["name"] = output.name.replace("-", "_")
    nlp.meta["version"] = "0.1.0"
    nlp.meta["description"] = "Clinical-note facts for trial pre-screening (extractor)."
    nlp.meta["requirements"] = ["extractor>=0.1.0"]
    nlp.to_disk(output)
    rules = output / "patterns"
    rules.mkdir()
    for source in sorted(patterns_dir().iterdir()):
        if source.suffix in {".yaml", ".csv"}:
            shutil.copy2(source, rules / source.name)
    typer.echo(f"pipeline written to {output} ({len(nlp.pipe_names)} components)")
