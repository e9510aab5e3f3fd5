"""Keeping heavy libraries the rules pipeline never uses out of its processes.

Every batch worker is a fresh process that imports spaCy and medSpaCy and loads the
pipeline, so whatever those imports drag in is paid again by each worker, in start-up
time and in resident memory. Two such libraries are never used by the rules pipeline:

- torch: thinc imports it, when it is installed, to see whether it is (about 190 MB);
- NLTK: medSpaCy imports QuickUMLS to register its component, and QuickUMLS imports
  NLTK, which imports SciPy and scikit-learn (1.4 s and about 160 MB per process).

Both stay importable: torch is hidden only while thinc checks for it (the assertion model
imports it for real), and NLTK is deferred, imported for real on first use of one of its
names (so QuickUMLS still works in a pipeline that asks for it).

Nothing happens on import: a process that owns itself opts in by calling
``prepare_process()`` before spaCy is imported. The command line does
(``extractor/cli/__init__.py``), and so do the batch workers (``extractor/batch/__init__.py``,
imported by every worker before the pipeline); a library user's process is left as it
is unless it calls it too. This module imports nothing heavy itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

DEFERRED = ("nltk",)


def hide_torch_from_thinc() -> None:
    """Import thinc's torch check with torch hidden, unless thinc or torch is loaded already."""
    if "thinc" in sys.modules or "torch" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  (makes `import torch` fail fast)
    try:
        import thinc.compat  # noqa: F401
    finally:
        del sys.modules["torch"]


def hide_pandas_from_pyarrow() -> None:
    """Make pyarrow's one check for pandas now, with pandas hidden, unless pandas is loaded.

    pyarrow imports pandas the first time it converts a Python list (to see whether the
    list is one of pandas' types): 0.2 s of CPU and 31 MB in every batch worker and in the
    main process (measured), for a library nothing here uses. Afterwards pyarrow takes pandas
    as not installed (``to_pandas()`` fails in that process), so only processes the extractor
    owns call this (the command line, local batch workers); ``import pandas`` still works.
    """
    if "pandas" in sys.modules:
        return
    hidden = _Refuse("pandas")
    sys.meta_path.insert(0, hidden)
    try:
        import pyarrow

        pyarrow.array([0])
    finally:
        sys.meta_path.remove(hidden)


class _Refuse:
    """An import finder that refuses one package (pyarrow's check looks past ``sys.modules``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname == self.name or fullname.startswith(self.name + "."):
            raise ImportError(f"{fullname} is hidden here")


class DeferredModule(types.ModuleType):
    """Stands in for a module in ``sys.modules`` until one of its names is used; then the
    real module is imported (and replaces this one in ``sys.modules``) and answers.

    ``import name`` and ``from name import x`` keep working: the first goes through
    ``__spec__`` (set to the real spec, which does not import), the second asks for ``x``.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def _real(self) -> types.ModuleType:
        module_name = self.__dict__["__name__"]
        if sys.modules.get(module_name) is self:
            del sys.modules[module_name]
        return importlib.import_module(module_name)


def defer(name: str) -> None:
    """Put a ``DeferredModule`` for ``name`` in ``sys.modules``, unless the module is
    imported already or not installed."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    stand_in = DeferredModule(name)
    stand_in.__spec__ = spec  # what importlib.util.find_spec(name) answers while deferred
    # tools that scan sys.modules for files (inspect.getmodule) then need not import it;
    # no __path__: importing a submodule needs the real package, and imports it
    stand_in.__file__ = spec.origin
    sys.modules[name] = stand_in


def keep_unused_libraries_out() -> None:
    """Hide torch from thinc's probe and defer NLTK; safe to call more than once."""
    hide_torch_from_thinc()
    for name in DEFERRED:
        defer(name)


# libraries whose loguru messages may carry note text: PyRuSH logs every token when asked to
QUIET_LOGGERS = ("PyRuSH", "medspacy")


def silence_libraries() -> None:
    """Disable the loguru messages of ``QUIET_LOGGERS``: note text must never reach a log."""
    from loguru import logger

    for name in QUIET_LOGGERS:
        logger.disable(name)


def prepare_process() -> None:
    """What a process the extractor owns (the command line, a batch worker) opts in to:
    unused libraries kept out and chatty ones silenced. Call it before spaCy is imported."""
    keep_unused_libraries_out()
    silence_libraries()
