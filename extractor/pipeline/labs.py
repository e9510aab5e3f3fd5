"""Labs: the value written after a lab's name, normalised to the lab's canonical unit.

The grammar is data (``patterns/lab_values.yaml``): separator, comparator, number or
titer, unit, flag, reference range, or a qualitative word before or after the name.
A bare number takes the unit whose plausible range (``labs.yaml`` ``infer_unit``)
holds it when exactly one does, and is flagged as inferred; otherwise it stays
unnormalised. The multiple of the upper limit of normal comes from a written range or
ULN. Values keep their own character offsets.
"""

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from spacy.language import Language
from spacy.tokens import Doc, Span

from extractor.extensions import register_extensions
from extractor.payloads import LabPayload, TimePayload, get_payload, set_payload
from extractor.pipeline.note_text import note_text
from extractor.pipeline.rule_files import RuleFileComponent, rules_directory
from extractor.resources import VOCABULARY_FILES, Concept, Header, concepts_by_id, load_model
from extractor.units import UnitConverter, converter

VALUE_KINDS = {"LAB", "SCORE"}
COLUMN_TOLERANCE = 6  # characters a table value may sit off its date column
_CELL = re.compile(r"(?<![\w.,/:])(?P<num>\d+(?:\.\d+)?)(?:[ \t]*(?P<flag>\b[HL]\b|\*))?(?![\w.,/:])")


class LabValuesFile(Header):
    schema_: Literal["lab-values/v1"] = Field(alias="schema")
    max_chars_after: int
    separator: str
    comparator: str
    titer: str
    number: str
    unit_gap: str
    flag: str
    reference: str
    uln: str
    table_reference: str
    pattern_words: str
    qualitative_after: str
    qualitative_before: str
    comparators: dict[str, Literal["<", ">", "<=", ">="]]
    qualitative: dict[str, str]


def _float(raw: str | None) -> float | None:
    return float(raw.replace(",", "")) if raw else None


class LabValueReader(RuleFileComponent):
    """Reads values for lab and score mentions into ``span._.lab``."""

    rule_files = ("lab_values.yaml", "units.yaml", *VOCABULARY_FILES)

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
            g.separator + g.comparator + f"(?:{g.titer}|{g.number})" + g.unit_gap
            + f"(?:{unit})?" + g.flag + g.reference + g.table_reference
            + rf"(?:[ \t]+(?P<unit2>{units})(?![A-Za-z0-9]))?" + g.uln + g.pattern_words,
            re.IGNORECASE,
        )
        self._qual_after = re.compile(g.qualitative_after, re.IGNORECASE)
        self._qual_before = re.compile(g.qualitative_before, re.IGNORECASE)

    def __call__(self, doc: Doc) -> Doc:
        ents = list(doc.ents)
        text = note_text(doc)
        dates = [e for e in doc._.time_expressions or () if e.get("precision") == "day"]
        for index, ent in enumerate(ents):
            if ent.label_ not in VALUE_KINDS:
                continue
            limit = self._window_end(text, ent, ents[index + 1] if index + 1 < len(ents) else None)
            result = self.read(text, ent, limit)
            if not result:
                continue
            set_payload(ent, LabPayload.model_validate(result))
            columns = self._column_dates(text, ent, dates)
            if columns:
                self._read_row(text, ent, limit, columns, result.get("unit"))
            elif get_payload(ent, TimePayload) is None:
                preceding = _preceding_date(doc, text, ent, dates)
                if preceding is not None:
                    set_payload(ent, TimePayload.model_validate(preceding))
        return doc

    def _column_dates(self, text: str, ent: Span, dates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Dates heading the columns of the table ``ent``'s row belongs to (two or more on one line)."""
        line_start = text.rfind("\n", 0, ent.start_char) + 1
        if text[line_start : ent.start_char].strip():
            return []  # a table row starts with the lab's name
        block_start = text.rfind("\n\n", 0, line_start)
        above = [d for d in dates if block_start < d["char_start"] < line_start]
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
        concept = self.concepts.get(ent._.concept or "")
        attrs = concept.attrs if concept else {}
        start = ent.end_char
        match = self._numeric.match(text, start, limit)
        if match and (match.group("num") or match.group("titer")):
            return self._numeric_result(match, attrs, ent._.concept)
        match = self._qual_after.match(text, start, limit)
        if match:
            return self._qualitative(match)
        line_start = text.rfind("\n", 0, ent.start_char) + 1
        match = self._qual_before.search(text, max(line_start, ent.start_char - 30), ent.start_char)
        if match:
            return self._qualitative(match)
        return None

    def _qualitative(self, match: re.Match[str]) -> dict[str, Any]:
        word = match.group("qual").lower()
        result: dict[str, Any] = {
            "qualitative": self.grammar.qualitative.get(word, word),
            "value_char_start": match.start("qual"),
            "value_char_end": match.end("qual"),
        }
        times = match.groupdict().get("times")
        if times:
            result["repeat_count"] = int(times)
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
        if groups["flag"]:
            result["flag"] = groups["flag"].strip("()")
        ref_low = _float(groups["ref_low"] or groups["tref_low"])
        ref_high = _float(groups["ref_high"] or groups["tref_high"] or groups["ref_upper"] or groups["uln"])
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


def _preceding_date(doc: Doc, text: str, ent: Span, dates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last full date written before ``ent`` in its section ("Labs (01/08/2025):")."""
    section_start = 0
    for _category, start, end, _title_end in doc._.section_bounds or ():
        if start <= ent.start_char < end:
            section_start = start
    before = [
        d for d in dates
        if section_start <= d["char_start"] < ent.start_char
        and not _shares_line(text, d, dates)
        and not d.get("not_result_date")
    ]
    return before[-1] if before else None


def _shares_line(text: str, date: dict[str, Any], dates: list[dict[str, Any]]) -> bool:
    """True for a date on a line with other dates (a table's column header)."""
    start = text.rfind("\n", 0, date["char_start"]) + 1
    end = text.find("\n", date["char_start"])
    end = len(text) if end == -1 else end
    return sum(1 for d in dates if start <= d["char_start"] < end) > 1


def _infer_unit(value: float, ranges: Any) -> str | None:
    fitting = [r["unit"] for r in ranges if r["low"] <= value <= r["high"]]
    return fitting[0] if len(fitting) == 1 else None


@Language.factory("extractor_labs", default_config={"patterns": ""}, assigns=["span._.lab"])
def make_labs(nlp: Language, name: str, patterns: str) -> LabValueReader:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return LabValueReader(nlp, name, patterns)
