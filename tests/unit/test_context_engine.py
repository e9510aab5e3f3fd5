"""The ConText engine: scopes, their cuts, pseudo-triggers and the overlap rule it shares with medspaCy."""

from __future__ import annotations

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Span

from extractor.pipeline.context_engine import (
    BACKWARD,
    BIDIRECTIONAL,
    FORWARD,
    PSEUDO,
    TERMINATE,
    ContextEngine,
    Trigger,
    TriggerRule,
    limit_scope,
    modifies,
    overlaps,
    scope,
)

RULES = [
    TriggerRule("no", "NEGATED_EXISTENCE", FORWARD),
    TriggerRule("no evidence of", "NEGATED_EXISTENCE", FORWARD),
    TriggerRule("no increase", "PSEUDO", PSEUDO),
    TriggerRule("but", "CONJ", TERMINATE),
    TriggerRule("ruled out", "NEGATED_EXISTENCE", BACKWARD),
    TriggerRule("prophylaxis", "HYPOTHETICAL", BACKWARD, max_scope=1),
    TriggerRule("mother", "FAMILY", BIDIRECTIONAL),
]


@pytest.fixture(scope="module")
def blank() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def _modified(blank: Language, text: str, targets: list[str]) -> dict[str, list[tuple[str, str]]]:
    doc = blank(text)
    spans = []
    for word in targets:
        start = next(t.i for t in doc if t.text == word)
        spans.append(Span(doc, start, start + 1, label="CONDITION"))
    engine = ContextEngine(blank, "test_triggers", RULES)
    return {
        span.text: [(t.category, doc[t.start : t.end].text) for t in triggers]
        for span, triggers in zip(spans, engine(doc, spans), strict=True)
    }


@pytest.mark.parametrize(
    ("text", "targets", "expected"),
    [
        # the longest overlapping trigger wins the match: "no evidence of", not "no"
        ("No evidence of pneumonia.", ["pneumonia"], {"pneumonia": [("NEGATED_EXISTENCE", "No evidence of")]}),
        # a terminating trigger cuts the forward scope
        ("No fever but cough.", ["fever", "cough"], {"fever": [("NEGATED_EXISTENCE", "No")], "cough": []}),
        # scopes stay in their sentence
        ("No fever. Cough.", ["fever", "Cough"], {"fever": [("NEGATED_EXISTENCE", "No")], "Cough": []}),
        # a pseudo-trigger modifies nothing, and hides the shorter trigger inside it
        ("No increase in pain.", ["pain"], {"pain": []}),
        # backward triggers look back; max_scope limits them to one token
        ("Lupus ruled out.", ["Lupus"], {"Lupus": [("NEGATED_EXISTENCE", "ruled out")]}),
        ("Lupus and PCP prophylaxis.", ["Lupus", "PCP"], {"Lupus": [], "PCP": [("HYPOTHETICAL", "prophylaxis")]}),
        # a second trigger of the same category takes over: "no" cuts "no evidence of"
        (
            "No evidence of fever, no rash.",
            ["fever", "rash"],
            {"fever": [("NEGATED_EXISTENCE", "No evidence of")], "rash": [("NEGATED_EXISTENCE", "no")]},
        ),
        # bidirectional, several categories, in the order found
        ("Mother had no lupus.", ["lupus"], {"lupus": [("FAMILY", "Mother"), ("NEGATED_EXISTENCE", "no")]}),
    ],
)
def test_which_triggers_modify_which_targets(
    blank: Language, text: str, targets: list[str], expected: dict[str, list[tuple[str, str]]]
) -> None:
    assert _modified(blank, text, targets) == expected


def test_overlap_is_medspacys_asymmetric_test() -> None:
    assert overlaps((0, 5), (2, 3)) and overlaps((0, 5), (4, 8)) and overlaps((2, 5), (0, 3))
    assert not overlaps((2, 3), (0, 5))  # b strictly containing a does not count
    assert not overlaps((0, 2), (2, 4))


def test_scope_and_its_cuts() -> None:
    assert scope(FORWARD, None, 2, 3, (0, 10)) == (3, 10)
    assert scope(BACKWARD, 2, 6, 7, (0, 10)) == (4, 6)
    assert scope(BIDIRECTIONAL, 1, 4, 5, (0, 10)) == (3, 6)
    negation = Trigger("NEGATED_EXISTENCE", FORWARD, 0, 1, 1, 10)
    family = Trigger("FAMILY", BACKWARD, 5, 6, 0, 5)
    limit_scope(negation, family)  # another category: no cut
    assert (negation.scope_start, negation.scope_end) == (1, 10)
    terminate = Trigger("CONJ", TERMINATE, 4, 5, 0, 10)
    limit_scope(negation, terminate)
    assert (negation.scope_start, negation.scope_end) == (1, 4)
    assert modifies(negation, (2, 3)) and not modifies(negation, (4, 6)) and not modifies(terminate, (6, 7))


def test_a_scope_stops_at_the_entity_kinds_its_rule_names(blank: Language) -> None:
    """"prn" is about its own drug: the next drug of the list ends its scope, a symptom does not."""
    rules = [TriggerRule("prn", "HYPOTHETICAL", FORWARD, stops_at=frozenset({"MEDICATION"}))]
    doc = blank("Tylenol prn pain, Zantac daily and cough.")
    labels = {"Tylenol": "MEDICATION", "pain": "CONDITION", "Zantac": "MEDICATION", "cough": "CONDITION"}
    spans = [Span(doc, t.i, t.i + 1, label=labels[t.text]) for t in doc if t.text in labels]
    engine = ContextEngine(blank, "test_stops", rules)
    modified = {span.text: bool(triggers) for span, triggers in zip(spans, engine(doc, spans), strict=True)}
    assert modified == {"Tylenol": False, "pain": True, "Zantac": False, "cough": False}
