"""One criterion's words → a rule of the criteria language, and what was not understood.

The reading, in order: time windows ("within 4 weeks before screening"), thresholds
(comparator, number or range, unit, "x ULN", titer), concepts (lexicon, then similarity
for the words left), states ("active" → now, "history of" → ever), ages and sexes.
Every character a step explains is marked; content words no step explains are "not
understood": with no concept at all the criterion is ``person_only`` with a reason naming
them, otherwise they join the rule as ``unexpressed``, so the criterion is decided only
when what was understood decides it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from extractor.compiler.lexicon import Hit, Lexicon, tokenize
from extractor.compiler.phrases import Phrase, unnamed_phrases
from extractor.compiler.rules import EligibilityRules, alternation
from extractor.compiler.similarity import SimilarityIndex
from extractor.facts import Kind
from extractor.resources import concepts_by_id
from extractor.screening.thresholds import known_unit

_NUMBER = r"\d+(?:[.,]\d+)?"
_SUPERSCRIPT = str.maketrans({"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6",
                              "⁷": "7", "⁸": "8", "⁹": "9", "×": "x", "μ": "u", "µ": "u"})
_LAB_KINDS = (Kind.LAB, Kind.SCORE)
_DURATION_UNITS = frozenset({"hour", "day", "week", "month", "year"})
_CHARTED_KINDS = (Kind.CONDITION, Kind.INFECTION, Kind.PROCEDURE, Kind.SOCIAL, Kind.VACCINE, Kind.MEDICATION)
_MODIFIER = re.compile(r"\s*-?\s*(?:related|associated|induced|like|based|mediated)\b", re.IGNORECASE)
_AGAINST = re.compile(r"\banti\s*-?\s*$", re.IGNORECASE)  # "anti-platelet": what a drug acts on
_TRAILING = re.compile(
    rf"(?P<n>{_NUMBER})\s*(?P<u>years?(?:\s+of\s+age|\s+old)?)?\s*(?:[^\s\d]{{1,8}}\s+)??"
    r"(?P<op>or older|or more|and older|and above|or above|or over|or greater|or higher|or younger|or less"
    r"|or lower|or below)\b",
    re.IGNORECASE,
)
_RANGE = re.compile(
    rf"(?:\bbetween\s+)?(?<![\w.])(?P<a>{_NUMBER})\s*%?\s*(?:-|–|to|and)\s*(?P<b>{_NUMBER})(?![\w.])"
)
_RAW_UNIT = re.compile(
    r"\s*(°\s?[CF]|[%µμ/][^\s,;)]*|[A-Za-z]{1,5}/[^\s,;)]+|mmHg|kg|cm|mm|ms|msecs?|milliseconds|seconds|bpm)(?![A-Za-z])"
)
# "<= 3 x ULN (ULN = 40 U/L)", "> ULN (1.0-1.3 mg/dL)": the upper limit the text states
_ULN_STATED = re.compile(
    rf"\s*(?:[(\[]\s*(?:(?:the\s+)?ULN\s*(?:=|:|is|of)?\s*)?|,?\s*(?:the\s+)?ULN\s*(?:=|:|is|of)\s*)"
    rf"(?P<a>{_NUMBER})(?:\s*(?:-|–|to)\s*(?P<b>{_NUMBER}))?",
    re.IGNORECASE,
)
_COORDINATED = re.compile(r"\b([A-Za-z]{3,})\s+(?:and|or|and/or|/)\s+$", re.IGNORECASE)
_GENERIC = frozenset({"infection", "malignancy"})  # head nouns that follow a specific concept
_SPLIT = re.compile(r"\s*(?:[,;:()\[\]]|\bor\b|\band\b|\bnor\b|/|\.(?:\s|$))\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Threshold:
    """A comparison read from the text: "<= 3 x ULN", ">= 80 g/L", an age."""

    start: int
    end: int
    compare: str  # as the lab / age predicate writes it
    age: bool = False
    unknown_unit: str = ""  # a unit written but not known to patterns/units.yaml
    uln: str = ""  # the upper limit of normal the text states ("35-60 U/L"): uln_if_missing


@dataclass
class Reading:
    """What one criterion's words gave: predicate atoms, mappings, words not understood."""

    atoms: list[dict[str, Any]] = field(default_factory=list)
    mappings: list[dict[str, Any]] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)  # every word not understood
    alternatives: list[str] = field(default_factory=list)  # of them, those in clauses of their own
    unnamed: list[str] = field(default_factory=list)  # phrases no vocabulary names ("psychiatric illness")
    banded: list[Threshold] = field(default_factory=list)  # ages that choose a test's threshold (by_age)
    open_list: str = ""  # "etc.": the list names only some of what it means
    window: str | None = None
    negated: bool = False
    uses_tests: bool = False
    uses_charted: bool = False


