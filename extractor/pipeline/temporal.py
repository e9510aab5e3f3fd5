"""Time: dates and relative expressions, normalised against the note's date, tied to facts.

Each expression of ``patterns/time.yaml`` resolves to a date or an interval ("3 months
ago" on a note of 2025-03-01 is 2024-12-01; "in March 2023" is March 2023 as an
interval; "in March" is the most recent March not after the note). An expression is
linked to the nearest concept in its sentence. A condition dated well before the note
becomes historical; a medication's time is read by the medication stage.
"""

import calendar
import datetime as dt
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from spacy.language import Language
from spacy.tokens import Doc

from extractor.extensions import register_extensions
from extractor.facts import Temporality
from extractor.payloads import TimePayload, context_of, set_payload
from extractor.pipeline.note_text import note_text
from extractor.pipeline.rule_files import RuleFileComponent, rules_directory
from extractor.pipeline.sentence_index import SentenceIndex
from extractor.resources import CONCEPT_FILES, Header, concepts_by_id, load_model

Resolver = Literal[
    "range", "date", "month", "year", "ago", "last_unit", "within", "relative_day", "named_month", "age", "this_unit",
    "month_day", "season",
]
HISTORICAL_KINDS = {"CONDITION", "INFECTION", "PROCEDURE", "VACCINE"}


class TimeRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    resolve: Resolver
    cue: str | None = None  # a regex every match contains: the rule runs only on lines holding it
    regex: str

    def model_post_init(self, __context: Any) -> None:
        for regex in (self.regex, self.cue or ""):
            re.compile(regex)
            # matching runs case-sensitively on the lower-cased note (twice as fast as IGNORECASE)
            if re.search(r"[A-Z]", re.sub(r"\\.|\(\?P[<=]", "", regex)):
                raise ValueError(f"time rule {self.name!r}: write the regex in lower case (matching ignores case)")


class TimeFile(Header):
    schema_: Literal["time/v1"] = Field(alias="schema")
    chronic_categories: tuple[str, ...]
    not_result_date_cues: tuple[str, ...]
    months: dict[str, int]
    numbers: dict[str, int]
    units: dict[str, str]
    seasons: dict[str, tuple[int, int]] = Field(default_factory=dict)  # first and last month
    # labels whose value, opening a line, is the document's own date ("Date: 09/18/2025      Indication:
    # ... post kidney transplant"): it dates no mention written beside it
    document_date_labels: tuple[str, ...] = ()
    rules: tuple[TimeRule, ...]


def shift(anchor: dt.date, amount: int, unit: str) -> dt.date:
    """``anchor`` moved back by ``amount`` units, clamping the day at month ends."""
    if unit == "day":
        return anchor - dt.timedelta(days=amount)
    if unit == "week":
        return anchor - dt.timedelta(weeks=amount)
    months = amount * (12 if unit == "year" else 1)
    month_index = anchor.year * 12 + anchor.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


