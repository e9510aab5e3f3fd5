"""A note's text as HTML with every cited span marked in place, by exact character offsets.

The text is never rewritten: it is cut at every span boundary (``text[a:b]`` pieces),
each piece is HTML-escaped, and pieces covered by spans are wrapped in ``<mark>``. Spans
may overlap, so a piece lists every span covering it; the piece where a span starts
carries an anchor with the span's id, which evidence links point at.

Each mark says what it belongs to without adding a character to the note: a ``title``
(tooltip, read by screen readers) naming the criteria or facts, ``data-criteria`` with
the rows it links back to, and on a span's last piece a ``data-tag`` that the stylesheet
shows after it (CSS generated content is not part of the text).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from itertools import pairwise

from markupsafe import Markup

ROLE_ORDER = ("cited", "cue", "fact")  # a piece covered by several roles shows the first


@dataclass(frozen=True)
class Span:
    """A stretch of one note to mark: ``text[start:end]``.

    ``role`` is ``cited`` (a criterion's evidence), ``fact`` (an extracted fact) or
    ``cue`` (the word that made a fact negated, family, hypothetical...). ``label`` is
    the tooltip, ``tag`` the short visible label, ``target`` the element id it links back to.
    """

    start: int
    end: int
    role: str
    label: str = ""
    tag: str = ""
    target: str = ""

    @property
    def key(self) -> str:
        return span_key(self.start, self.end)


def span_key(start: int, end: int) -> str:
    """The id fragment of a span within its note (the note's own id prefixes it)."""
    return f"{start}-{end}"


def _attr(value: str) -> str:
    return escape(value, quote=True)


def highlight(text: str, spans: Iterable[Span], anchor_prefix: str) -> Markup:
    """``text`` as escaped HTML with each span in ``<mark>``; spans outside the text are ignored.

    A piece's class is the first of ``ROLE_ORDER`` among the spans covering it, and its
    ``data-keys`` names every span covering it, so a script can flash a whole span even
    where overlaps split it into several pieces.
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
        out.append(_mark(covering, right, piece))
    return Markup("".join(out))


def _mark(covering: list[Span], right: int, piece: str) -> str:
    role = next(r for r in ROLE_ORDER if any(s.role == r for s in covering))
    keys = " ".join(sorted({s.key for s in covering}))
    attrs = [f'class="{role}"', f'data-keys="{keys}"']
    labels = list(dict.fromkeys(s.label for s in covering if s.label))
    if labels:
        attrs.append(f'title="{_attr("; ".join(labels))}"')
    targets = list(dict.fromkeys(s.target for s in covering if s.target and s.role == "cited"))
    if targets:
        attrs.append(f'data-criteria="{_attr(" ".join(targets))}" tabindex="0"')
    tags = list(dict.fromkeys(s.tag for s in covering if s.tag and s.end == right))
    if tags:
        attrs.append(f'data-tag="{_attr(" ".join(tags))}"')
    return f"<mark {' '.join(attrs)}>{piece}</mark>"
