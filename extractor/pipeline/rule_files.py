"""Components that read rule files save them with the pipeline, and read them back.

spaCy's EntityRuler writes its patterns in ``to_disk`` and reads them in ``from_disk``,
so a pipeline directory carries its own rules. Every rule-reading component here does
the same: it names the files it reads (``rule_files``), reads them all from one
directory (its ``patterns`` setting; empty for the bundled ``patterns/``), writes those
files into its own directory of a saved pipeline and, on load, rebuilds itself from
them, validated again. ``spacy.load(DIR)`` therefore runs DIR's rules, not the rules
of whatever ``extractor`` is installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar, Self

from extractor.resources import patterns_dir


def rules_directory(patterns: str | Path | None) -> Path:
    """The directory a component reads its rule files from: ``patterns``, or the bundled one."""
    return Path(patterns) if patterns else patterns_dir()


class RuleFileComponent:
    """Mixin: ``to_disk`` writes the rule files in force, ``from_disk`` rebuilds from saved ones.

    A subclass sets ``rule_files`` and implements ``load_rules(directory)``, which reads
    every one of them from ``directory`` (and records it as ``self.rules_dir``).
    """

    rule_files: ClassVar[tuple[str, ...]] = ()
    rules_dir: Path

    def load_rules(self, directory: Path) -> None:
        """Read and validate every file of ``rule_files`` from ``directory``; build the matchers."""
        raise NotImplementedError

    def to_disk(self, path: str | Path, *, exclude: Any = ()) -> None:
        """Copy the rule files this component was built from into ``path``."""
        target = Path(path)
        target.mkdir(parents=True, exist_ok=True)
        for name in self.rule_files:
            if (target / name).resolve() != (self.rules_dir / name).resolve():  # saving over itself
                shutil.copyfile(self.rules_dir / name, target / name)

    def from_disk(self, path: str | Path, *, exclude: Any = ()) -> Self:
        """Rebuild from the rule files saved in ``path`` (each validated as it loads)."""
        self.load_rules(Path(path))
        return self
