"""``extractor package``: the assembled pipeline as a standard spaCy pipeline directory.

The directory (``nlp.to_disk``) loads with plain ``spacy.load()`` wherever this
package is installed: its components are registered through the ``spacy_factories``
entry points, and each rule-reading component has written the rule files it was built
from into its own subdirectory, from which it rebuilds itself on load (see
``extractor/pipeline/rule_files.py``). ``meta.json`` names every rule file with its
version, source, licence and checksum, the labels, and the pipeline's licence.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from extractor.cli.extract import AssertionOption
from extractor.modes import AssertionMode

LICENSE = "Apache-2.0"


def package(
    output: Annotated[Path, typer.Option("-o", "--output", help="directory to write, e.g. models/extractor_sle")],
    force: Annotated[bool, typer.Option("--force", help="replace an existing directory")] = False,
    assertion: AssertionOption = AssertionMode.RULES,
) -> None:
    """Write the pipeline with its rules as a spaCy pipeline directory."""
    import extractor
    from extractor.packaging import describe_rules

    if output.exists():
        if not force:
            raise typer.BadParameter(f"{output} exists; pass --force to replace it")
        shutil.rmtree(output)
    nlp = extractor.load(assertion=assertion)
    nlp.meta["name"] = output.name.replace("-", "_")
    nlp.meta["version"] = extractor.__version__
    nlp.meta["description"] = "Clinical-note facts for trial pre-screening (extractor)."
    nlp.meta["license"] = LICENSE
    nlp.meta["requirements"] = [f"extractor>={extractor.__version__}"]
    nlp.meta["sources"] = describe_rules(nlp)
    nlp.to_disk(output)
    typer.echo(f"pipeline written to {output} ({len(nlp.pipe_names)} components)")
