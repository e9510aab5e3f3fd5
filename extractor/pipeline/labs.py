"""Labs: the value written after a lab's name, normalised to the lab's canonical unit.

The grammar is data (``patterns/lab_values.yaml``): separator, comparator, number or
titer, unit, flag, reference range, or a qualitative word before or after the name.
A bare number takes the unit whose plausible range (``labs.yaml`` ``infer_unit``)
holds it when exactly one does, and is flagged as inferred; otherwise it stays
unnormalised. The multiple of the upper limit of normal comes from a written range or
ULN. Values keep their own character offsets. A concept whose result is not one number
(a blood pressure's "120/80", "NYHA class III", "Child-Pugh B") gives its own
``value_pattern`` in the vocabulary, with ``value_map`` turning words into numbers.
"""

import bisect
import re
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from spacy.language import Language
from spacy.tokens import Doc, Span

from extractor.extensions import register_extensions
from extractor.payloads import LabPayload, TimePayload, get_payload, set_payload
from extractor.pipeline.note_text import note_text
from extractor.pipeline.rule_files import RuleFileComponent, rules_directory
from extractor.pipeline.sections import SectionIndex
from extractor.resources import CONCEPT_FILES, Concept, Header, concepts_by_id, load_model
from extractor.units import UnitConverter, converter

VALUE_KINDS = {"LAB", "SCORE", "VITAL"}
COLUMN_TOLERANCE = 6  # characters a table value may sit off its date column
_PAIR_JOIN = re.compile(r"[ \t]*(?:/|and|&)[ \t]*", re.IGNORECASE)
_CELL = re.compile(r"(?<![\w.,/:])(?P<num>\d+(?:\.\d+)?)(?:[ \t]*(?P<flag>\b[HL]\b|\*))?(?![\w.,/:])")


class LabValuesFile(Header):
    schema_: Literal["lab-values/v1"] = Field(alias="schema")
    max_chars_after: int
    label_qualifier: str
    separator: str
    comparator: str
    titer: str
    number: str
    unit_gap: str
    flag: str
    reference: str
    uln: str
    table_cells: str
    pattern_words: str
    qualitative_after: str
    qualitative_before: str
    comparators: dict[str, Literal["<", ">", "<=", ">="]]
    qualitative: dict[str, str]


def _float(raw: str | None) -> float | None:
    return float(raw.replace(",", "")) if raw else None


