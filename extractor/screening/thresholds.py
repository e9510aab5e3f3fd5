"""Lab thresholds as trials write them, tested against one lab result.

Forms: a value in any unit (">= 80 g/L", "< 450 mg/dL", ">= 6"), a multiple of the
upper limit of normal ("<= 3 x ULN", "> ULN"), a titer (">= 1:80"), or a word
(positive, negative, detected, not_detected, indeterminate, normal, abnormal).

A result is an interval, not a number: "<0.5" is anything below 0.5 and "EF 55-60%" is
the whole range, so a threshold holds (met), fails (not_met) or cannot be told
(unknown) from what was written. Units are converted through ``extractor.units``;
a threshold whose unit cannot be converted is never compared by number alone.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass

from extractor.errors import ResourceError
from extractor.facts import LabResult
from extractor.screening.outcome import Status

_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "≤": "<=", "≥": ">=", "=<": "<=", "=>": ">="}
_OP = r"(?P<op><=|>=|=<|=>|≤|≥|<|>)"
_NUMBER = r"(?P<num>\d+(?:\.\d+)?)"
_ULN = re.compile(rf"^{_OP}\s*(?:(?P<mult>\d+(?:\.\d+)?)\s*[x×*]\s*)?ULN$", re.IGNORECASE)
_TITER = re.compile(rf"^{_OP}\s*1\s*:\s*(?P<titer>\d+)$")
_VALUE = re.compile(rf"^{_OP}\s*{_NUMBER}\s*(?P<unit>\S.*)?$")

POSITIVE = frozenset({"positive", "reactive", "detected", "high", "elevated"})
NEGATIVE = frozenset({"negative", "nonreactive", "not_detected"})
INDETERMINATE = frozenset({"indeterminate", "equivocal"})
WORDS = {
    "positive": "positive", "detected": "positive",
    "negative": "negative", "not_detected": "negative",
    "indeterminate": "indeterminate", "normal": "normal", "abnormal": "abnormal",
}


@dataclass(frozen=True)
class Interval:
    """Possible values of a result: ``low``..``high``, each end open or closed."""

    low: float
    high: float
    low_closed: bool = True
    high_closed: bool = True

    @classmethod
    def of(cls, value: float, comparator: str | None = None, high: float | None = None) -> Interval:
        """The values a written result allows ("<0.5" → below 0.5; "55-60" → 55 to 60)."""
        if high is not None and high >= value:
            return cls(value, high)
        op = _OPS.get(comparator or "")
        if op == "<":
            return cls(-math.inf, value, high_closed=False)
        if op == "<=":
            return cls(-math.inf, value)
        if op == ">":
            return cls(value, math.inf, low_closed=False)
        if op == ">=":
            return cls(value, math.inf)
        return cls(value, value)

    def scaled(self, factor: float) -> Interval:
        return Interval(self.low * factor, self.high * factor, self.low_closed, self.high_closed)

    def against(self, op: str, limit: float) -> Status:
        """Met when every possible value passes ``op limit``, not_met when none does."""
        if op in (">", ">="):
            passes_all = self.low > limit or (self.low == limit and (op == ">=" or not self.low_closed))
            passes_none = self.high < limit or (self.high == limit and (op == ">" or not self.high_closed))
        else:
            passes_all = self.high < limit or (self.high == limit and (op == "<=" or not self.high_closed))
            passes_none = self.low > limit or (self.low == limit and (op == "<" or not self.low_closed))
        if passes_all:
            return Status.MET
        return Status.NOT_MET if passes_none else Status.UNKNOWN


@dataclass(frozen=True)
class Check:
    """One threshold tested against one result: the status and the value as shown in reasons."""

    status: Status
    shown: str  # "96 g/L", "7.9 g/dL (79 g/L)", "2.1 x ULN", "1:320", "positive"
    why: str = ""  # why it could not be told, when unknown


class Threshold(ABC):
    """A parsed threshold; ``text`` is how the trial wrote it, used in reasons."""

    text: str

    @abstractmethod
    def check(self, lab: LabResult, concept: str, uln: UlnRange | None = None) -> Check:
        """Test one result; ``uln`` is the trial's fallback range when the note gives none."""


