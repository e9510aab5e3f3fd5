"""What several test files need and that is not a fixture: a script of ``scripts/`` as a module.

The scripts are not a package (they run as ``python scripts/NAME.py``), so a test that calls
their functions imports them by path. ``tests/`` is on the import path (``pythonpath`` in
``pyproject.toml``), so a test file says ``from support import load_module``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_module(path: Path, name: str) -> ModuleType:
    """The Python file at ``path`` imported as module ``name`` and registered in ``sys.modules``
    (a dataclass in it resolves its annotations there)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_script(name: str) -> ModuleType:
    """``scripts/NAME.py`` imported as a module (its own directory on the path, for its helpers)."""
    scripts = str(ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    return load_module(ROOT / "scripts" / f"{name}.py", name)
