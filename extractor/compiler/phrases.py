"""Phrases the vocabularies do not name, recognised by their head word ("psychiatric illness",
"prior systemic therapy", "life expectancy"): what kind of thing a criterion speaks of even
when no concept can be given.

A head is a word of ``unnamed_phrases`` in ``patterns/eligibility.yaml`` (or ends with one
of its suffixes: "-ectomy", "-itis", the INN stems "-mab", "-tinib"); the phrase runs left
from it over up to three content words of the same clause not otherwise explained. Such a
phrase maps to no concept and never becomes a rule: a draft names it in the words it did
not understand, and ``scripts/score_fb_parser.py`` scores it apart from the mapped ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractor.compiler.lexicon import Token, tokenize
from extractor.compiler.rules import EligibilityRules, UnnamedKind

_LEFT_WORDS = 3
_AGAINST = re.compile(r"\banti\s*-?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Phrase:
    """An unnamed phrase: where, and which kind of thing its head says it is."""

    start: int
    end: int
    kind: str  # condition | malignancy | treatment | measure


def _is_head(token: Token, spec: UnnamedKind) -> bool:
    key = token.key
    if key in spec.not_heads or not token.text.isalpha():
        return False
    return key in spec.heads or any(key.endswith(s) and len(key) >= len(s) + 3 for s in spec.suffixes)


def unnamed_phrases(text: str, used: list[bool], rules: EligibilityRules) -> list[Phrase]:
    """The unnamed phrases of a text among the characters ``used`` does not mark."""
    tokens = tokenize(text)
    free = [not any(used[t.start:t.end]) for t in tokens]
    phrases: list[Phrase] = []
    taken = -1
    for index, token in enumerate(tokens):
        if not free[index] or index <= taken:
            continue
        kind = next((k for k, spec in rules.unnamed_phrases.items() if _is_head(token, spec)), None)
        if kind is None or _AGAINST.search(text, 0, token.start):
            continue  # "anti-cancer therapy": no cancer, a therapy
        spec = rules.unnamed_phrases[kind]
        first = index
        while (
            first > 0 and index - first < _LEFT_WORDS and first - 1 > taken and free[first - 1]
            and tokens[first - 1].text.isalpha() and tokens[first - 1].key not in rules.filler
            and tokens[first - 1].key not in rules.qualifiers
        ):
            first -= 1
        if first == index and token.key in spec.modified_only:
            continue  # "disease progression", "drugs": which disease, which drug?
        phrases.append(Phrase(tokens[first].start, token.end, kind))
        taken = index
    return phrases


_ABBREVIATION = re.compile(r"\s*[(\[]\s*[^()\[\]\s]{1,12}(?:\s+[^()\[\]\s]{1,12})?\s*[)\]]")


def phrase_extent(text: str, start: int, end: int, rules: EligibilityRules) -> tuple[int, int]:
    """The whole phrase around a concept's words, as a reader would mark it: the qualifiers
    and states before it ("active", "prior", "uncontrolled"), a hyphenated first half
    ("castrate-resistant prostate cancer") and an abbreviation in brackets after it
    ("congestive heart failure (CHF)"). The concept is unchanged; only its span grows."""
    narrowing = rules.qualifiers | {w for w in (*rules.states.current, *rules.states.ever) if " " not in w}
    tokens = [t for t in tokenize(text[:start]) if t.end <= start]
    for _ in range(_LEFT_WORDS):
        if not tokens:
            break
        last = tokens[-1]
        if last.text in "-‐" and len(tokens) > 1 and tokens[-2].text.isalpha() and last.end == start:
            start = tokens[-2].start
            tokens = tokens[:-2]
        elif (
            len(tokens) > 2 and last.text.isalpha() and tokens[-2].text in "-‐" and tokens[-3].text.isalpha()
            and tokens[-3].end == tokens[-2].start and tokens[-2].end == last.start and not text[last.end:start].strip()
        ):
            start = tokens[-3].start  # "castrate-resistant" prostate cancer
            tokens = tokens[:-3]
        elif last.text.isalpha() and last.key in narrowing and not text[last.end:start].strip():
            start = last.start
            tokens = tokens[:-1]
        else:
            break
    if match := _ABBREVIATION.match(text, end):
        end = match.end()
    return start, end