class TimeNormalizer(RuleFileComponent):
    """Finds time expressions (``doc._.time_expressions``) and links them (``span._.time``)."""

    rule_files = ("time.yaml", *CONCEPT_FILES)

    def __init__(
        self,
        nlp: Language,
        name: str = "extractor_time",
        patterns: str = "",
        historical_after_days: int = 30,
    ) -> None:
        register_extensions()
        self.name = name
        self.historical_after = dt.timedelta(days=historical_after_days)
        self.load_rules(rules_directory(patterns))

    def load_rules(self, directory: Path) -> None:
        self.rules: TimeFile = load_model(TimeFile, directory / "time.yaml")
        self._compiled = [
            (rule, re.compile(rule.regex), re.compile(rule.regex, re.IGNORECASE)) for rule in self.rules.rules
        ]
        self._cues = {rule.cue: re.compile(rule.cue) for rule in self.rules.rules if rule.cue}
        cues = "|".join(re.escape(cue) for cue in self.rules.not_result_date_cues)
        self._not_result_date = re.compile(rf"(?<!\w)(?:{cues})(?!\w)") if cues else None
        labels = "|".join(re.escape(label) for label in self.rules.document_date_labels)
        field = rf"(?:^|\n)[ \t]*(?:{labels})[ \t]*:[ \t]*$"
        self._document_date = re.compile(field, re.IGNORECASE) if labels else None
        self._concepts = concepts_by_id(directory)
        self.rules_dir = directory

    # ------------------------------------------------------------------ finding
    def find(self, text: str, note_date: dt.date | None) -> list[dict[str, Any]]:
        """Every time expression in ``text``, longest first where they overlap, resolved."""
        found = []
        lower = text.lower()
        same_offsets = len(lower) == len(text)  # a few characters lower-case to two
        regions = _CueRegions(lower, self._cues) if same_offsets else None
        for rule, on_lower, ignoring_case in self._compiled:
            if regions is None:
                spans: list[tuple[int, int]] = [(0, len(text))]
                pattern, haystack = ignoring_case, text
            else:
                spans = regions.of(rule.cue)
                pattern, haystack = on_lower, lower
            for pos, endpos in spans:
                for match in pattern.finditer(haystack, pos, endpos):
                    found.append((match.start(), match.end(), rule, match))
        found.sort(key=lambda item: (-(item[1] - item[0]), item[0]))
        taken = bytearray(len(text))  # characters already in an expression: overlap tests stay linear
        expressions = []
        for start, end, rule, match in found:
            if any(taken[start:end]):
                continue
            resolved = self._resolve(rule.resolve, match, note_date)
            if resolved is None:
                continue
            taken[start:end] = b"\x01" * (end - start)
            expressions.append(
                {"text": text[start:end], "char_start": start, "char_end": end, **resolved}
            )
        expressions.sort(key=lambda e: e["char_start"])
        return expressions

    def _number(self, raw: str) -> int | None:
        raw = raw.lower()
        return int(raw) if raw.isdigit() else self.rules.numbers.get(raw)

    def _resolve(self, how: str, match: re.Match[str], anchor: dt.date | None) -> dict[str, Any] | None:
        groups = {k: v for k, v in match.groupdict().items() if v is not None}
        month = None
        if "monthname" in groups:
            month = self.rules.months.get(groups["monthname"].lower().rstrip("."))
        elif "month" in groups:
            month = int(groups["month"])
        year = None
        if "year" in groups:
            year = int(groups["year"])
            if year < 100:
                year += 2000 if year <= (anchor.year % 100 if anchor else 30) + 1 else 1900
        try:
            if how == "date":
                return _point(dt.date(year, month, int(groups["day"])), "day")
            if how == "month":
                last = calendar.monthrange(year, month)[1]
                return _interval(dt.date(year, month, 1), dt.date(year, month, last), "month")
            if how == "year":
                return _interval(dt.date(year, 1, 1), dt.date(year, 12, 31), "year")
            if how == "range":
                return self._range(groups, year, month, anchor)
            if how == "age":
                return {"age": int(groups["age"]), "precision": "age"}
        except (TypeError, ValueError):
            return None
        if anchor is None:
            return {"precision": "unresolved"}
        try:
            return self._relative(how, groups, month, anchor)
        except (ValueError, OverflowError):  # off the calendar ("300 years ago" in year 100): unresolved
            return {"precision": "unresolved"}

    def _relative(self, how: str, groups: dict[str, str], month: int | None, anchor: dt.date) -> dict[str, Any] | None:
        """A relative expression resolved against the note's date (may raise off the calendar)."""
        if how == "ago":
            amount = self._number(groups["num"])
            unit = self.rules.units.get(groups["unit"].lower())
            if amount is None or unit is None:
                return None
            return _point(shift(anchor, amount, unit), unit)
        if how == "within":
            amount = self._number(groups["num"])
            unit = self.rules.units.get(groups["unit"].lower())
            if amount is None or unit is None:
                return None
            return _interval(shift(anchor, amount, unit), anchor, unit)
        if how == "last_unit":
            unit = groups["unit"].lower()
            return _interval(shift(anchor, 1, unit), anchor, unit)
        if how == "this_unit":  # "earlier this year": from the unit's first day to the note
            unit = groups["unit"].lower()
            first = (
                anchor.replace(month=1, day=1) if unit == "year"
                else anchor.replace(day=1) if unit == "month"
                else anchor - dt.timedelta(days=anchor.weekday())
            )
            return _interval(first, anchor, unit)
        if how == "relative_day":
            days = 1 if groups["word"].lower() in {"yesterday", "last night"} else 0
            return _point(anchor - dt.timedelta(days=days), "day")
        if how == "month_day" and month is not None:
            try:
                day = dt.date(anchor.year, month, int(groups["day"]))
                if day > anchor:
                    day = dt.date(anchor.year - 1, month, int(groups["day"]))
            except ValueError:
                return None
            return _point(day, "day")
        if how == "season" and groups.get("season", "").lower() in self.rules.seasons:
            return _season(self.rules.seasons[groups["season"].lower()], anchor)
        if how == "named_month" and month is not None:
            year = anchor.year if month <= anchor.month else anchor.year - 1
            last = calendar.monthrange(year, month)[1]
            return _interval(dt.date(year, month, 1), dt.date(year, month, last), "month")
        return None

    def _range(
        self, groups: dict[str, str], year: int | None, month: int | None, anchor: dt.date | None
    ) -> dict[str, Any] | None:
        """A course from its first to its last day, at the coarser precision of its two ends."""
        if year is None:
            return None
        day = int(groups["day"]) if "day" in groups else None
        start = dt.date(year, month or 1, day or 1)
        if "ongoing" in groups:
            if anchor is None or anchor < start:
                return None
            end = anchor
        else:
            year2 = int(groups["year2"])
            month2 = int(groups["month2"]) if "month2" in groups else None
            day2 = int(groups["day2"]) if "day2" in groups else None
            end = dt.date(year2, month2 or 12, day2 or calendar.monthrange(year2, month2 or 12)[1])
        if end < start:
            return None
        precision = "day" if day and ("ongoing" in groups or "day2" in groups) else "month" if month else "year"
        return _interval(start, end, precision)

    # ------------------------------------------------------------------ linking
    def __call__(self, doc: Doc) -> Doc:
        note_date = _iso(doc._.note_date)
        text = note_text(doc)
        expressions = self.find(text, note_date)
        for expression in expressions:
            if self._on_cue_line(text, expression["char_start"]):
                expression["not_result_date"] = True  # a birth or admission date, not a result's
        doc._.time_expressions = expressions
        if not expressions:
            return doc
        # a field giving the document's date dates nothing else on its line
        datable = [e for e in expressions if not self._dates_document(text, e["char_start"])]
        sentences = SentenceIndex.of(doc)
        starts = [e["char_start"] for e in datable]  # sorted: find() orders them
        # drugs by position: a time belongs to the nearer of two drugs in a list ("HCQ since 2016,
        # MTX 2017"); labs and conditions share a trailing date ("ANA and dsDNA last checked 2022")
        ents = doc.ents  # spaCy builds the tuple anew on every read
        concepts = [ent._.concept or "" for ent in ents]
        by_label: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        for ent, concept in zip(ents, concepts, strict=True):
            by_label[ent.label_].append((ent.start_char, ent.end_char, concept))
        all_starts = [ent.start_char for ent in ents]
        for ent, concept in zip(ents, concepts, strict=True):
            if ent.label_ == "DEMOGRAPHIC":
                continue
            sent = sentences.sent(ent)
            # the sentence's expressions by bisection: a long note's cost stays linear
            in_sentence = datable[bisect_left(starts, sent.start_char) : bisect_left(starts, sent.end_char)]
            same_kind = by_label[ent.label_]
            candidates = [
                e for e in in_sentence
                if not (ent.start_char <= e["char_start"] < ent.end_char)
                and _same_clause(text, ent.start_char, ent.end_char, e, all_starts)
                and (
                    ent.label_ != "MEDICATION"
                    or concept in _dated_drugs(text, same_kind, e)
                )
            ]
            if not candidates:
                continue
            nearest = min(candidates, key=lambda e: _distance(ent.start_char, ent.end_char, e))
            set_payload(ent, TimePayload.model_validate(nearest))
            if self._dates_make_historical(ent) and note_date is not None:
                latest = nearest.get("end") or nearest.get("date")
                if latest is not None and _iso(latest) < note_date - self.historical_after:
                    historical = context_of(ent).model_copy(update={"temporality": Temporality.HISTORICAL})
                    set_payload(ent, historical)
        return doc

    def _dates_document(self, text: str, char: int) -> bool:
        """Whether the expression at ``char`` is the value of a line's document-date field."""
        if self._document_date is None:
            return False
        return self._document_date.search(text, max(0, text.rfind("\n", 0, char)), char) is not None

    def _on_cue_line(self, text: str, char: int) -> bool:
        if self._not_result_date is None:
            return False
        start = text.rfind("\n", 0, char) + 1
        end = text.find("\n", char)
        line = text[start : len(text) if end == -1 else end].lower()
        return self._not_result_date.search(line) is not None

    def _dates_make_historical(self, ent: Any) -> bool:
        """Whether an old date makes this mention historical (not for chronic conditions)."""
        if ent.label_ not in HISTORICAL_KINDS:
            return False
        concept = self._concepts.get(ent._.concept or "")
        return concept is None or concept.attrs.get("category") not in self.rules.chronic_categories


