"""Pipeline stages, one module each, every one a registered spaCy factory (``extractor_*``)."""

from extractor.pipeline import (  # noqa: F401  (registration side effects)
    abbreviations,
    assemble,
    assertion_model,
    concepts,
    context,
    demographics,
    labs,
    medications,
    sections,
    sentences,
    temporal,
    tokenizer,
)
