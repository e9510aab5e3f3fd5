"""Eligibility text as published, split into sections and a tree of bullets.

Registry pages write criteria as bullets ("-", "*", "•", "1.", "a)"), wrap long ones onto
indented lines, and nest by indentation or by a lead-in ending in ":" ("at least one of
the following:"). Pages copied without their markup (shared/trial/blinatumomab) put one
criterion per line and lose the nesting marks, so a lead-in's bullets run until the
marking changes or a line that reads as a new heading ("SLEDAI-2000 Score: ...") comes.
A table of ``ID   text`` rows (the n2c2 cohort criteria) keeps its ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from extractor.compiler.rules import EligibilityRules, alternation, eligibility_rules

Section = Literal["inclusion", "exclusion"]

_MARKER = re.compile(
    r"^(?P<indent>\s*)(?P<marker>[-*•●▪◦·]|\(?\d{1,2}[.)]|\(?[a-zA-Z][.)]|\(?(?:i{1,3}|iv|v|vi{1,3})[.)])\s+(?P<text>\S.*)$"
)
_ID_ROW = re.compile(r"^(?P<id>[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)\s{2,}(?P<text>\S.*)$")
_HEADING = re.compile(r"^[A-Za-z][A-Za-z0-9 /()'+-]{0,40}:\s+\S")


@dataclass
class Bullet:
    """One bullet: its text as written (wrapped lines joined), its section, its children."""

    text: str
    section: Section
    marker: str = ""  # "-", "1.", "" (a bare line)
    indent: int = 0
    given_id: str = ""  # from an ``ID   text`` table
    children: list[Bullet] = field(default_factory=list)
    line: int = 0

    @property
    def heading(self) -> bool:
        """A line that reads "Heading: ..." (its own criterion, not a continuation)."""
        return _HEADING.match(self.text) is not None


def _marker_kind(marker: str) -> str:
    if not marker:
        return ""
    if marker[-1] in ".)" and marker.strip("()").rstrip(".)").isdigit():
        return "number"
    if marker[-1] in ".)":
        return "letter"
    return "dash"


@dataclass(frozen=True)
class _Line:
    number: int
    indent: int
    marker: str
    text: str


def _section_of(line: str, rules: EligibilityRules) -> Section | None:
    core = line.strip().rstrip(":").strip().lower()
    if core in rules.sections.inclusion:
        return "inclusion"
    if core in rules.sections.exclusion:
        return "exclusion"
    return None


def _stop(line: str, rules: EligibilityRules) -> bool:
    return line.strip().rstrip(":").strip().lower() in rules.stop_lines


def _preamble(text: str, rules: EligibilityRules) -> bool:
    return re.search(alternation(rules.preambles), text, re.IGNORECASE) is not None and text.rstrip().endswith(":")


def lead_in(text: str, rules: EligibilityRules | None = None) -> tuple[str, int] | None:
    """The logic a line gives the bullets after it: ("any", 1), ("all", 0), ("at_least", n),
    ("group", 0) for a bare heading ("Laboratory Parameters:"), or None."""
    rules = rules or eligibility_rules()
    stripped = text.rstrip()
    if not stripped.endswith(":"):
        return None
    for pattern in rules.lead_ins.at_least:
        if match := re.search(pattern, stripped, re.IGNORECASE):
            n = match.group("n").lower()
            return "at_least", int(n) if n.isdigit() else rules.number_words[n]
    if re.search(alternation(rules.lead_ins.any), stripped, re.IGNORECASE):
        return "any", 1
    if re.search(alternation(rules.lead_ins.all), stripped, re.IGNORECASE):
        return "all", 0
    if "following" in stripped.lower():
        return "all", 0
    if len(stripped.split()) <= 5:
        return "group", 0
    return None


def _lines(text: str, rules: EligibilityRules) -> list[tuple[Section, _Line | None]]:
    """Marked and bare lines with their section; wrapped continuations joined. A None line
    is a paragraph break."""
    out: list[tuple[Section, _Line | None]] = []
    section: Section = "inclusion"
    started = False
    raw_lines = text.splitlines()
    table = sum(1 for raw in raw_lines if _ID_ROW.match(raw)) >= 2
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            out.append((section, None))
            continue
        found = _section_of(raw, rules)
        if found is not None:
            section, started = found, True
            out.append((section, None))
            continue
        if _stop(raw, rules):
            if started:
                break
            continue
        if table:
            if match := _ID_ROW.match(raw):
                out.append((section, _Line(number, 0, match["id"], match["text"].strip())))
            elif raw[:1].isspace() and out and out[-1][1] is not None:
                prev = out[-1][1]
                assert prev is not None
                out[-1] = (section, _Line(prev.number, prev.indent, prev.marker, f"{prev.text} {raw.strip()}"))
            else:
                out.append((section, None))
            continue
        indent = len(raw) - len(raw.lstrip())
        if match := _MARKER.match(raw):
            out.append((section, _Line(number, len(match["indent"]), match["marker"], match["text"].strip())))
            continue
        previous = out[-1][1] if out else None
        if previous is not None and previous.marker and indent > previous.indent:
            joined = f"{previous.text} {raw.strip()}"
            out[-1] = (section, _Line(previous.number, previous.indent, previous.marker, joined))
            continue
        out.append((section, _Line(number, indent, "", raw.strip())))
    return out


def _is_id_table(text: str) -> bool:
    return sum(1 for raw in text.splitlines() if _ID_ROW.match(raw)) >= 2


def parse_blocks(text: str, rules: EligibilityRules | None = None) -> list[Bullet]:
    """The top-level bullets of an eligibility block, in order, children attached."""
    rules = rules or eligibility_rules()
    table = _is_id_table(text)
    has_sections = any(_section_of(raw, rules) for raw in text.splitlines())
    entries = _lines(text, rules)
    if has_sections:  # text before the first section header is the page around it
        first = next(i for i, raw in enumerate(text.splitlines(), start=1) if _section_of(raw, rules))
        entries = [(s, line) for s, line in entries if line is None or line.number > first]
    bullets: list[Bullet] = []
    for section, line in entries:
        if line is None or _preamble(line.text, rules):
            continue
        if table:
            bullets.append(Bullet(line.text, section, "", 0, line.marker, line=line.number))
        else:
            bullets.append(Bullet(line.text, section, line.marker, line.indent, line=line.number))
    return bullets if table else _nest(bullets, rules)


def _nest(flat: list[Bullet], rules: EligibilityRules) -> list[Bullet]:
    """Attach children to lead-ins: by deeper indentation, else by the run of bullets after a
    lead-in ending in ":" within the same section."""
    top: list[Bullet] = []
    index = 0
    while index < len(flat):
        bullet = flat[index]
        index += 1
        top.append(bullet)
        logic = lead_in(bullet.text, rules)
        deeper = _run(flat, index, lambda b, first=bullet: b.indent > first.indent and bool(b.marker))
        if deeper and bullet.marker:
            bullet.children = _nest(deeper, rules)
            index += len(deeper)
            continue
        if logic is None:
            continue
        children: list[Bullet] = []
        while index < len(flat) and flat[index].section == bullet.section:
            child = flat[index]
            if lead_in(child.text, rules) is not None and child.marker == bullet.marker:
                break
            if children and _marker_kind(child.marker) != _marker_kind(children[0].marker):
                break
            if children and not child.marker and child.heading and not children[0].heading:
                break
            children.append(child)
            index += 1
        bullet.children = children
    return top


def _run(flat: list[Bullet], start: int, keep: Callable[[Bullet], bool]) -> list[Bullet]:
    out = []
    for bullet in flat[start:]:
        if not keep(bullet):
            break
        out.append(bullet)
    return out
