"""A note's text as HTML with every cited span marked in place, by exact character offsets.

The text is never rewritten: it is cut at every span boundary (``text[a:b]`` pieces),
each piece is HTML-escaped, and pieces covered by spans are wrapped in ``<mark>``. Spans
may overlap, so a piece lists every span covering it; the piece where a span starts
carries an anchor with the span's id, which evidence links point at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from itertools import pairwise

from markupsafe import Markup


@dataclass(frozen=True)
class Span:
    """A stretch of one note to mark: ``text[start:end]``; ``role`` is ``cited`` or ``fact``."""

    start: int
    end: int
    role: str

    @property
    def key(self) -> str:
        return span_key(self.start, self.end)


def span_key(start: int, end: int) -> str:
    """The id fragment of a span within its note (the note's own id prefixes it)."""
    return f"{start}-{end}"


def highlight(text: str, spans: Iterable[Span], anchor_prefix: str) -> Markup:
    """``text`` as escaped HTML with each span in ``<mark>``; spans outside the text are ignored.

    A piece covered by a cited span is marked ``cited`` (else ``fact``), and its
    ``data-keys`` names every span covering it, so a script can flash a whole span
    even where overlaps split it into several pieces.
    """
    valid = [s for s in spans if 0 <= s.start < s.end <= len(text)]
    bounds = sorted({0, len(text), *(s.start for s in valid), *(s.end for s in valid)})
    starts: dict[int, set[str]] = {}
    for span in valid:
        starts.setdefault(span.start, set()).add(span.key)
    out: list[str] = []
    for left, right in pairwise(bounds):
        out.extend(f'<span class="anchor" id="{anchor_prefix}{key}"></span>' for key in sorted(starts.get(left, ())))
        piece = escape(text[left:right], quote=False)
        covering = [s for s in valid if s.start <= left and right <= s.end]
        if not covering:
            out.append(piece)
            continue
        keys = " ".join(sorted({s.key for s in covering}))
        role = "cited" if any(s.role == "cited" for s in covering) else "fact"
        out.append(f'<mark class="{role}" data-keys="{keys}">{piece}</mark>')
    return Markup("".join(out))
