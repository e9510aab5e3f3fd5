"""Predicates over a patient's facts, registered by the name trial files use.

Importing this package registers every predicate: ``present``, ``medication``,
``stable_medication``, ``treatment_response``, ``lab``, ``age``, ``sex``, ``stated``.
"""

from extractor.screening.predicates import demographics, labs, medications, presence, stated
from extractor.screening.predicates.registry import PREDICATES, Context, Params, PredicateSpec

__all__ = [
    "PREDICATES",
    "Context",
    "Params",
    "PredicateSpec",
    "demographics",
    "labs",
    "medications",
    "presence",
    "stated",
]
