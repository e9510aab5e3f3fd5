"""A small ConText engine: which trigger modifies which concept, one sentence at a time.

ConText (Harkema et al., J Biomed Inform 2009; after NegEx, Chapman et al. 2001) gives
each trigger phrase a scope in its sentence, in its direction (forward, backward, both)
and up to an optional number of tokens; a trigger of the same category, or a
terminating one, that falls inside a scope cuts it there; a concept inside a trigger's
scope, and not overlapping the trigger, is modified by it. Pseudo-triggers ("no
increase") modify nothing: they exist to win the match over the shorter trigger inside
them, since overlapping matches keep the longest.

This is medspaCy 1.3's algorithm (``ConTextGraph.update_scopes`` / ``apply_modifiers``)
for the rule features our rule files use (a literal, a category, a direction, an
optional ``max_scope``), with the same overlap test, so it gives the same edges in the
same order; it matches with medspaCy's public ``MedspacyMatcher``. Owning it keeps the
stage off medspaCy's private names, and it is linear in the note: medspaCy's own call
pairs every trigger with every concept of the whole note.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from medspacy.common.medspacy_matcher import MedspacyMatcher
from medspacy.context import ConTextRule
from spacy.language import Language
from spacy.tokens import Doc, Span

from extractor.pipeline.sentence_index import SentenceIndex

FORWARD, BACKWARD, BIDIRECTIONAL, TERMINATE, PSEUDO = "FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"


@dataclass(frozen=True)
class TriggerRule:
    """One trigger phrase of ``context.yaml``."""

    literal: str
    category: str
    direction: str
    max_scope: int | None = None
    stops_at: frozenset[str] = frozenset()  # entity labels that end the scope ("prn pain, Zantac")


@dataclass
class Trigger:
    """A trigger found in a note: its token span and its scope (cut by the other triggers)."""

    category: str
    direction: str
    start: int
    end: int
    scope_start: int
    scope_end: int
    stops_at: frozenset[str] = frozenset()


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """medspaCy's ``tuple_overlaps``: ``b`` starts or ends inside ``a`` (so a ``b`` strictly
    containing ``a`` does not count)."""
    return a[0] <= b[0] < a[1] or a[0] < b[1] <= a[1]


def scope(direction: str, max_scope: int | None, start: int, end: int, sent: tuple[int, int]) -> tuple[int, int]:
    """A trigger's scope in tokens: its sentence, in its direction, up to ``max_scope`` tokens."""
    sent_start, sent_end = sent
    if direction == FORWARD:
        return end, sent_end if max_scope is None else min(sent_end, end + max_scope)
    if direction == BACKWARD:
        return (sent_start if max_scope is None else max(sent_start, start - max_scope)), start
    low = sent_start if max_scope is None else max(sent_start, start - max_scope)
    high = sent_end if max_scope is None else min(sent_end, end + max_scope)
    return low, high


def limit_scope(trigger: Trigger, other: Trigger) -> None:
    """Cut ``trigger``'s scope at ``other`` when it is of the same category or terminates."""
    if not overlaps((trigger.scope_start, trigger.scope_end), (other.scope_start, other.scope_end)):
        return
    if trigger.direction == TERMINATE:
        return
    if other.direction != TERMINATE and other.category != trigger.category:
        return
    if trigger.direction in (FORWARD, BIDIRECTIONAL) and other.start > trigger.start:
        trigger.scope_end = min(trigger.scope_end, other.start)
    if trigger.direction in (BACKWARD, BIDIRECTIONAL) and other.end < trigger.end:
        trigger.scope_start = max(trigger.scope_start, other.end)


def stop_at_entities(trigger: Trigger, entities: Sequence[Span]) -> None:
    """Cut ``trigger``'s scope at the nearest entity labelled as one it stops at.

    A sig word belongs to its own drug: in "Tylenol prn pain, Zantac 150 mg bid" the next
    drug starts a new item, so "prn" makes the pain hypothetical, not the Zantac.
    """
    for entity in entities:
        if entity.label_ not in trigger.stops_at:
            continue
        if trigger.direction in (FORWARD, BIDIRECTIONAL) and trigger.end <= entity.start < trigger.scope_end:
            trigger.scope_end = entity.start
        if trigger.direction in (BACKWARD, BIDIRECTIONAL) and trigger.scope_start < entity.end <= trigger.start:
            trigger.scope_start = entity.end


def modifies(trigger: Trigger, target: tuple[int, int]) -> bool:
    """Whether ``trigger`` modifies the concept at token span ``target``."""
    if overlaps((trigger.start, trigger.end), target) or trigger.direction in (TERMINATE, PSEUDO):
        return False
    return overlaps((trigger.scope_start, trigger.scope_end), target)


class ContextEngine:
    """Finds triggers and says, for each target span, which triggers modify it (in order)."""

    def __init__(self, nlp: Language, name: str, rules: Iterable[TriggerRule]) -> None:
        self._matcher = MedspacyMatcher(nlp, name=name, phrase_matcher_attr="LOWER", prune=True)
        rules = list(rules)
        self._matcher.add(
            [ConTextRule(r.literal, r.category, direction=r.direction, max_scope=r.max_scope) for r in rules]
        )
        self._stops = {(r.literal.lower(), r.category): r.stops_at for r in rules if r.stops_at}

    def triggers(self, doc: Doc, sentences: Sequence[tuple[int, int]]) -> dict[int, list[Trigger]]:
        """The triggers of ``doc`` by sentence index, their scopes cut by each other."""
        starts = [start for start, _ in sentences]
        found: dict[int, list[Trigger]] = {}
        rule_map = self._matcher.rule_map
        for match_id, start, end in self._matcher(doc):
            rule = rule_map[doc.vocab.strings[match_id]]
            index = max(0, bisect_right(starts, start) - 1)
            low, high = scope(rule.direction, rule.max_scope, start, end, sentences[index])
            stops = self._stops.get((rule.literal.lower(), rule.category), frozenset())
            found.setdefault(index, []).append(Trigger(rule.category, rule.direction, start, end, low, high, stops))
        for triggers in found.values():
            for i, first in enumerate(triggers[:-1]):
                for second in triggers[i + 1 :]:
                    limit_scope(first, second)
                    limit_scope(second, first)
        return found

    def __call__(self, doc: Doc, targets: Sequence[Span]) -> list[list[Trigger]]:
        """For each of ``targets``, the triggers that modify it, in the order they were found."""
        index = SentenceIndex.of(doc)
        sentences = list(zip(index.token_starts, index.token_ends, strict=True)) or [(0, len(doc))]
        by_sentence = self.triggers(doc, sentences)
        if self._stops:
            for triggers in by_sentence.values():
                for trigger in triggers:
                    if trigger.stops_at:
                        stop_at_entities(trigger, targets)
        starts = [start for start, _ in sentences]
        modified = []
        for target in targets:
            index = max(0, bisect_right(starts, target.start) - 1)
            span = (target.start, target.end)
            modified.append([t for t in by_sentence.get(index, ()) if modifies(t, span)])
        return modified
