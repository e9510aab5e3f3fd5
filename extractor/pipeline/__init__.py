"""Pipeline stages, one module each, every one a registered spaCy factory (``extractor_*``)."""

from scispacy.abbreviation import AbbreviationDetector  # noqa: F401  (registers abbreviation_detector)

from extractor.pipeline import (  # noqa: F401  (registration side effects)
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