class Reader:
    """Reads criterion text with the eligibility rules, a lexicon and (optionally) similarity."""

    def __init__(
        self,
        rules: EligibilityRules,
        lexicon: Lexicon,
        similarity: SimilarityIndex | None = None,
        threshold: float = 0.85,
    ) -> None:
        self.rules = rules
        self.lexicon = lexicon
        self.similarity = similarity
        self.threshold = threshold
        self._ops = []
        for op, words in rules.comparators.items():
            symbols = [w for w in words if not w[0].isalpha()]
            spelled = [w for w in words if w[0].isalpha()]
            pattern = rf"(?<![<>=≤≥]){alternation(symbols)}(?![=<>])|\b{alternation(spelled)}\b"
            self._ops.append((op, re.compile(pattern, re.IGNORECASE)))
        self._uln_multiple = re.compile(
            rf"\s*(?:the\s+)?(?:(?P<k>{_NUMBER})\s*(?:(?:x|×|times|-fold)\s*(?:the\s+)?{alternation(rules.uln_alone)}"
            rf"|{alternation(rules.uln_words)}))",
            re.IGNORECASE,
        )
        self._uln_before = re.compile(
            rf"{alternation(rules.uln_alone)}\s*(?:[(\[]\s*(?:(?:the\s+)?ULN\s*(?:=|:|is|of)?\s*)?|,?\s*(?:the\s+)?ULN"
            rf"\s*(?:=|:|is|of)\s*)$",
            re.IGNORECASE,
        )
        self._uln_only = re.compile(rf"\s*(?:the\s+)?{alternation(rules.uln_alone)}", re.IGNORECASE)
        numbers = alternation(list(rules.number_words))
        units = alternation(list(rules.time_units))
        amount = rf"(?P<n>{_NUMBER}|{numbers})?\s*(?P<u>{units})\b"
        self._window_before = re.compile(
            rf"\b{alternation(rules.window_before)}\s+(?:the\s+)?(?:past\s+|last\s+)?{amount}", re.IGNORECASE
        )
        self._window_after = re.compile(
            rf"\b(?P<n>{_NUMBER}|{numbers})\s*-?\s*(?P<u>{units})\s+{alternation(rules.window_after)}\b",
            re.IGNORECASE,
        )
        self._states_now = re.compile(rf"\b{alternation(rules.states.current)}\b", re.IGNORECASE)
        self._states_ever = re.compile(rf"\b{alternation(rules.states.ever)}\b", re.IGNORECASE)
        self._age = re.compile(rf"\b{alternation(rules.age_words)}\b", re.IGNORECASE)
        self._adult = re.compile(rf"\b{alternation(rules.adult_words)}\b", re.IGNORECASE)
        self._negation = re.compile(rf"^\W*{alternation(rules.negations)}\b", re.IGNORECASE)
        self._positive = re.compile(rf"\b{alternation(rules.positive_test)}\b", re.IGNORECASE)
        self._negative = re.compile(rf"\b{alternation(rules.negative_test)}\b", re.IGNORECASE)
        clause_end = r"[^;.)]*"
        self._except_word = re.compile(rf"\b{alternation(rules.except_words)}\b", re.IGNORECASE)
        self._except = re.compile(rf"\b{alternation(rules.except_words)}\b{clause_end}", re.IGNORECASE)
        self._purpose = re.compile(rf"\b{alternation(rules.purpose_words)}\b{clause_end}", re.IGNORECASE)
        self._stable_word = re.compile(r"\bstable\b(?:\s+dose\b)?", re.IGNORECASE)
        self._basis = re.compile(rf"\b{alternation(rules.basis_words)}\b{clause_end}", re.IGNORECASE)
        self._any_value = re.compile(
            r"^\W*any\b|\bany\s+(?:\w+\s+){0,4}(?:value|result|measurement)s?\b", re.IGNORECASE
        )
        self._responses = {
            value: re.compile(rf"\b{alternation(words)}\b", re.IGNORECASE) for value, words in rules.responses.items()
        }
        self._required = [re.compile(pattern, re.IGNORECASE) for pattern in rules.required_class]
        self._count = re.compile(
            rf"\bat\s+least\s+(?P<n>\d+|{alternation(list(rules.number_words))})\b", re.IGNORECASE
        )
        self._open_list = re.compile(rf"\b{alternation(rules.open_lists)}\b\.?", re.IGNORECASE)
        self._treated = {
            kind: (re.compile("|".join(spec.words), re.IGNORECASE), spec, sorted(
                cid for cid, entry in concepts_by_id().items()
                if entry.kind is Kind.LAB and entry.attrs.get("marker") in spec.markers
            ))
            for kind, spec in rules.treated_kinds.items()
        }
        self._any_sex = re.compile(rf"\b{alternation(rules.any_sex)}\b", re.IGNORECASE)
        self._sex = {sex: re.compile(rf"\b{alternation(words)}\b", re.IGNORECASE)
                     for sex, words in rules.sex_words.items()}

    # ------------------------------------------------------------------ reading

    def repair(self, text: str) -> str:
        """Words a copied page ran together ("ofglucocorticoids", "monthsbefore") split where
        one side is a small word of the rules and the other a word of the vocabulary."""
        spoken = {w for words in self.rules.comparators.values() for phrase in words for w in phrase.split()}
        known = self.lexicon.words | self.rules.filler | {w for w in spoken if w.isalpha()}  # "andolder"
        small = sorted(
            (w for w in self.rules.filler | set(self.rules.time_units) if len(w) >= 2), key=len, reverse=True
        )

        def split(match: re.Match[str]) -> str:
            word = match.group()
            lowered = word.lower()
            if lowered in known or len(word) < 6:
                return word
            for part in small:
                if lowered.startswith(part) and lowered[len(part):] in known and len(lowered) - len(part) >= 3:
                    return f"{word[:len(part)]} {word[len(part):]}"
                if lowered.endswith(part) and lowered[:-len(part)] in known and len(lowered) - len(part) >= 3:
                    return f"{word[:-len(part)]} {word[-len(part):]}"
            return word

        return re.sub(r"[A-Za-z]{6,}", split, text)

    def read(self, text: str, *, exclusion: bool) -> Reading:
        """The rule atoms of one criterion's words, and what was left."""
        used = [False] * len(text)
        reading = Reading()
        reading.window = self._window(text, used)
        thresholds = self._thresholds(text, used)
        hits = self._concepts(text, used)
        now = self._states_now.search(text) is not None
        ever = self._states_ever.search(text) is not None
        if self._negation.search(text) and not thresholds:
            reading.negated = True
        # "active ... within 60 days" asks whether it held in the window, not only today
        self._atoms(text, hits, thresholds, reading, now and not ever and reading.window is None, used)
        self._stable(text, reading, used)
        self._treatment(text, reading, used)
        self._response(text, hits, reading, used)
        self._demographics(text, thresholds, reading, used)
        if (open_list := self._open_list.search(text)) and reading.atoms:
            reading.open_list = open_list.group()
            self._mark(used, open_list.start(), open_list.end())
        reading.not_understood = self._leftovers(text, used)
        reading.alternatives = self._standalone(text, used, reading.not_understood)
        compared = [t.start for t in thresholds if not t.age]
        reading.unnamed = [text[p.start:p.end] for p in unnamed_phrases(text, used, self.rules, compared)]
        return reading

    def recognise(self, text: str) -> tuple[list[Threshold], list[Hit], list[Phrase]]:
        """The thresholds, concepts and unnamed phrases of a text, read as drafting reads them
        (windows first)."""
        used = [False] * len(text)
        self._window(text, used)
        thresholds = self._thresholds(text, used)
        hits = self._concepts(text, used)
        compared = [t.start for t in thresholds if not t.age]
        return thresholds, hits, unnamed_phrases(text, used, self.rules, compared)

    def _mark(self, used: list[bool], start: int, end: int) -> None:
        for index in range(start, min(end, len(used))):
            used[index] = True

    def _window(self, text: str, used: list[bool]) -> str | None:
        for pattern in (self._window_before, self._window_after):
            if match := pattern.search(text):
                raw = (match["n"] or "1").lower()
                amount = self.rules.number_words.get(raw)
                if amount is None:
                    try:
                        amount = int(float(raw.replace(",", ".")))
                    except ValueError:
                        continue
                unit = self.rules.time_units[match["u"].lower()]
                self._mark(used, match.start(), match.end())
                return f"{amount} {unit}{'s' if amount != 1 else ''}"
        return None

    def _thresholds(self, text: str, used: list[bool]) -> list[Threshold]:
        """Comparisons: ranges ("9-12 g/dL", "between 18 and 60 years"), comparator first
        (">= 80 g/L", "<= 3 x ULN", ">= 1:80"), number first ("18 years or older")."""
        found: list[Threshold] = []
        taken: list[tuple[int, int]] = []

        def free(start: int, end: int) -> bool:
            return all(end <= a or start >= b for a, b in taken) and not any(used[start:end])

        def add(start: int, end: int, compares: list[str], age: bool, raw: str = "") -> None:
            for compare in compares:
                found.append(Threshold(start, end, compare, age, raw))
            taken.append((start, end))

        for match in _RANGE.finditer(text):
            if not free(match.start(), match.end()) or re.match(r"\s*:", text[match.end():]):
                continue
            if self._uln_before.search(text[max(0, match.start() - 60):match.start()]):
                continue  # "> ULN (1.0-1.3 mg/dL)": the upper limit stated, not a threshold
            low, high = _num(match["a"]), _num(match["b"])
            if low is None or high is None or low >= high:
                continue
            unit, end, raw = self._unit_at(text, match.end())
            if unit in _DURATION_UNITS and not self._age_near(text, match.start(), end):
                continue  # "1-2 weeks": a duration
            is_age = unit == "years" or (unit is None and self._age_near(text, match.start(), end))
            shown = "" if is_age or unit is None else (unit if unit == "%" else f" {unit}")
            suffix = " years" if is_age else shown
            add(match.start(), end, [f">= {_fmt(low)}{suffix}", f"<= {_fmt(high)}{suffix}"], is_age, raw)
        for op, pattern in self._ops:
            for match in pattern.finditer(text):
                if not free(match.start(), match.end()):
                    continue
                tail = text[match.end():]
                uln = self._uln_multiple.match(tail) or self._uln_only.match(tail)
                if uln is not None:
                    k = uln.groupdict().get("k")
                    end = match.end() + uln.end()
                    stated, end = self._stated_uln(text, end)
                    for compare in [f"{op} {k} x ULN" if k else f"{op} ULN"]:
                        found.append(Threshold(match.start(), end, compare, uln=stated))
                    taken.append((match.start(), end))
                    continue
                titer = re.match(r"\s*(1:\d+)", tail)
                if titer is not None:
                    add(match.start(), match.end() + titer.end(), [f"{op} {titer.group(1)}"], False)
                    continue
                number = re.match(rf"\s*(?P<n>{_NUMBER})", tail)
                value = _num(number["n"]) if number is not None else None
                if number is None or value is None or re.match(r"\s*of\b", tail[number.end():]):
                    continue  # "at least one of the following"
                unit, end, raw = self._unit_at(text, match.end() + number.end())
                # "< 11 g/dL for participants aged 18": a unit that is not years is no age
                is_age = unit == "years" or (unit is None and self._age_near(text, match.start(), end))
                if unit in _DURATION_UNITS and not is_age:
                    continue  # "for at least 48 hours": a duration
                shown = "" if unit is None else (unit if unit == "%" else f" {unit}")
                add(match.start(), end, [f"{op} {_fmt(value)}{' years' if is_age else shown}"], is_age, raw)
        for match in _TRAILING.finditer(text):
            if not free(match.start(), match.end()):
                continue
            op = "<=" if match["op"].lower().split()[-1] in ("younger", "less", "lower", "below", "fewer") else ">="
            value = _num(match["n"])
            unit, _, raw = self._unit_at(text, match.start("n") + len(match["n"]))
            is_age = bool(match["u"]) or unit == "years" or (
                unit is None and self._age_near(text, match.start(), match.end())
            )
            if value is None:
                continue
            shown = "" if is_age or unit is None else (unit if unit == "%" else f" {unit}")
            add(match.start(), match.end(), [f"{op} {_fmt(value)}{' years' if is_age else shown}"], is_age, raw)
        for item in found:
            self._mark(used, item.start, item.end)
        return found

    def _stated_uln(self, text: str, end: int) -> tuple[str, int]:
        """The ULN a text gives after "x ULN" ("(ULN = 40 U/L)", "(1.0-1.3 mg/dL)") as the
        range ``uln_if_missing`` writes, and where it ends; ("", end) when none is given."""
        match = _ULN_STATED.match(text, end)
        if match is None:
            return "", end
        low, high = _num(match["a"]), _num(match["b"] or match["a"])
        unit, unit_end = self._unit(text, match.end())
        closed = re.match(r"\s*(?:[)\]]|[,;.](?:\s|$)|$)", text[unit_end:])
        if unit is None or unit in ("years", "%") or low is None or high is None or low > high or closed is None:
            return "", end
        bracket = closed.end() if ")" in closed.group() or "]" in closed.group() else 0
        return f"{_fmt(low)}-{_fmt(high)} {unit}", unit_end + bracket

    def _unit_at(self, text: str, start: int) -> tuple[str | None, int, str]:
        """The unit written at ``start``: a known unit (or "years", a time unit), where it
        ends, and the raw unit text when it is not one the units file knows."""
        unit, end = self._unit(text, start)
        if unit is not None:
            return unit, end, ""
        time = re.match(r"\s*([A-Za-z]+)\b", text[start:])
        if time is not None and time.group(1).lower() in self.rules.time_units:
            return self.rules.time_units[time.group(1).lower()], start + time.end(), ""
        if time is not None and time.group(1).lower() in ("hour", "hours", "hrs", "h"):
            return "hour", start + time.end(), ""
        raw = _RAW_UNIT.match(text, start)
        if raw is not None:
            return None, raw.end(), raw.group(1)
        return None, start, ""

    def _unit(self, text: str, start: int) -> tuple[str | None, int]:
        """The known unit written at ``start`` (longest first), and where it ends."""
        tail = text[start:start + 30]
        words = re.findall(r"\s*\S+", tail)
        for count in range(min(4, len(words)), 0, -1):
            raw = "".join(words[:count])
            candidate = raw.strip().rstrip(".,;:)").strip()
            if not candidate or (candidate[0].isdigit() and "^" not in candidate and "10" not in candidate[:2]):
                continue
            unit = self._known(candidate)
            if unit is not None:
                return unit, start + len(raw.rstrip()) - (len(raw.strip()) - len(raw.strip().rstrip(".,;:)")))
        return None, start

    def _known(self, candidate: str) -> str | None:
        lowered = candidate.lower()
        if lowered in ("years", "year", "years old", "years of age", "yrs", "y"):
            return "years"
        spelled = self.rules.unit_spellings.get(candidate) or self.rules.unit_spellings.get(lowered)
        if spelled is not None:
            return spelled if known_unit(spelled) else None
        folded = candidate.translate(_SUPERSCRIPT).replace(" ", "")
        folded = re.sub(r"^x?10(\d)", r"10^\1", folded.removeprefix("x"))
        for form in (candidate, folded, folded.replace("10^", "x10^")):
            if known_unit(form):
                return form
        return None

    def _age_near(self, text: str, start: int, end: int) -> bool:
        before = text[max(0, start - 25):start]
        after = text[end:end + 15]
        return bool(self._age.search(before) or re.match(r"\s*(?:years?|yrs?)\b", after, re.IGNORECASE))

    def _concepts(self, text: str, used: list[bool]) -> list[Hit]:
        hits = [
            h for h in self.lexicon.find(text)
            if not any(used[h.start:h.end]) and not _MODIFIER.match(text, h.end)
            and not _AGAINST.search(text, 0, h.start)
        ]
        hits = self._coordinated(text, hits, used)
        hits = _drop_generic(text, hits)
        for hit in hits:
            self._mark(used, hit.start, hit.end)
        for match in [*self._purpose.finditer(text), *self._basis.finditer(text)]:  # why or how: no atom
            hits = [h for h in hits if not match.start() <= h.start < match.end()]
            self._mark(used, match.start(), match.end())
        if self.similarity is not None:
            chunks = self._chunks(text, used)
            for (start, end), best in zip(chunks, self.similarity.nearest([text[a:b] for a, b in chunks]), strict=True):
                if best is not None and best.score >= self.threshold:
                    hits.append(Hit(start, end, best.term, "similar", best.score))
                    self._mark(used, start, end)
            hits = self._coordinated(text, sorted(hits, key=lambda h: h.start), used)
        return _drop_generic(text, sorted(hits, key=lambda h: h.start))

    def _coordinated(self, text: str, hits: list[Hit], used: list[bool]) -> list[Hit]:
        """ "heart and kidney failure", "small or large intestine resection": the word before
        the conjunction shares the phrase's head ("heart failure")."""
        out = list(hits)
        for hit in hits:
            before = _COORDINATED.search(text[:hit.start])
            words = text[hit.start:hit.end].split()
            if before is None or len(words) < 2 or any(used[before.start(1):before.end(1)]):
                continue
            if any(h.start <= before.start(1) < h.end for h in out):
                continue
            candidate = f"{before.group(1)} {' '.join(words[1:])}"
            found = self.lexicon.find(candidate)
            if len(found) == 1 and found[0].start == 0 and found[0].end == len(candidate):
                out.append(Hit(before.start(1), before.end(1), found[0].term, found[0].match, 1.0))
                self._mark(used, before.start(1), before.end(1))
        return sorted(out, key=lambda h: h.start)

    def _chunks(self, text: str, used: list[bool]) -> list[tuple[int, int]]:
        """Runs of unexplained content words between punctuation and conjunctions."""
        chunks = []
        position = 0
        for piece in [*_SPLIT.finditer(text), None]:
            end = piece.start() if piece is not None else len(text)
            words = [t for t in tokenize(text[position:end]) if t.text[0].isalpha()]
            content = [
                t for t in words
                if t.key not in self.rules.filler and t.key not in self.rules.qualifiers
                and not any(used[position + t.start:position + t.end])
            ]
            if content and len(content) <= 6:
                chunks.append((position + content[0].start, position + content[-1].end))
            position = piece.end() if piece is not None else len(text)
        return chunks

    def _atoms(
        self, text: str, hits: list[Hit], thresholds: list[Threshold], reading: Reading, now: bool, used: list[bool]
    ) -> None:
        # a unit the units file does not know cannot be compared: left unexplained
        value_thresholds = sorted((t for t in thresholds if not t.age and not t.unknown_unit), key=lambda t: t.start)
        for threshold in thresholds:
            if threshold.unknown_unit:
                for index in range(threshold.start, threshold.end):
                    used[index] = False
        labs = [h for h in hits if h.term.kind in _LAB_KINDS]
        by_concept: dict[str, list[Threshold]] = {}
        previous_end = 0
        for threshold in value_thresholds:
            # "AST and ALT <= 3 x ULN": every test named since the last threshold shares it
            run = [h for h in labs if previous_end <= h.start and h.end <= threshold.start]
            ratios = [h for h in run if "/" in text[h.start:h.end]]
            if ratios:  # "PaO2 / FiO2 < 200": the ratio's threshold, not its parts'
                run = ratios[-1:]
            if not run:
                before = [h for h in labs if h.end <= threshold.start]
                run = before[-1:] or labs[:1]
            for owner in {h.term.concept: h for h in run}.values():
                if not _takes(owner.term.concept, threshold):
                    continue  # "hemoglobin above 9": 9 what? "ECG > 450": not a number. Never guessed
                by_concept.setdefault(owner.term.concept, []).append(threshold)
            previous_end = threshold.end
        done: set[str] = set()
        present: dict[str, list[str]] = {"concept": [], "classes": [], "exclude": []}
        drugs: dict[str, list[str]] = {"concept": [], "classes": [], "exclude": []}
        excepted = [(m.start(), m.end()) for m in self._except.finditer(text)]
        for word in self._except_word.finditer(text):
            self._mark(used, word.start(), word.end())
        for hit in hits:
            term = hit.term
            if any(start <= hit.start < end for start, end in excepted) and term.kind not in _LAB_KINDS:
                bucket = drugs if term.kind is Kind.MEDICATION else present
                bucket["exclude"].append(term.concept)
                reading.mappings.append({
                    "phrase": text[hit.start:hit.end], "concept": term.concept,
                    "match": hit.match, "confidence": hit.confidence,
                })
                continue
            reading.mappings.append({
                "phrase": text[hit.start:hit.end], "concept": term.concept,
                "match": hit.match, "confidence": hit.confidence,
            })
            if term.kind in _LAB_KINDS:
                own = by_concept.get(term.concept, [])
                if own:
                    if term.concept not in done:
                        bands = _age_bands(own, [t for t in thresholds if t.age and t.start >= hit.end])
                        if bands is not None:
                            reading.atoms.append({"lab": {"concept": term.concept, "by_age": bands[0]}})
                            reading.banded.extend(bands[1])
                        else:
                            reading.atoms.append(self._lab_atom(text, term.concept, own))
                        reading.uses_tests = True
                        done.add(term.concept)
                    continue
                word = self._test_word(text, hit)
                if word is not None:
                    self._mark(used, *word[1])
                    atom: dict[str, Any] = {"lab": {"concept": term.concept, "compare": "positive", "which": "any"}}
                    reading.atoms.append(atom if word[0] == "positive" else {"not": atom})
                    reading.uses_tests = True
                else:
                    for index in range(hit.start, hit.end):
                        used[index] = False  # a test named without a threshold: not understood
                continue
            if term.kind is Kind.DEMOGRAPHIC:
                continue
            bucket = drugs if term.kind is Kind.MEDICATION else present
            names = bucket["classes"] if term.is_class else bucket["concept"]
            if term.concept not in names:
                names.append(term.concept)
            reading.uses_charted = True
        for name, bucket in (("present", present), ("medication", drugs)):
            params = {key: value for key, value in bucket.items() if value}
            if not (params.get("concept") or params.get("classes")):
                continue
            if name == "present":
                params = _generalised(params)
            if reading.window:
                params["window"] = reading.window
            if now:
                params["when"] = "current"
            reading.atoms.append({name: params})
        # every threshold should have found its test; one that did not stays unexplained
        for threshold in value_thresholds:
            if not any(threshold in own for own in by_concept.values()):
                for index in range(threshold.start, threshold.end):
                    used[index] = False

    def _stable(self, text: str, reading: Reading, used: list[bool]) -> None:
        """"a stable dose for at least 6 weeks": the drug taken now at an unchanged dose."""
        stable = self._stable_word.search(text)
        if stable is None or reading.window is None:
            return
        for atom in reading.atoms:
            params = atom.get("medication")
            if isinstance(params, dict) and "window" in params:
                params.pop("when", None)
                duration = params.pop("window")
                atom["stable_medication"] = {**params, "duration": duration}
                del atom["medication"]
                self._mark(used, stable.start(), stable.end())

    def _treatment(self, text: str, reading: Reading, used: list[bool]) -> None:
        """"active infection requiring systemic treatment": the kind, shown charted or by a
        positive test of the thing itself (a viral load), with a drug of the classes that treat
        it taken in the window or planned, prophylaxis not counted."""
        for index, atom in enumerate(reading.atoms):
            params = atom.get("present")
            if not isinstance(params, dict) or params.get("kind") not in self._treated:
                continue
            pattern, spec, tests = self._treated[params["kind"]]
            words = pattern.search(text)
            if words is None:
                continue
            window = {"window": params["window"]} if "window" in params else {}
            shown = [atom, *({"lab": {"concept": test, "compare": "positive", **window}} for test in tests)]
            taken: dict[str, Any] = {"classes": list(spec.classes), **window}
            if spec.not_for:
                taken["not_for"] = list(spec.not_for)
            planned = {"classes": list(spec.classes), **window, "when": "planned"}
            treated = [{"medication": taken}, {"medication": planned}]
            reading.atoms[index] = {"all": [shown[0] if len(shown) == 1 else {"any": shown}, {"any": treated}]}
            reading.uses_tests = reading.uses_tests or len(shown) > 1
            self._mark(used, words.start(), words.end())
            return

    def response_atom(self, text: str, classes: list[str], at_least: int | None = None) -> dict[str, Any] | None:
        """``treatment_response`` when the text says the drug classes failed ("inadequate
        response to at least three of ..."): the classes, how many must have failed (the
        text's "at least N", else ``at_least``, else one), those of which one must be
        among them, and the responses counted when intolerance is named too."""
        found = [value for value, pattern in self._responses.items() if pattern.search(text)]
        if not found or not classes:
            return None
        count = self._count.search(text)
        if count is not None:
            raw = count["n"].lower()
            at_least = int(raw) if raw.isdigit() else self.rules.number_words[raw]
        params: dict[str, Any] = {"classes": classes, "at_least": min(at_least or 1, len(classes))}
        for pattern in self._required:
            if match := pattern.search(text):
                after = text[match.end():]
                required = [c for c in classes if any(
                    h.term.is_class and h.term.concept == c for h in self.lexicon.find(after)
                )]
                if required:
                    params["require_any"] = required
                break
        if "intolerance" in found:
            params["responses"] = ["inadequate_response", "failure", "refractory", "intolerance"]
        return {"treatment_response": params}

    def response_words(self, text: str) -> set[str]:
        """The words of a text that say a response ("inadequate response", "at least three")."""
        words: set[str] = set()
        for pattern in [*self._responses.values(), self._count, *self._required]:
            for match in pattern.finditer(text):
                words |= {t.key for t in tokenize(match.group())}
        return words

    def _response(self, text: str, hits: list[Hit], reading: Reading, used: list[bool]) -> None:
        """A criterion about drug classes that failed: their medication atom becomes
        ``treatment_response`` and the response words are understood."""
        for index, atom in enumerate(reading.atoms):
            params = atom.get("medication")
            if not isinstance(params, dict) or params.get("concept") or not params.get("classes"):
                continue
            replaced = self.response_atom(text, list(params["classes"]))
            if replaced is None:
                return
            reading.atoms[index] = replaced
            for pattern in [*self._responses.values(), self._count, *self._required]:
                for match in pattern.finditer(text):
                    self._mark(used, match.start(), match.end())
            return

    def _lab_atom(self, text: str, concept: str, own: list[Threshold]) -> dict[str, Any]:
        """One test's thresholds: all must hold, unless written as alternatives ("> 94% ... OR
        < 94%"), then any."""
        groups: list[list[Threshold]] = [[own[0]]]
        for previous, threshold in itertools.pairwise(own):
            if re.search(r"\bor\b", text[previous.end:threshold.start], re.IGNORECASE):
                groups.append([])
            groups[-1].append(threshold)
        atoms = []
        for group in groups:
            params: dict[str, Any] = {"concept": concept, "compare": list(dict.fromkeys(t.compare for t in group))}
            if self._any_value.search(text):
                params["which"] = "any"  # "any HbA1c value between ...": not only the latest
            if stated := next((t.uln for t in group if t.uln), ""):
                params["uln_if_missing"] = stated
            atoms.append({"lab": params})
        return atoms[0] if len(atoms) == 1 else {"any": atoms}

    def _test_word(self, text: str, hit: Hit) -> tuple[str, tuple[int, int]] | None:
        around = (max(0, hit.start - 30), min(len(text), hit.end + 30))
        window = text[around[0]:around[1]]
        for polarity, pattern in (("negative", self._negative), ("positive", self._positive)):
            if match := pattern.search(window):
                return polarity, (around[0] + match.start(), around[0] + match.end())
        return None

    def _demographics(self, text: str, thresholds: list[Threshold], reading: Reading, used: list[bool]) -> None:
        ages = [t for t in thresholds if t.age and t not in reading.banded]
        for threshold in ages:
            reading.atoms.append({"age": threshold.compare})
        if not ages and (match := self._adult.search(text)) and len(tokenize(text)) <= 6:
            reading.atoms.append({"age": ">= 18 years"})
            self._mark(used, match.start(), match.end())
        if ages or (reading.atoms and not any("age" in atom for atom in reading.atoms)):
            for match in self._age.finditer(text):
                self._mark(used, match.start(), match.end())
        if both := self._any_sex.search(text):
            self._mark(used, both.start(), both.end())
            reading.atoms.append({"any": [{"sex": "F"}, {"sex": "M"}]})
            return
        sexes = [(sex, m) for sex, pattern in self._sex.items() if (m := pattern.search(text))]
        content = [t for t in tokenize(text) if t.text[0].isalpha() and t.key not in self.rules.filler]
        concepts = any(key in atom for atom in reading.atoms for key in ("present", "medication", "lab"))
        if sexes and not concepts and len(content) <= 4 + 2 * len(sexes):
            for _, match in sexes:
                self._mark(used, match.start(), match.end())
            if len(sexes) == 1:
                reading.atoms.append({"sex": sexes[0][0]})
            else:
                reading.atoms.append({"any": [{"sex": "F"}, {"sex": "M"}]})
        if ages or sexes:
            reading.uses_tests = reading.uses_tests or bool(ages)

    def _leftovers(self, text: str, used: list[bool]) -> list[str]:
        words = []
        for token in tokenize(text):
            if not token.text[0].isalpha() or any(used[token.start:token.end]):
                continue
            if token.key in self.rules.filler or len(token.key) == 1:
                continue
            if self._states_now.fullmatch(token.text) or self._states_ever.fullmatch(token.text):
                continue
            words.append(token.text)
        return words


    def _standalone(self, text: str, used: list[bool], words: list[str]) -> list[str]:
        """Words not understood that stand in a clause with nothing understood ("pregnancy or
        lactation": lactation), as opposed to words beside something understood ("severe
        heart failure": severe)."""
        if not words:
            return []
        out: list[str] = []
        position = 0
        for piece in [*_SPLIT.finditer(text), None]:
            end = piece.start() if piece is not None else len(text)
            clause = [t for t in tokenize(text[position:end]) if t.text[0].isalpha()]
            understood = any(any(used[position + t.start:position + t.end]) for t in clause)
            if not understood:
                out += [t.text for t in clause if t.text in words]
            position = piece.end() if piece is not None else len(text)
        return out


