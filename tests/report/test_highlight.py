"""Note text marked at exact offsets: pieces are the text's own slices, escaped, never rewritten."""

from __future__ import annotations

import html
import re

import pytest

from extractor.report.highlight import Span, highlight

TEXT = "No fever. Hgb <9 & SLE."


def marks(markup: str) -> list[tuple[str, str, str]]:
    """(role, keys, text) of each <mark>, text unescaped."""
    found = re.findall(r'<mark class="(\w+)" data-keys="([^"]+)">(.*?)</mark>', markup)
    return [(role, keys, html.unescape(text)) for role, keys, text in found]


def plain(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        pytest.param([Span(3, 8, "fact")], [("fact", "3-8", "fever")], id="one-span"),
        pytest.param(
            [Span(10, 16, "cited"), Span(14, 20, "fact")],
            [("cited", "10-16", "Hgb "), ("cited", "10-16 14-20", "<9"), ("fact", "14-20", " & S")],
            id="overlap-split-into-pieces",
        ),
        pytest.param(
            [Span(10, 22, "fact"), Span(14, 16, "cited")],
            [("fact", "10-22", "Hgb "), ("cited", "10-22 14-16", "<9"), ("fact", "10-22", " & SLE")],
            id="nested",
        ),
        pytest.param([Span(0, 99, "cited"), Span(5, 5, "fact")], [], id="outside-or-empty-ignored"),
    ],
)
def test_pieces_are_marked_at_their_offsets(spans: list[Span], expected: list[tuple[str, str, str]]) -> None:
    markup = str(highlight(TEXT, spans, "n0-"))
    assert marks(markup) == expected
    assert plain(markup) == TEXT


def test_text_is_escaped_and_each_span_start_has_one_anchor() -> None:
    markup = str(highlight("<b>a</b> & x", [Span(0, 3, "cited"), Span(0, 8, "fact")], "p1-n2-"))
    assert "<b>" not in markup
    assert markup.count('id="p1-n2-0-3"') == 1
    assert markup.count('id="p1-n2-0-8"') == 1
    assert plain(markup) == "<b>a</b> & x"


def test_labels_go_in_attributes_escaped_and_never_into_the_text() -> None:
    spans = [
        Span(10, 16, "cited", 'inc-x: passes \u2014 "Hgb" <= 80', "inc-x", "p-P1--t-c-inc-x"),
        Span(0, 2, "cue", "negation cue for fever"),
        Span(3, 8, "fact", "fact: fever (negated)"),
    ]
    markup = str(highlight(TEXT, spans, "n0-"))
    assert plain(markup) == TEXT
    assert 'title="inc-x: passes \u2014 &quot;Hgb&quot; &lt;= 80"' in markup
    assert 'data-criteria="p-P1--t-c-inc-x" tabindex="0" data-tag="inc-x"' in markup
    assert '<mark class="cue" data-keys="0-2" title="negation cue for fever">No</mark>' in markup
