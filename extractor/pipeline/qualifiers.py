"""Qualifiers: how big, how severe or how active a condition is, from the words beside it.

Rules are data (``patterns/qualifiers.yaml``): for each attribute, the concepts it applies
to and the words of each value. The words are read in the mention's clause only (never
across a ";" or out of its sentence) and within a fixed distance; of several, the nearest
wins, so "small pericardial effusion; large pleural effusion" sizes each by its own word.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from extractor.resources import Header, load_model, patterns_dir


class QualifierRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    attr: str = Field(pattern=r"^[a-z_]+$")
    concepts: tuple[str, ...] = Field(min_length=1)
    values: dict[str, tuple[str, ...]]
    # values that win over a nearer word when both are in reach: "active LN requiring
    # re-induction" is on induction, whatever "active" is nearer
    priority: tuple[str, ...] = ()
    # the value may be the mention's own words: "BTL" is a permanent method of contraception
    own_words: bool = False


class QualifiersFile(Header):
    schema_: Literal["qualifiers/v1"] = Field(alias="schema")
    max_chars: int = Field(gt=0)
    qualifiers: tuple[QualifierRule, ...]


class QualifierReader:
    """Reads size / severity / activity words for the concepts the rules name."""

    def __init__(self, path: Path | None = None) -> None:
        spec: QualifiersFile = load_model(QualifiersFile, path or patterns_dir() / "qualifiers.yaml")
        self.max_chars = spec.max_chars
        self._rules: dict[str, list[tuple[str, re.Pattern[str], dict[str, str], tuple[str, ...], bool]]] = {}
        for rule in spec.qualifiers:
            words = {w.lower(): value for value, listed in rule.values.items() for w in listed}
            ordered = sorted(words, key=len, reverse=True)  # "small to moderate" before "small"
            regex = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in ordered) + r")(?![\w-])", re.I)
            for concept in rule.concepts:
                self._rules.setdefault(concept, []).append((rule.attr, regex, words, rule.priority, rule.own_words))

    def read(
        self, text: str, concept: str | None, start: int, end: int, sent_start: int, sent_end: int
    ) -> dict[str, str]:
        """The qualifiers written around the mention at ``start:end`` of ``text``."""
        rules = self._rules.get(concept or "")
        if not rules:
            return {}
        low = max(sent_start, start - self.max_chars, text.rfind(";", sent_start, start) + 1)
        high = text.find(";", end, sent_end)
        high = min(sent_end if high == -1 else high, end + self.max_chars)
        found: dict[str, str] = {}
        for attr, regex, words, priority, own_words in rules:
            if attr in found:
                continue
            best: tuple[int, int, str] | None = None
            for match in regex.finditer(text, low if not own_words else min(low, start), max(high, end)):
                if start <= match.start() < end and not own_words:
                    continue
                value = words[match.group(0).lower()]
                gap = match.start() - end if match.start() >= end else start - match.end()
                key = (0 if value in priority else 1, gap)
                if best is None or key < best[:2]:
                    best = (*key, value)
            if best is not None:
                found[attr] = best[2]
        return found


@functools.cache
def qualifier_reader() -> QualifierReader:
    """The bundled rules, loaded once per process."""
    return QualifierReader()
