"""The README's measured tables are the figures in docs/figures, rendered: a stale number fails here.

``scripts/figures.py`` measures (``--only accuracy`` / ``--only speed``) and writes
``docs/figures/NAME.json`` with the date, machine and commit; ``--readme`` re-renders each
README block between ``<!-- figures:NAME -->`` markers. Editing a number by hand in the
README, or re-measuring without re-rendering, fails this test.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _figures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("figures_script", ROOT / "scripts" / "figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIGURES = _figures()
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = FIGURES.readme_blocks(README)


def test_every_figures_marker_in_the_readme_is_closed() -> None:
    opened = re.findall(r"<!-- figures:([a-z_]+) -->", README)
    assert sorted(opened) == sorted(BLOCKS), "a figures marker without its closing marker"


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_each_readme_table_is_its_figure_rendered(name: str) -> None:
    figure = FIGURES.load_figure(name)
    assert BLOCKS[name] == FIGURES.RENDERERS[name](figure), (
        f"README table {name!r} differs from docs/figures/{name}.json: run scripts/figures.py --readme-only "
        "(or re-measure)"
    )


@pytest.mark.parametrize("path", sorted((ROOT / "docs" / "figures").glob("*.json")), ids=lambda p: p.stem)
def test_each_figure_says_when_where_and_on_what_code_it_was_measured(path: Path) -> None:
    figure = json.loads(path.read_text(encoding="utf-8"))
    assert figure["figure"] == path.stem
    measured = figure["measured"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", measured["date"])
    assert re.fullmatch(r"[0-9a-f]{40}", measured["commit"])
    assert measured["machine"]["cpus"] >= 1 and measured["machine"]["python"]
    assert figure["commands"] and figure["results"]


def test_rendering_marks_the_best_value_of_each_row_and_ties_none() -> None:
    assert FIGURES._row("x", [0.5, 0.7, 0.6]) == "| x | 0.500 | **0.700** | 0.600 |"
    assert FIGURES._row("x", [1.0, 1.0, 1.0]) == "| x | 1.000 | 1.000 | 1.000 |"
    assert FIGURES._row("x", [0.75757, 0.75806, 0.6]) == "| x | **0.758** | **0.758** | 0.600 |"  # ties as shown
    assert FIGURES._row("x", [120.0, 700.0, 800.0], 0, higher_is_better=False) == "| x | **120** | 700 | 800 |"
