"""pyproject.toml declares exactly what the package imports: nothing missing, nothing unused."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def _imported_distributions() -> set[str]:
    """The distributions of every third-party module imported anywhere in ``extractor/``."""
    modules = set()
    for path in (ROOT / "extractor").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    owners = packages_distributions()
    third_party = {m for m in modules if m not in sys.stdlib_module_names and m != "extractor"}
    return {dist.lower().replace("_", "-") for m in third_party for dist in owners.get(m, [m])}


def test_every_imported_distribution_is_declared() -> None:
    declared = _names(PROJECT["dependencies"]) | _names(PROJECT["optional-dependencies"]["model"])
    assert sorted(_imported_distributions() - declared) == []


# needed at run time though no module of ours imports them by name
IMPORTED_BY_OTHERS = {"itsdangerous"}  # Starlette's SessionMiddleware (the review app's sessions)


def test_every_runtime_dependency_is_imported() -> None:
    assert sorted(_names(PROJECT["dependencies"]) - _imported_distributions() - IMPORTED_BY_OTHERS) == []


def test_test_only_packages_are_in_the_dev_extra() -> None:
    runtime = _names(PROJECT["dependencies"])
    dev = _names(PROJECT["optional-dependencies"]["dev"])
    assert {"fhir.resources", "httpx", "pytest"} <= dev
    assert not {"fhir.resources", "httpx", "pandas"} & runtime
    assert PROJECT["license"] == "Apache-2.0"  # an SPDX expression, not a table