class _CueRegions:
    """The lines of a note holding each cue, as ``(pos, endpos)`` regions to run a rule on.

    A rule's match never spans a line break, so running it on the lines holding its cue
    finds exactly what running it on the whole note finds; most lines hold no date, and
    the rules' regexes are the costliest part of this stage. A region's end includes the
    line's newline, so a lookahead at the line's end sees what it sees in the whole note.
    """

    def __init__(self, lower: str, cues: dict[str, re.Pattern[str]]) -> None:
        self._lower = lower
        self._cues = cues
        self._line_starts = [0, *(m.end() for m in re.finditer("\n", lower))]
        self._regions: dict[str, list[tuple[int, int]]] = {}

    def of(self, cue: str | None) -> list[tuple[int, int]]:
        """Regions of consecutive lines holding ``cue``; the whole note when there is no cue."""
        if cue is None:
            return [(0, len(self._lower))]
        if cue not in self._regions:
            starts = self._line_starts
            regions: list[tuple[int, int]] = []
            for line in self._lines_holding(self._cues[cue]):
                end = starts[line + 1] if line + 1 < len(starts) else len(self._lower)
                if regions and regions[-1][1] == starts[line]:
                    regions[-1] = (regions[-1][0], end)
                else:
                    regions.append((starts[line], end))
            self._regions[cue] = regions
        return self._regions[cue]

    def _lines_holding(self, cue: re.Pattern[str]) -> Iterator[int]:
        """The lines holding ``cue``, in order: the search resumes at the next line after a
        hit, since more hits on the same line add nothing ("mar" in every "marked")."""
        starts = self._line_starts
        match = cue.search(self._lower)
        while match is not None:
            line = bisect_right(starts, match.start()) - 1
            yield line
            if line + 1 == len(starts):
                return
            match = cue.search(self._lower, starts[line + 1])


