"""Hostile inputs, as hypothesis strategies: JSON values with odd types and characters,
text with control characters and lone surrogates, and dates a calendar cannot hold.

``FUZZ`` is the settings every property runs with: bounded by default (CI), long with
``HYPOTHESIS_PROFILE=fuzz-long`` (``scripts/fuzz.py``).
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "fuzz-ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile(
    "fuzz-long",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "5000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FUZZ = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "fuzz-ci"))

MARKER = "Zq7-note-text"  # put into every note; must never come back in a message

ODD_CHARACTERS = st.sampled_from(["\x00", "\x1b", "\n", "\r", "\ufeff", "\u2028", "\ud800", "\udfff", "é", "\\", '"'])
TEXT = st.lists(st.one_of(st.text(max_size=12), ODD_CHARACTERS), max_size=6).map("".join)

DATES = st.one_of(
    st.none(),
    st.sampled_from([
        "2025-03-01", "0001-01-01", "9999-12-31", "1799-12-31", "3000-01-01", "2025-02-30", "2025-03-01garbage",
        "20250301", "2025-03-01T25:00", "2025-03-01T10:00:00+14:00", "2099-03-01", "", " ", "2025-13-01",
    ]),
    st.dates().map(lambda day: day.isoformat()),
    st.datetimes().map(lambda moment: moment.isoformat()),
    TEXT,
    st.integers(),
    st.floats(allow_nan=True),
)

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)


@st.composite
def note_records(draw: st.DrawFn) -> dict[str, Any]:
    """A note as a JSON object: usually nearly right, with any field missing, mistyped or odd."""
    record: dict[str, Any] = {
        "patient_id": draw(st.one_of(TEXT, st.integers(), SCALARS)),
        "note_id": draw(st.one_of(TEXT, st.integers(), SCALARS)),
        "text": draw(st.one_of(TEXT.map(lambda t: f"{MARKER} {t} seizure 3 months ago"), SCALARS)),
        "date": draw(DATES),
        "birth_date": draw(DATES),
        "sex": draw(st.one_of(st.sampled_from(["F", "M"]), SCALARS)),
        "type": draw(SCALARS),
    }
    for name in draw(st.sets(st.sampled_from(sorted(record)), max_size=3)):
        del record[name]
    if draw(st.booleans()):
        record[draw(TEXT)] = draw(JSON_VALUES)
    return record


def json_line(record: Any, *, ascii_only: bool) -> bytes:
    """``record`` as one JSON Lines line; lone surrogates survive as ``\\ud800`` escapes."""
    return json.dumps(record, ensure_ascii=ascii_only).encode("utf-8", errors="surrogatepass")
