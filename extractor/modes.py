"""Who decides a mention's assertion, temporality and experiencer: the one definition.

``rules`` is ConText alone; ``model`` and ``hybrid`` add the learned assertion stage
(``extractor_assertion_model``), which replaces the rules' labels everywhere (``model``)
or only where the rules' scope is uncertain (``hybrid``). The API, the stage and every
command-line option take these values.
"""

from __future__ import annotations

from enum import StrEnum


class AssertionMode(StrEnum):
    """The assertion modes of ``extractor.load(assertion=...)``."""

    RULES = "rules"
    MODEL = "model"
    HYBRID = "hybrid"


# the modes the learned stage itself runs in
MODEL_MODES: tuple[AssertionMode, ...] = (AssertionMode.MODEL, AssertionMode.HYBRID)