def _season(months: tuple[int, int], anchor: dt.date) -> dict[str, Any]:
    """The most recent such season begun by the note's date, up to that date ("in the spring"
    written in August: March to May; "this winter" in January: December to the note)."""
    first, last = months
    year = anchor.year if dt.date(anchor.year, first, 1) <= anchor else anchor.year - 1
    end_year = year if last >= first else year + 1
    end = dt.date(end_year, last, calendar.monthrange(end_year, last)[1])
    return _interval(dt.date(year, first, 1), min(end, anchor), "month")


def _point(date: dt.date, precision: str) -> dict[str, Any]:
    return {"date": date.isoformat(), "precision": precision}


def _interval(start: dt.date, end: dt.date, precision: str) -> dict[str, Any]:
    return {"start": start.isoformat(), "end": end.isoformat(), "precision": precision}


def _iso(value: str | dt.date | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


_LIST_ITEM = re.compile(r"\n[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]")


def _same_clause(text: str, start: int, end: int, expression: dict[str, Any], starts: list[int]) -> bool:
    """Whether a time expression may date a mention: not from before a semicolon ("MMF stopped
    01/2024; belimumab started"), not across a semicolon into a clause with its own mentions
    (an elliptical "...; currently 7.5 mg, unchanged since 01/10/2025" still dates the drug),
    not from another list item, and not from inside a parenthesis closed before the mention."""
    if expression["char_start"] >= end:
        between = text[end : expression["char_start"]]
        semicolon = between.rfind(";")
        if semicolon != -1:
            clause_start = end + semicolon
            if bisect_left(starts, expression["char_start"]) > bisect_left(starts, clause_start):
                return False
    else:
        between = text[expression["char_end"] : start]
        if between.count(")") > between.count("(") or ";" in between:
            return False
    return _LIST_ITEM.search(between) is None


def _nearest_of_kind(text: str, mentions: list[tuple[int, int, str]], expression: dict[str, Any]) -> str:
    """Of the mentions of one kind, the concept a time expression sits nearest to: of the
    drugs of a list, a date belongs to the one it is written beside ("HCQ since 2016, MTX
    2017"); a brand name beside its generic is the same drug."""
    index = bisect_left(mentions, (expression["char_start"], -1, ""))
    neighbours = mentions[max(0, index - 1) : index + 1]

    def gap(mention: tuple[int, int, str]) -> int:
        if expression["char_start"] >= mention[1]:
            return expression["char_start"] - mention[1]
        ahead = text[expression["char_end"] : mention[0]]
        if ";" in ahead or "\n" in ahead:
            return len(text)  # a date never dates the next clause or line
        return 4 * (mention[0] - expression["char_end"])  # a date is mostly written after its drug

    return min(neighbours, key=gap)[2]


_LIST_DATE_GAP = 25  # characters from a date to the first drug of the list it heads
_COORDINATION = re.compile(r"[ \t]*(?:,|and|&|\+|,[ \t]*and)[ \t]*", re.IGNORECASE)


def _dated_drugs(text: str, mentions: list[tuple[int, int, str]], expression: dict[str, Any]) -> set[str]:
    """The drugs a time expression dates: the one it sits nearest to, and when that one is
    written just after it, the drugs coordinated with it ("04/2023, treated with IV
    methylprednisolone and anakinra": both; a date far before a list stays with its first)."""
    nearest = _nearest_of_kind(text, mentions, expression)
    dated = {nearest}
    index = bisect_left(mentions, (expression["char_start"], -1, ""))
    if (
        index >= len(mentions)
        or mentions[index][2] != nearest
        or mentions[index][0] - expression["char_end"] > _LIST_DATE_GAP
    ):
        return dated
    for previous, following in zip(mentions[index:], mentions[index + 1 :], strict=False):
        if not _COORDINATION.fullmatch(text, previous[1], following[0]):
            break
        dated.add(following[2])
    return dated


def _distance(start: int, end: int, expression: dict[str, Any]) -> int:
    if expression["char_start"] >= end:
        return expression["char_start"] - end
    return start - expression["char_end"] + 1  # slight preference for a time after the mention


@Language.factory(
    "extractor_time",
    default_config={"patterns": "", "historical_after_days": 30},
    assigns=["doc._.time_expressions", "span._.time"],
)
def make_time(nlp: Language, name: str, patterns: str, historical_after_days: int) -> TimeNormalizer:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return TimeNormalizer(nlp, name, patterns, historical_after_days)
