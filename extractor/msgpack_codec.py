"""msgpack hooks for the stage payloads, so a Doc carrying them crosses processes.

srsly finds these through entry points (``srsly_msgpack_encoders`` /
``srsly_msgpack_decoders`` in ``pyproject.toml``), so importing ``extractor`` registers
nothing. srsly loads its entry points while spaCy itself is being imported, so this
module imports nothing when loaded: a payload is recognised by its class attribute
``extractor_payload``, and ``extractor.payloads`` is imported only to decode one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TAG = "__extractor_payload__"


def encode(obj: Any, chain: Callable[[Any], Any] | None = None) -> Any:
    """A payload as a tagged plain dict; anything else to the next encoder."""
    if getattr(type(obj), "extractor_payload", False):
        return {TAG: type(obj).__name__, "data": obj.model_dump(mode="json", exclude_defaults=True)}
    return obj if chain is None else chain(obj)


def decode(obj: Any, chain: Callable[[Any], Any] | None = None) -> Any:
    """A tagged dict back into its payload model; anything else to the next decoder."""
    if isinstance(obj, dict) and TAG in obj:
        from extractor.payloads import BY_NAME

        return BY_NAME[obj[TAG]].model_validate(obj["data"])
    return obj if chain is None else chain(obj)