class LabValueReader(RuleFileComponent):
    """Reads values for lab and score mentions into ``span._.lab``."""

    rule_files = ("lab_values.yaml", "units.yaml", *CONCEPT_FILES)

    def __init__(self, nlp: Language, name: str = "extractor_labs", patterns: str = "") -> None:
        register_extensions()
        self.name = name
        self.load_rules(rules_directory(patterns))

    def load_rules(self, directory: Path) -> None:
        self.rules_dir = directory
        self.grammar: LabValuesFile = load_model(LabValuesFile, directory / "lab_values.yaml")
        self.units: UnitConverter = converter(directory / "units.yaml")
        self.concepts: dict[str, Concept] = concepts_by_id(directory)
        g = self.grammar
        units = "|".join(re.escape(u) for u in self.units.written_units if u != "K")
        unit = rf"(?P<unit>{units})(?![A-Za-z0-9])"
        self._numeric = re.compile(
            g.label_qualifier + g.separator + g.comparator + f"(?:{g.titer}|{g.number})" + g.unit_gap
            + f"(?:{unit})?" + g.flag + g.reference + g.table_cells.replace("{unit}", units)
            + g.uln + g.pattern_words,
            re.IGNORECASE,
        )
        self._own_patterns = {
            concept_id: re.compile(g.separator + concept.attrs["value_pattern"], re.IGNORECASE)
            for concept_id, concept in self.concepts.items()
            if concept.kind.value.upper() in VALUE_KINDS and "value_pattern" in concept.attrs
        }
        self._qual_after = re.compile(g.label_qualifier + g.qualitative_after, re.IGNORECASE)
        # the second value of a pair starts right at its place: no label words before it
        self._bare_numeric = re.compile(
            g.comparator + f"(?:{g.titer}|{g.number})" + g.unit_gap + f"(?:{unit})?" + g.flag + g.reference
            + g.table_cells.replace("{unit}", units) + g.uln + g.pattern_words,
            re.IGNORECASE,
        )
        self._bare_qual = re.compile(g.qualitative_after, re.IGNORECASE)
        self._qual_before = re.compile(g.qualitative_before, re.IGNORECASE)

    def __call__(self, doc: Doc) -> Doc:
        ents = list(doc.ents)
        text = note_text(doc)
        dates = [e for e in doc._.time_expressions or () if e.get("precision") == "day"]
        preceding = _PrecedingDates(doc, text, dates)
        date_starts = [d["char_start"] for d in dates]  # sorted, as time expressions are
        paired = self._pairs(text, ents)
        for index, ent in enumerate(ents):
            if ent.label_ not in VALUE_KINDS:
                continue
            limit = self._window_end(text, ent, ents[index + 1] if index + 1 < len(ents) else None)
            result = paired.get(index) or self.read(text, ent, limit)
            if not result:
                continue
            set_payload(ent, LabPayload.model_validate(result))
            columns = self._column_dates(text, ent, dates, date_starts)
            if columns:
                self._read_row(text, ent, limit, columns, result.get("unit"))
            elif get_payload(ent, TimePayload) is None:
                before = preceding.before(ent)
                if before is not None:
                    set_payload(ent, TimePayload.model_validate(before))
        return doc

    def _pairs(self, text: str, ents: list[Span]) -> dict[int, dict[str, Any]]:
        """Paired results, "Hgb and Hct 11.2 and 34", "HBsAg/anti-HBc: neg/neg": each name
        takes the value in its own place."""
        found: dict[int, dict[str, Any]] = {}
        for index in range(len(ents) - 1):
            first, second = ents[index], ents[index + 1]
            if first.label_ not in VALUE_KINDS or second.label_ not in VALUE_KINDS:
                continue
            if _PAIR_JOIN.fullmatch(text, first.end_char, second.start_char) is None:
                continue
            limit = self._window_end(text, second, ents[index + 2] if index + 2 < len(ents) else None)
            one = self.read(text, second, limit)
            end = (one or {}).get("value_char_end")
            join = _PAIR_JOIN.match(text, end, limit) if end is not None else None
            if one is None or join is None:
                continue
            two = self.read_at(text, second, join.end(), limit, separator=False)
            if two is not None:
                found[index], found[index + 1] = self.read_at(text, first, second.end_char, limit) or one, two
        return found

    def _column_dates(
        self, text: str, ent: Span, dates: list[dict[str, Any]], starts: list[int] | None = None
    ) -> list[dict[str, Any]]:
        """Dates heading the columns of the table ``ent``'s row belongs to (two or more on one line)."""
        line_start = text.rfind("\n", 0, ent.start_char) + 1
        if text[line_start : ent.start_char].strip():
            return []  # a table row starts with the lab's name
        block_start = text.rfind("\n\n", 0, line_start)
        starts = [d["char_start"] for d in dates] if starts is None else starts
        above = dates[bisect.bisect_right(starts, block_start) : bisect.bisect_left(starts, line_start)]
        if not above:
            return []
        header_line = text.rfind("\n", 0, above[-1]["char_start"]) + 1
        on_line = [d for d in above if text.rfind("\n", 0, d["char_start"]) + 1 == header_line]
        if len(on_line) < 2:
            return []
        # a row belongs to the table only when each of its values sits under a date column
        line_end = text.find("\n", ent.end_char)
        line_end = len(text) if line_end == -1 else line_end
        cells = list(_CELL.finditer(text, ent.end_char, line_end))
        offsets = [d["char_start"] - header_line for d in on_line]
        aligned = all(
            min(abs((c.start() - line_start) - o) for o in offsets) <= COLUMN_TOLERANCE for c in cells
        )
        return on_line if cells and aligned and len(cells) <= len(on_line) else []

    def _read_row(self, text: str, ent: Span, limit: int, columns: list[dict[str, Any]], unit: str | None) -> None:
        """Values of a table row, each tied to the date heading its column."""
        line_start = text.rfind("\n", 0, ent.start_char) + 1
        header_start = text.rfind("\n", 0, columns[0]["char_start"]) + 1
        concept = self.concepts.get(ent._.concept or "")
        attrs = concept.attrs if concept else {}
        series = []
        for cell in _CELL.finditer(text, ent.end_char, limit):
            column = cell.start() - line_start
            nearest = min(columns, key=lambda d: abs((d["char_start"] - header_start) - column))
            value = float(cell.group("num"))
            lab: dict[str, Any] = {
                "value": value,
                "value_char_start": cell.start("num"),
                "value_char_end": cell.end("num"),
            }
            if unit:
                lab["unit"] = unit
            if cell.group("flag"):
                lab["flag"] = cell.group("flag")
            self._normalise(lab, value, unit, attrs, ent._.concept)
            series.append({"lab": lab, "time": nearest})
        if series:
            set_payload(ent, LabPayload.model_validate(series[0]["lab"]))
            set_payload(ent, TimePayload.model_validate(series[0]["time"]))
            ent._.lab_series = series[1:]

    def _window_end(self, text: str, ent: Span, following: Span | None) -> int:
        line_end = text.find("\n", ent.end_char)
        limit = len(text) if line_end == -1 else line_end
        limit = min(limit, ent.end_char + self.grammar.max_chars_after)
        if following is not None and following.label_ in VALUE_KINDS:
            limit = min(limit, following.start_char)
        return limit

    def read(self, text: str, ent: Span, limit: int) -> dict[str, Any] | None:
        """The result written for ``ent``, from the text between it and ``limit``."""
        result = self.read_at(text, ent, ent.end_char, limit)
        if result is not None:
            return result
        line_start = text.rfind("\n", 0, ent.start_char) + 1
        match = self._qual_before.search(text, max(line_start, ent.start_char - 30), ent.start_char)
        if match:
            return self._qualitative(match)
        return None

    def read_at(
        self, text: str, ent: Span, start: int, limit: int, *, separator: bool = True
    ) -> dict[str, Any] | None:
        """The result written from ``start`` on, for ``ent``'s concept (``separator=False``:
        the value itself starts there, as the second of a pair does)."""
        concept = self.concepts.get(ent._.concept or "")
        attrs = concept.attrs if concept else {}
        own = self._own_patterns.get(ent._.concept or "")
        if own is not None:  # a result that is not one number: the concept's own pattern, or nothing
            match = own.match(text, start, limit) if separator else None
            return self._own_result(match, attrs, ent._.concept) if match else None
        numeric = self._numeric if separator else self._bare_numeric
        match = numeric.match(text, start, limit)
        if match and (match.group("num") or match.group("titer")):
            return self._numeric_result(match, attrs, ent._.concept)
        match = (self._qual_after if separator else self._bare_qual).match(text, start, limit)
        if match:
            return self._qualitative(match)
        return None

    def _qualitative(self, match: re.Match[str]) -> dict[str, Any]:
        word = match.group("qual").lower()
        if match.groupdict().get("normal_reading"):
            word = "normal"  # an ECG read as sinus rhythm with nothing abnormal named
        elif match.groupdict().get("below_quantification"):
            word = "detected_below_quantification"  # a trace, neither a clear positive nor a negative
        result: dict[str, Any] = {
            "qualitative": self.grammar.qualitative.get(word, word),
            "value_char_start": match.start("qual"),
            "value_char_end": match.end("qual"),
        }
        groups = match.groupdict()
        if groups.get("times"):
            result["repeat_count"] = int(groups["times"])
        if groups.get("titer"):  # "Positive 1:320": the titer decides a threshold, the word does not
            result["titer"] = int(groups["titer"].split(":")[1].strip())
        return result

    def _numeric_result(self, match: re.Match[str], attrs: dict[str, Any], concept: str | None) -> dict[str, Any]:
        groups = match.groupdict()
        result: dict[str, Any] = {}
        if groups["titer"]:
            result["titer"] = int(groups["titer"].split(":")[1].strip())
            result["value_char_start"], result["value_char_end"] = match.span("titer")
        else:
            result["value"] = _float(groups["num"])
            result["value_char_start"], result["value_char_end"] = match.span("num")
            if groups["num_high"]:
                result["value_high"] = _float(groups["num_high"])
        if groups["cmp"]:
            result["comparator"] = self.grammar.comparators.get(groups["cmp"].lower(), groups["cmp"])
        unit = groups["unit"] or groups["unit2"]
        if groups["thousands"] and not unit:
            unit = "K"
        elif groups["thousands"] and result.get("value") is not None:
            result["value"] *= 1000
        if unit:
            result["unit"] = unit
        flag = groups["flag"] or groups["tflag"]
        if flag:
            result["flag"] = flag.strip("()")
        ref_low = _float(groups["ref_low"] or groups["tref_low"])
        ref_high = _float(
            groups["ref_high"] or groups["tref_high"] or groups["ref_upper"] or groups["tref_upper"] or groups["uln"]
        )
        if ref_low is not None:
            result["ref_low"] = ref_low
        if ref_high is not None:
            result["ref_high"] = ref_high
        if groups["pattern"]:
            result["pattern"] = groups["pattern"].lower()
        value = result.get("value")
        if value is not None:
            self._normalise(result, value, unit, attrs, concept)
            if ref_high:
                result["uln_multiple"] = round(value / ref_high, 3)
            elif groups.get("uln_times"):  # "ALT 120 (3x ULN)": the note states the multiple
                result["uln_multiple"] = _float(groups["uln_times"])
        return result

    def _own_result(self, match: re.Match[str], attrs: dict[str, Any], concept: str | None) -> dict[str, Any]:
        """A value read by the concept's own pattern: ``num``, optionally ``diastolic`` and ``unit``."""
        groups = match.groupdict()
        raw = groups["num"]
        mapped = attrs.get("value_map", {}).get(raw.upper(), raw)
        result: dict[str, Any] = {"value": float(mapped), "value_char_start": match.start("num")}
        result["value_char_end"] = match.end("num")
        if groups.get("diastolic"):
            result["diastolic"] = float(groups["diastolic"])
            result["value_char_end"] = match.end("diastolic")
        unit = groups.get("unit")
        if unit:
            result["unit"] = unit
        self._normalise(result, result["value"], unit, attrs, concept)
        return result

    def _normalise(
        self, result: dict[str, Any], value: float, unit: str | None, attrs: dict[str, Any], concept: str | None
    ) -> None:
        canonical = attrs.get("canonical_unit")
        if canonical is None:
            return
        if unit is None:
            unit = _infer_unit(value, attrs.get("infer_unit", ()))
            if unit is None:
                return
            result["unit_inferred"] = True
            result["inferred_unit"] = unit
        converted = self.units.convert(value, unit, canonical, attrs.get("molar_mass_g_per_mol"))
        if converted is not None:
            result["canonical_value"] = round(converted, 6)
            result["canonical_unit"] = canonical


