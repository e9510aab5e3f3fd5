"""Phrases the vocabularies do not name, recognised by their head word ("psychiatric illness",
"prior systemic therapy", "life expectancy"): what kind of thing a criterion speaks of even
when no concept can be given.

A head is a word of ``unnamed_phrases`` in ``patterns/eligibility.yaml`` (or ends with one
of its suffixes: "-ectomy", "-itis", the INN stems "-mab", "-tinib"); the phrase runs left
from it over up to three content words of the same clause not otherwise explained. What a
threshold compares is a measure whatever its words ("leukocytes >= 4 x 10^9/L", "each
lesion must be >= 10 mm"): the words just before a threshold, past the links of
``threshold_links`` ("must be", "of", ":"), are a measure phrase too. Such a phrase maps
to no concept and never becomes a rule: a draft names it in the words it did not
understand, and ``scripts/score_fb_parser.py`` scores it apart from the mapped ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from extractor.compiler.lexicon import Token, tokenize
from extractor.compiler.rules import EligibilityRules, UnnamedKind

_LEFT_WORDS = 3
_SUBJECT_WORDS = 4
_LINK_CHARS = 40
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


def unnamed_phrases(
    text: str, used: list[bool], rules: EligibilityRules, compared: Sequence[int] = ()
) -> list[Phrase]:
    """The unnamed phrases of a text among the characters ``used`` does not mark; ``compared``:
    where the thresholds that are no age start, whose subjects are measures."""
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
    for start in compared:
        subject = _subject(text, tokens, free, start, rules)
        if subject is not None and not any(p.start < subject[1] and subject[0] < p.end for p in phrases):
            phrases.append(Phrase(*subject, "measure"))
    return sorted(phrases, key=lambda p: p.start)


def _subject(
    text: str, tokens: list[Token], free: list[bool], start: int, rules: EligibilityRules
) -> tuple[int, int] | None:
    """What the threshold at ``start`` compares, when no step explained it: past the links
    ("must be", "of", ":"), up to four words of one phrase, hyphens and slashes inside it
    ("serum m-protein", "p/c ratio"), at least one of them no filler word."""
    index = next((i for i in range(len(tokens) - 1, -1, -1) if tokens[i].end <= start), None)
    while index is not None and index >= 0 and tokens[index].key in rules.threshold_links:
        index -= 1
    if index is None or index < 0:
        return None
    words: list[int] = []
    cursor = index
    if tokens[cursor].text in ")]":  # "uroflowmetry (Qmax) of < 15 mL/s": the name before its abbreviation
        opening = next((i for i in range(cursor - 1, max(cursor - 4, -1), -1) if tokens[i].text in "(["), None)
        if opening is None or not all(free[opening:cursor + 1]):
            return None
        words.append(cursor)
        cursor = opening - 1
    while cursor >= 0 and len(words) < _SUBJECT_WORDS and free[cursor]:
        token = tokens[cursor]
        if token.text in "-‐/" and words and cursor > 0 and free[cursor - 1] and _word(tokens[cursor - 1]):
            cursor -= 1
            continue
        if not _word(token) or token.key in rules.qualifiers or token.key in rules.subject_stops or (
            token.key in rules.filler and token.key not in rules.measure_words
        ) or (not words and token.key.endswith(("ed", "ing")) and len(token.key) > 5):
            break
        words.append(cursor)
        cursor -= 1
    if not words or all(tokens[i].key in rules.filler or not _word(tokens[i]) for i in words):
        return None
    return tokens[words[-1]].start, tokens[words[0]].end


def compared_at(text: str, end: int, compared: Sequence[int], rules: EligibilityRules) -> bool:
    """Whether a threshold of ``compared`` follows ``end`` past links only: the words ending
    there are what it compares ("hypercholesterolemia (> 240 mg/dL)", "bradycardia of less
    than 50 beats/min")."""
    for token in tokenize(text[end:end + _LINK_CHARS]):
        if end + token.start in compared:
            return True
        if token.key not in rules.threshold_links:
            return False
    return False


def _word(token: Token) -> bool:
    return any(c.isalpha() for c in token.text)


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