def _drop_generic(text: str, hits: list[Hit]) -> list[Hit]:
    """'hepatitis B (HBV) infection': the head noun after a specific concept of its kind is
    part of that concept, not a second one."""
    kept: list[Hit] = []
    for hit in hits:
        if kept and kept[-1].term.kind is hit.term.kind and kept[-1].term.concept != hit.term.concept:
            between = re.sub(r"[()\[\]\s]", "", re.sub(r"\([^)]*\)", "", text[kept[-1].end:hit.start]))
            if not between and len(hit.term.text.split()) == 1 and hit.term.concept in _GENERIC:
                continue
        kept.append(hit)
    return kept


def _generalised(params: dict[str, Any]) -> dict[str, Any]:
    """A general concept as what it stands for: the concept named for its kind ("active
    infection") as that kind, so a charted pneumonia counts; an ``_unspecified`` concept
    with attributes ("live vaccine": live) with every concept of its kind that has them
    (MMR, varicella, ...), as the vocabulary lists them."""
    concepts = list(params.get("concept", ()))
    if len(concepts) == 1 and not params.get("classes") and concepts[0] in {k.value for k in Kind}:
        rest = {key: value for key, value in params.items() if key != "concept"}
        return {"kind": concepts[0], **rest}
    expanded: list[str] = []
    for concept in concepts:
        expanded.append(concept)
        entry = concepts_by_id().get(concept)
        if entry is None or not concept.endswith("_unspecified"):
            continue
        marks = {a: v for a, v in entry.attrs.items() if a not in ("category", "classes", "class_only")}
        if marks:
            expanded += [
                other for other, e in concepts_by_id().items()
                if e.kind is entry.kind and other != concept and all(e.attrs.get(a) == v for a, v in marks.items())
            ]
    return {**params, "concept": list(dict.fromkeys(expanded))} if concepts else params