class _PrecedingDates:
    """The last full date written before a lab in its section ("Labs (01/08/2025):").

    A date on a line with other dates (a table's column header) or on a birth/admission
    line does not count. Built once per note, each look-up by bisection, so a long note
    with thousands of labs and dates costs linear time, not labs x dates x dates.
    """

    def __init__(self, doc: Doc, text: str, dates: list[dict[str, Any]]) -> None:
        per_line = Counter(_line_start(text, d["char_start"]) for d in dates)
        note_date = doc._.note_date
        self.text = text
        self.usable = [
            d for d in dates
            if per_line[_line_start(text, d["char_start"])] == 1
            and not d.get("not_result_date")
            and (note_date is None or d.get("date") is None or d["date"] <= str(note_date))
        ]
        self.starts = [d["char_start"] for d in self.usable]  # sorted, as time expressions are
        self.sections = SectionIndex(doc._.section_bounds)

    def before(self, ent: Span) -> dict[str, Any] | None:
        section = self.sections.at(ent.start_char)
        section_start = section[1] if section is not None else 0
        index = bisect.bisect_left(self.starts, ent.start_char) - 1
        while index >= 0 and self.starts[index] >= section_start:
            if not _in_other_item(self.text, self.usable[index], ent.start_char):
                return self.usable[index]
            index -= 1
        return None


def _line_start(text: str, char: int) -> int:
    return text.rfind("\n", 0, char) + 1


_ITEM_START = re.compile(r"[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]")


def _in_other_item(text: str, date: dict[str, Any], char: int) -> bool:
    """True for a date in a list item other than the one at ``char`` ("- GI: colonoscopy
    12/12/2025" does not date the next item's echo)."""
    line_start = text.rfind("\n", 0, date["char_start"]) + 1
    return text.find("\n", date["char_start"], char) != -1 and _ITEM_START.match(text, line_start) is not None


def _infer_unit(value: float, ranges: Any) -> str | None:
    fitting = [r["unit"] for r in ranges if r["low"] <= value <= r["high"]]
    return fitting[0] if len(fitting) == 1 else None


@Language.factory("extractor_labs", default_config={"patterns": ""}, assigns=["span._.lab"])
def make_labs(nlp: Language, name: str, patterns: str) -> LabValueReader:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return LabValueReader(nlp, name, patterns)
