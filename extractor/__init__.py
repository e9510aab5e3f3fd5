"""Clinical-note NLP for trial pre-screening: ``load()`` the pipeline, extract facts.

Importing the package changes nothing global and imports neither spaCy nor medspaCy:
the pipeline API (``extractor.api``) is imported on first use of one of its names. The
command line and the batch workers opt in to keeping unused libraries out of their
processes and to silencing libraries that could log note text
(``extractor.imports.prepare_process``); a host program may call it too, first thing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from extractor.facts import Fact
from extractor.notes import Note

if TYPE_CHECKING:
    from extractor.api import (
        ASSERTION_STAGES as ASSERTION_STAGES,
    )
    from extractor.api import (
        MAX_NOTE_CHARS as MAX_NOTE_CHARS,
    )
    from extractor.api import (
        MODEL_STAGE as MODEL_STAGE,
    )
    from extractor.api import (
        PIPELINE as PIPELINE,
    )
    from extractor.api import (
        assert_mention,
        extract_notes,
        extract_text,
        load,
        make_doc,
    )

__version__ = "0.1.0"

_API = (
    "ASSERTION_STAGES",
    "MAX_NOTE_CHARS",
    "MODEL_STAGE",
    "PIPELINE",
    "assert_mention",
    "extract_notes",
    "extract_text",
    "load",
    "make_doc",
)

__all__ = ["Fact", "Note", "assert_mention", "extract_notes", "extract_text", "load", "make_doc"]


def __getattr__(name: str) -> Any:
    """The pipeline API's names, imported (with spaCy) when first asked for."""
    if name in _API:
        return getattr(importlib.import_module("extractor.api"), name)
    raise AttributeError(f"module 'extractor' has no attribute {name!r}")