def _age_bands(
    own: list[Threshold], ages: list[Threshold]
) -> tuple[list[dict[str, Any]], list[Threshold]] | None:
    """A test's thresholds chosen by age ("5-8 years: < 4.5 g/L, 9 years and older: < 6.0
    g/L"; "< 10 g/dL for ages 12 to 17, < 11 g/dL for 18 or older"): every threshold with
    its own ages, all written before it or all after it. The ``by_age`` bands and the ages
    they used; None when the ages do not pair off with the thresholds."""
    values = sorted(own, key=lambda t: t.start)
    if len(values) < 2 or not ages:
        return None
    for side in ("before", "after"):
        bands: list[dict[str, Any]] = []
        used: list[Threshold] = []
        for index, value in enumerate(values):
            if side == "before":
                low = values[index - 1].end if index else 0
                group = [a for a in ages if low <= a.start and a.end <= value.start]
            else:
                high = values[index + 1].start if index + 1 < len(values) else 1 << 30
                group = [a for a in ages if value.end <= a.start and a.end <= high]
            band = _band(group)
            if band is None:
                break
            bands.append({"age": band, "compare": value.compare})
            used += group
        else:
            return bands, used
    return None


def _band(ages: list[Threshold]) -> str | None:
    """'5-8', '9+', '< 12' from the age comparisons of one band (whole years only)."""
    parts = {}
    for threshold in ages:
        op, number, *_ = threshold.compare.split()
        if not number.isdigit():
            return None
        parts[op] = number
    if set(parts) == {">=", "<="}:
        return f"{parts['>=']}-{parts['<=']}"
    if len(parts) != 1:
        return None
    op, number = next(iter(parts.items()))
    return f"{number}+" if op == ">=" else f"{op} {number}"


def _unitless(threshold: Threshold) -> bool:
    return re.fullmatch(r"[<>=]+ [\d.]+", threshold.compare) is not None


def _takes(concept: str, threshold: Threshold) -> bool:
    """Whether a test can be compared with this threshold: a qualitative test takes no
    number; a number without a unit only for a test measured without one (a score)."""
    entry = concepts_by_id().get(concept)
    attrs = entry.attrs if entry is not None else {}
    if "ULN" in threshold.compare or threshold.compare.split()[-1].startswith("1:"):
        return attrs.get("value_type") != "qualitative"
    if attrs.get("value_type") == "qualitative":
        return False
    return not (_unitless(threshold) and attrs.get("canonical_unit"))


def _num(raw: str) -> float | None:
    cleaned = raw.replace(",", ".")
    if re.fullmatch(r"\d{2,3}\.000", cleaned):  # "50.000 /mmc": a thousands separator
        cleaned = cleaned.replace(".", "")
    try:
        return float(cleaned)
    except ValueError:
        return None


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"