@dataclass(frozen=True)
class UlnRange:
    """Upper limits of normal a trial accepts when a note gives no reference range."""

    low: float
    high: float
    unit: str

    @classmethod
    def parse(cls, text: str) -> UlnRange:
        match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(?:-|to)\s*(\d+(?:\.\d+)?)\s*(\S.*)$", text)
        if match is None or float(match.group(1)) > float(match.group(2)):
            raise ValueError(f"cannot read ULN range {text!r}: write e.g. '35-60 U/L'")
        return cls(float(match.group(1)), float(match.group(2)), match.group(3).strip())


def parse_threshold(text: str) -> Threshold:
    """Parse one threshold; raise ValueError naming the accepted forms."""
    raw = str(text).strip()
    word = raw.lower().replace(" ", "_")
    if word in WORDS:
        return WordThreshold(raw, WORDS[word])
    if match := _ULN.match(raw):
        return UlnThreshold(raw, _OPS[match["op"]], float(match["mult"] or 1))
    if match := _TITER.match(raw):
        return TiterThreshold(raw, _OPS[match["op"]], int(match["titer"]))
    if match := _VALUE.match(raw):
        unit = (match["unit"] or "").strip() or None
        return ValueThreshold(raw, _OPS[match["op"]], float(match["num"]), unit)
    raise ValueError(
        f"cannot read threshold {raw!r}: write a comparison and a value with its unit "
        "('>= 80 g/L'), a multiple of ULN ('<= 3 x ULN'), a titer ('>= 1:80') or one of "
        + ", ".join(sorted(WORDS))
    )


def fmt(number: float) -> str:
    """A number as a reader writes it: 96, 0.5, 4.5 (no trailing zeros)."""
    text = f"{number:.4g}" if abs(number) < 1e6 else f"{number:.6g}"
    return text if "e" not in text else f"{number:f}".rstrip("0").rstrip(".")


def written(lab: LabResult) -> str:
    """A result as written: comparator, value (or range), unit."""
    if lab.value is None:
        if lab.qualitative:
            return lab.qualitative.replace("_", " ")
        if lab.uln_multiple is not None:
            return f"{fmt(lab.uln_multiple)} x ULN"
        return f"1:{lab.titer}" if lab.titer else "no value"
    value = fmt(lab.value) + (f"-{fmt(lab.value_high)}" if lab.value_high is not None else "")
    unit = "" if not lab.unit else lab.unit if lab.unit == "%" else f" {lab.unit}"
    return f"{lab.comparator or ''}{value}{unit}"


def same_unit(first: str | None, second: str | None) -> bool:
    """Spelling-insensitive unit equality (µ/μ/u, ×/x, ⁹/^9, spaces, case)."""
    if first is None or second is None:
        return False
    return _fold_unit(first) == _fold_unit(second)


def _fold_unit(unit: str) -> str:
    folded = unit.lower().replace(" ", "").replace("µ", "u").replace("μ", "u").replace("×", "x")
    folded = folded.replace("⁹", "^9").replace("³", "^3").replace("²", "2").replace("*", "^")
    return folded.removeprefix("x")


def convert(value: float, unit: str, target: str, concept: str) -> float | None:
    """``value`` in ``unit`` expressed in ``target`` (the lab's canonical unit), if possible."""
    if same_unit(unit, target):
        return value
    from extractor import units  # deferred: loads pint and the unit definitions

    try:
        direct = units.converter().convert(value, unit, target)
        if direct is not None:
            return direct
        if same_unit(target, _canonical_unit(concept)):
            return units.to_canonical(value, unit, concept)
    except ResourceError:
        return None
    return None


def known_unit(unit: str) -> bool:
    """True when ``patterns/units.yaml`` knows this spelling (so it can be converted)."""
    from extractor import units

    return units.converter().expression(unit) is not None


def _canonical_unit(concept: str) -> str | None:
    from extractor.resources import concepts_by_id

    entry = concepts_by_id().get(concept)
    return entry.attrs.get("canonical_unit") if entry is not None else None


