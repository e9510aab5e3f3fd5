"""Oncology attributes: a cancer's histology, stage, spread and course, from its own sentence.

Rules are data (``patterns/oncology.yaml``). The fact stage asks for them only for
mentions of a concept in the malignancy category, so the regexes (built once, one per
attribute) run over one clause of a few sentences per note, never the whole text. Each
attribute keeps the offsets of the words it was read from, so a reviewer sees "stage IIIB"
highlighted, not only the cancer's name. As ``qualifiers.py``: the clause is the mention's
sentence cut at ";" and at ``max_chars`` each side; of several readings the nearest wins,
and words inside the mention count ("invasive ductal carcinoma" names its histology).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from extractor.facts import (
    DiseaseCourse,
    DiseaseStatus,
    Histology,
    Metastasis,
    MetastaticSite,
    OncologyDetails,
    Stage,
)
from extractor.resources import Header, load_model, patterns_dir

RULE_FILE = "oncology.yaml"
_ROMAN = {"0": 0, "I": 1, "II": 2, "III": 3, "IV": 4}
_TNM_GROUPS = {"prefix", "t", "n", "m"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetastaticRules(_Strict):
    absent: tuple[str, ...] = Field(min_length=1)
    absent_before: tuple[str, ...] = ()
    absent_reach: int = Field(default=0, ge=0)
    present: tuple[str, ...] = Field(min_length=1)
    site_reach: int = Field(gt=0)
    site_lead: tuple[str, ...] = Field(min_length=1)
    site_joiners: tuple[str, ...] = ()
    sites: dict[str, tuple[str, ...]]


class OncologyFile(Header):
    """``oncology.yaml``: histology names, stage regexes, spread and course phrases."""

    schema_: Literal["oncology/v1"] = Field(alias="schema")
    max_chars: int = Field(gt=0)
    histology_reach: int = Field(ge=0)
    histologies: dict[str, tuple[str, ...]]
    stages: tuple[str, ...] = Field(min_length=1)
    stage_not_followed_by: tuple[str, ...] = ()
    metastatic: MetastaticRules
    ignored: tuple[str, ...] = ()
    status: dict[DiseaseStatus, tuple[str, ...]]

    @field_validator("stages")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                groups = set(re.compile(pattern).groupindex)
            except re.error as exc:
                raise ValueError(f"stage pattern {pattern!r} does not compile: {exc}") from exc
            if "group" not in groups and "t" not in groups:
                raise ValueError(f"stage pattern {pattern!r} names neither a 'group' nor a 't' group")
            if groups - {"group", "sub"} - _TNM_GROUPS:
                raise ValueError(f"stage pattern {pattern!r} has unknown groups {sorted(groups)}")
        return patterns


def _phrases(words: dict[str, str]) -> re.Pattern[str]:
    """One whole-word, case-blind alternation of ``words`` (longest first)."""
    ordered = sorted(words, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in ordered) + r")(?![\w-])", re.I)


def _table(groups: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {phrase.lower(): value for value, phrases in groups.items() for phrase in phrases}


class OncologyReader:
    """Reads the oncology attributes written around one cancer mention."""

    def __init__(self, path: Path | None = None) -> None:
        spec: OncologyFile = load_model(OncologyFile, path or patterns_dir() / RULE_FILE)
        self.max_chars = spec.max_chars
        self._histology_reach = spec.histology_reach
        self._histology_of = _table(spec.histologies)
        self._histology = _phrases(self._histology_of)
        self._stages = tuple(re.compile(p) for p in spec.stages)
        self._not_stage = (
            re.compile(r"[ \t]*(?:" + "|".join(re.escape(w) for w in spec.stage_not_followed_by) + r")\b", re.I)
            if spec.stage_not_followed_by
            else None
        )
        rules = spec.metastatic
        self._absent = _phrases({w.lower(): "absent" for w in rules.absent})
        self._present = _phrases({w.lower(): "present" for w in rules.present})
        # a denying word, then words without a comma or semicolon, up to the present word
        self._denial = (
            re.compile(
                r"(?<![\w-])(?:"
                + "|".join(re.escape(w) for w in sorted(rules.absent_before, key=len, reverse=True))
                + r")(?![\w-])[^,;]*$",
                re.I,
            )
            if rules.absent_before
            else None
        )
        self._absent_reach = rules.absent_reach
        self._site_of = _table(rules.sites)
        self._sites = _phrases(self._site_of)
        self._site_reach = rules.site_reach
        self._lead = re.compile(r"[ \t]+(?:" + "|".join(re.escape(w) for w in rules.site_lead) + r")[ \t]+", re.I)
        joiners = "|".join(re.escape(w) for w in sorted(rules.site_joiners, key=len, reverse=True)) or "(?!)"
        self._joined = re.compile(r"(?:[ \t-]|(?:" + joiners + r"))*", re.I)  # what may part listed sites
        self._status_of = _table(spec.status)  # type: ignore[arg-type]
        self._status = _phrases(self._status_of)
        self._ignored = _phrases({w.lower(): "ignored" for w in spec.ignored}) if spec.ignored else None

    def read(self, text: str, start: int, end: int, sent_start: int, sent_end: int) -> OncologyDetails | None:
        """The attributes written around the mention at ``start:end``, or None when none is."""
        low = max(sent_start, start - self.max_chars, text.rfind(";", sent_start, start) + 1)
        high = text.find(";", end, sent_end)
        high = min(sent_end if high == -1 else high, end + self.max_chars)
        ignored = tuple(m.span() for m in self._ignored.finditer(text, low, high)) if self._ignored else ()
        clause = _Clause(text, start, end, low, high, ignored)
        details = OncologyDetails(
            histology=self._read_histology(clause),
            stage=self._read_stage(clause),
            metastatic=self._read_metastasis(clause),
            status=self._read_status(clause),
        )
        stage = details.stage
        if details.metastatic is None and stage is not None and stage.m is not None and stage.m[0] in "01":
            # M1 (M1a, M1b...) is distant spread; M0 is none
            metastasis = Metastasis(
                value=stage.m[0] == "1", char_start=stage.char_start, char_end=stage.char_end, text=stage.text
            )
            details = details.model_copy(update={"metastatic": metastasis})
        if details == _NOTHING:
            return None
        return details

    def _read_histology(self, clause: _Clause) -> Histology | None:
        match = clause.nearest(clause.find(self._histology))
        if match is None or clause.gap(match) > self._histology_reach:
            return None
        return Histology(value=self._histology_of[match.group(0).lower()], **_span(match))

    def _read_stage(self, clause: _Clause) -> Stage | None:
        candidates = []
        for pattern in self._stages:
            for match in clause.find(pattern):
                if (
                    "group" in pattern.groupindex
                    and self._not_stage
                    and self._not_stage.match(clause.text, match.end())
                ):
                    continue  # "stage 3 chronic kidney disease"
                candidates.append(match)
        match = clause.nearest(candidates)
        if match is None:
            return None
        found = match.groupdict()
        if found.get("group") is not None:
            numeral = found["group"].upper()
            sub = (found.get("sub") or "").upper()
            group = int(numeral) if numeral.isdigit() else _ROMAN[numeral]
            return Stage(value=numeral + sub, group=group, **_span(match))
        parts = [f"{found.get('prefix') or ''}T{found['t']}"]
        parts += [f"{letter.upper()}{found[letter]}" for letter in ("n", "m") if found.get(letter)]
        return Stage(value=" ".join(parts), t=found["t"], n=found.get("n"), m=found.get("m"), **_span(match))

    def _read_metastasis(self, clause: _Clause) -> Metastasis | None:
        denied = clause.nearest(clause.find(self._absent))
        affirmed = clause.nearest(m for m in clause.find(self._present) if not _inside_any(m, denied))
        if affirmed is not None and self._denial is not None:
            window = max(clause.low, affirmed.start() - self._absent_reach)
            denial = self._denial.search(clause.text, window, affirmed.start())
            if denial is not None:  # "no evidence of distant metastatic disease"
                return Metastasis(
                    value=False,
                    char_start=denial.start(),
                    char_end=affirmed.end(),
                    text=clause.text[denial.start() : affirmed.end()],
                )
        if denied is not None and (affirmed is None or clause.gap(denied) <= clause.gap(affirmed)):
            return Metastasis(value=False, **_span(denied))
        if affirmed is None:
            return None
        sites = self._read_sites(clause, affirmed)
        return Metastasis(value=True, sites=sites, **_span(affirmed))

    def _read_sites(self, clause: _Clause, cue: re.Match[str]) -> tuple[MetastaticSite, ...]:
        """Sites named right before the cue, alone or listed ("liver metastases", "bone and bladder
        metastatic disease"), or after it led by "to"/"in"... ("metastatic to the liver and bone"),
        or after the mention the cue stands before ("metastatic breast cancer to her ribs")."""
        text, high = clause.text, clause.high
        found: list[MetastaticSite] = []
        before = list(self._sites.finditer(text, max(clause.low, cue.start() - 40), cue.start()))
        edge = cue.start()
        for match in reversed(before):  # the site right before the cue, then those listed before it
            gap = text[match.end() : edge]
            if (edge == cue.start() and gap.strip(" \t-")) or self._joined.fullmatch(gap) is None:
                break
            found.append(MetastaticSite(value=self._site_of[match.group(0).lower()], **_span(match)))
            edge = match.start()
        leads = [cue.end()]
        if cue.end() <= clause.start:
            leads.append(clause.end)  # "metastatic breast cancer to her ribs"
        for after in leads:
            lead = self._lead.match(text, after, high)
            if lead is None:
                continue
            for match in self._sites.finditer(text, lead.end(), min(high, after + self._site_reach)):
                found.append(MetastaticSite(value=self._site_of[match.group(0).lower()], **_span(match)))
        unique: dict[str, MetastaticSite] = {}
        for site in found:
            unique.setdefault(site.value, site)
        return tuple(unique.values())

    def _read_status(self, clause: _Clause) -> DiseaseCourse | None:
        match = clause.nearest(clause.find(self._status))
        if match is None:
            return None
        return DiseaseCourse(value=self._status_of[match.group(0).lower()], **_span(match))  # type: ignore[arg-type]


_NOTHING = OncologyDetails()


@dataclass(frozen=True)
class _Clause:
    """Where one mention's attributes are read: ``text[low:high]`` around the mention at ``start:end``,
    less the ``ignored`` spans (a risk, a question, a work-up)."""

    text: str
    start: int
    end: int
    low: int
    high: int
    ignored: tuple[tuple[int, int], ...]

    def find(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        """The pattern's matches in the clause, none inside an ignored phrase."""
        for match in pattern.finditer(self.text, self.low, self.high):
            if not any(a <= match.start() and match.end() <= b for a, b in self.ignored):
                yield match

    def gap(self, match: re.Match[str]) -> int:
        """Characters between a match and the mention (0 when they overlap)."""
        if match.end() <= self.start:
            return self.start - match.end()
        if match.start() >= self.end:
            return match.start() - self.end
        return 0

    def nearest(self, matches: Iterable[re.Match[str]]) -> re.Match[str] | None:
        """The match closest to the mention; the earlier of two as close."""
        best: re.Match[str] | None = None
        for match in matches:
            if best is None or (self.gap(match), match.start()) < (self.gap(best), best.start()):
                best = match
        return best


def _span(match: re.Match[str]) -> dict[str, object]:
    return {"char_start": match.start(), "char_end": match.end(), "text": match.group(0)}


def _inside_any(match: re.Match[str], outer: re.Match[str] | None) -> bool:
    return outer is not None and outer.start() <= match.start() and match.end() <= outer.end()


@functools.cache
def oncology_reader() -> OncologyReader:
    """The bundled rules, loaded once per process."""
    return OncologyReader()
