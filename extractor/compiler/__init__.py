"""Compiling published eligibility text into the criteria language (``extractor trial draft``).

Public API:
    draft_trial(text, name=..., title=..., source=..., similar=False) -> Draft  (``Draft.to_yaml()``)
    lint(trial) -> list[Problem]                                   (``extractor.compiler.check``)
"""

from __future__ import annotations

import functools

from extractor.compiler.draft import Draft, DraftCriterion, Drafter
from extractor.compiler.lexicon import default_lexicon
from extractor.compiler.similarity import DEFAULT_THRESHOLD, NameCache, SimilarityIndex, default_cache_dir
from extractor.screening.language import SilencePolicy

__all__ = ["Draft", "DraftCriterion", "Drafter", "draft_trial", "similarity_index"]


@functools.cache
def similarity_index() -> SimilarityIndex:
    """The vocabulary's terms embedded with MiniLM once per process, read from the user's
    cache when an earlier run embedded the same names with the same model
    (``extractor.compiler.similarity.default_cache_dir``)."""
    return SimilarityIndex(default_lexicon(), cache=NameCache(default_cache_dir()))


def draft_trial(
    text: str,
    *,
    name: str,
    title: str,
    source: str,
    similar: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
    silence: SilencePolicy | None = None,
) -> Draft:
    """A trial file drafted from an eligibility block (see ``extractor.compiler.draft``);
    ``silence`` replaces the default policy of ``patterns/eligibility.yaml``."""
    drafter = Drafter(similarity=similarity_index() if similar else None, threshold=threshold, silence=silence)
    return drafter.draft(text, name=name, title=title, source=source)