@dataclass(frozen=True)
class ValueThreshold(Threshold):
    """``op number unit``; no unit means the lab's own (unitless scores, canonical values)."""

    text: str
    op: str
    limit: float
    unit: str | None

    def check(self, lab: LabResult, concept: str, uln: UlnRange | None = None) -> Check:
        if lab.value is None:
            return Check(Status.UNKNOWN, written(lab), "no numeric value")
        interval = Interval.of(lab.value, lab.comparator, lab.value_high)
        shown = written(lab)
        if self.unit is None:
            if lab.canonical_value is not None and lab.value:
                interval = interval.scaled(lab.canonical_value / lab.value)
            return Check(interval.against(self.op, self.limit), shown)
        if lab.unit is not None and same_unit(lab.unit, self.unit):
            return Check(interval.against(self.op, self.limit), shown)
        if lab.canonical_value is None or lab.canonical_unit is None:
            if lab.unit is None:
                return Check(Status.UNKNOWN, shown, "unit not stated")
            factor = convert(1.0, lab.unit, self.unit, concept)
            if factor is None:
                return Check(Status.UNKNOWN, shown, f"cannot convert {lab.unit} to {self.unit}")
            shown += f" ({fmt(lab.value * factor)} {self.unit})"
            return Check(interval.scaled(factor).against(self.op, self.limit), shown)
        limit = convert(self.limit, self.unit, lab.canonical_unit, concept)
        if limit is None:
            return Check(Status.UNKNOWN, shown, f"cannot convert {self.unit} to {lab.canonical_unit}")
        if lab.value:
            interval = interval.scaled(lab.canonical_value / lab.value)
        inferred = ", unit inferred" if lab.unit is None or lab.unit_inferred else ""
        shown += f" ({fmt(lab.canonical_value)} {lab.canonical_unit}{inferred})"
        return Check(interval.against(self.op, limit), shown)


@dataclass(frozen=True)
class UlnThreshold(Threshold):
    """``op k x ULN``: the result as a multiple of its upper limit of normal."""

    text: str
    op: str
    multiple: float

    def check(self, lab: LabResult, concept: str, uln: UlnRange | None = None) -> Check:
        shown = written(lab)
        if lab.uln_multiple is not None:
            multiples = Interval.of(lab.uln_multiple, lab.comparator)
            if lab.value is not None:
                shown += f" ({fmt(lab.uln_multiple)} x ULN)"
            return Check(multiples.against(self.op, self.multiple), shown)
        if lab.value is not None and lab.ref_high:
            multiples = Interval.of(lab.value, lab.comparator, lab.value_high).scaled(1 / lab.ref_high)
            return Check(
                multiples.against(self.op, self.multiple), f"{shown} (ULN {fmt(lab.ref_high)})"
            )
        word = _word_of(lab)
        if word in POSITIVE or word in NEGATIVE or word in ("low", "normal"):
            above = word in POSITIVE
            multiples = Interval(1, math.inf, low_closed=False) if above else Interval(0, 1)
            status = multiples.against(self.op, self.multiple)
            why = "" if status is not Status.UNKNOWN else f"{word}, no reference range"
            return Check(status, shown if lab.value is not None else word, why)
        if uln is not None and lab.value is not None:
            return _with_fallback(self, lab, concept, uln, shown)
        return Check(Status.UNKNOWN, shown, "no upper limit of normal given")


def _in_range_units(lab: LabResult, concept: str, uln: UlnRange) -> tuple[Interval, float, float] | str:
    """The result and the trial's ULN range in one unit, or why they cannot be compared."""
    value = lab.value if lab.value is not None else 0.0
    interval = Interval.of(value, lab.comparator, lab.value_high)
    if lab.unit is not None and same_unit(lab.unit, uln.unit):
        return interval, uln.low, uln.high
    if lab.canonical_value is None or lab.canonical_unit is None:
        return "unit not stated and no reference range"
    interval = interval.scaled(lab.canonical_value / value) if value else interval
    low = convert(uln.low, uln.unit, lab.canonical_unit, concept)
    high = convert(uln.high, uln.unit, lab.canonical_unit, concept)
    if low is None or high is None:
        return f"cannot convert {uln.unit}"
    return interval, low, high


def _with_fallback(
    threshold: UlnThreshold, lab: LabResult, concept: str, uln: UlnRange, shown: str
) -> Check:
    """Judge against every ULN in the trial's accepted range: decided only if all agree."""
    placed = _in_range_units(lab, concept, uln)
    if isinstance(placed, str):
        return Check(Status.UNKNOWN, shown, placed)
    interval, low, high = placed
    statuses = {interval.scaled(1 / limit).against(threshold.op, threshold.multiple) for limit in (low, high)}
    status = statuses.pop() if len(statuses) == 1 else Status.UNKNOWN
    return Check(status, _assumed(shown, uln), "" if status is not Status.UNKNOWN else "depends on the ULN")


def _assumed(shown: str, uln: UlnRange) -> str:
    return f"{shown} (no reference range; ULN taken as {fmt(uln.low)}-{fmt(uln.high)} {uln.unit})"


def _word_of(lab: LabResult) -> str | None:
    """A result's qualitative reading: its word, else its high/low flag."""
    if lab.qualitative:
        return lab.qualitative.lower()
    if lab.flag:
        flag = lab.flag.strip("()").lower()
        if flag in {"h", "hh", "high"}:
            return "high"
        if flag in {"l", "ll", "low"}:
            return "low"
    return None


@dataclass(frozen=True)
class TiterThreshold(Threshold):
    """``op 1:N``: compares titer denominators (1:320 is above 1:80)."""

    text: str
    op: str
    denominator: int

    def check(self, lab: LabResult, concept: str, uln: UlnRange | None = None) -> Check:
        if lab.titer is not None:
            titers = Interval.of(float(lab.titer), lab.comparator)
            return Check(titers.against(self.op, self.denominator), f"1:{lab.titer}")
        word = _word_of(lab)
        if word in NEGATIVE and self.op in (">", ">="):
            return Check(Status.NOT_MET, word)
        return Check(Status.UNKNOWN, word or written(lab), "titer not stated")


@dataclass(frozen=True)
class WordThreshold(Threshold):
    """A qualitative reading: positive/negative (also from a value against its range),
    indeterminate, normal/abnormal."""

    text: str
    word: str  # positive | negative | indeterminate | normal | abnormal

    def check(self, lab: LabResult, concept: str, uln: UlnRange | None = None) -> Check:
        reading = _reading(lab)
        shown = written(lab) if lab.value is not None else (lab.qualitative or "").replace("_", " ") or written(lab)
        if reading is None and lab.value is not None and uln is not None:
            reading, shown = _reading_by_range(lab, concept, uln), _assumed(shown, uln)
        if reading is None:
            return Check(Status.UNKNOWN, shown, "no qualitative result")
        if self.word in ("positive", "negative"):
            if reading not in ("positive", "negative"):
                return Check(Status.UNKNOWN, shown, f"result {reading}")
            return Check(Status.MET if reading == self.word else Status.NOT_MET, shown)
        if self.word == "indeterminate":
            return Check(Status.MET if reading == "indeterminate" else Status.NOT_MET, shown)
        if reading in ("normal", "abnormal"):
            return Check(Status.MET if reading == self.word else Status.NOT_MET, shown)
        return Check(Status.UNKNOWN, shown, f"result {reading}")


def _reading_by_range(lab: LabResult, concept: str, uln: UlnRange) -> str | None:
    """Positive above every accepted cutoff, negative at or below every one, else None.

    A bare number of a test whose usual unit is the cutoffs' ("beta hCG 2140") is read in
    that unit: only for a positive/negative reading, never for a limit a value must stay under.
    """
    placed = _in_range_units(lab, concept, uln)
    bare = lab.unit is None and lab.canonical_value is None and lab.value is not None
    if isinstance(placed, str) and bare and same_unit(_canonical_unit(concept), uln.unit):
        placed = Interval.of(lab.value or 0.0, lab.comparator, lab.value_high), uln.low, uln.high
    if isinstance(placed, str):
        return None
    interval, low, high = placed
    if interval.against(">", high) is Status.MET:
        return "positive"
    return "negative" if interval.against("<=", low) is Status.MET else None


def _reading(lab: LabResult) -> str | None:
    """positive / negative / indeterminate / normal / abnormal, or None when not readable."""
    word = _word_of(lab)
    if word in POSITIVE:
        return "positive"
    if word in NEGATIVE or word == "low":
        return "negative"
    if word in INDETERMINATE:
        return "indeterminate"
    if word in ("normal", "abnormal"):
        return word
    if lab.value is not None and lab.ref_high is not None:
        return "positive" if Interval.of(lab.value, lab.comparator).low > lab.ref_high else (
            "negative" if Interval.of(lab.value, lab.comparator).high <= lab.ref_high else None
        )
    return None
