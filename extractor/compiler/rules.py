"""The reading rules of ``trial draft`` (``patterns/eligibility.yaml``), validated at load."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from extractor.resources import Header, load_model, patterns_dir
from extractor.screening.language import SilencePolicy

Op = Literal[">=", "<=", ">", "<"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sections(_Strict):
    inclusion: tuple[str, ...]
    exclusion: tuple[str, ...]


class LeadIns(_Strict):
    any: tuple[str, ...]
    all: tuple[str, ...]
    at_least: tuple[str, ...]  # regexes with a group ``n``


class States(_Strict):
    current: tuple[str, ...]
    ever: tuple[str, ...]


class UnnamedKind(_Strict):
    """Head words (and endings) of phrases of one kind the vocabularies may not name."""

    heads: frozenset[str]
    suffixes: tuple[str, ...] = ()
    not_heads: frozenset[str] = frozenset()
    modified_only: frozenset[str] = frozenset()  # heads only after a word that says which


class TreatedKind(_Strict):
    """"infection requiring systemic treatment": the words, the drug classes that treat the
    kind, the uses that are no treatment, and the tests whose positive result shows it."""

    words: tuple[str, ...]  # regexes
    classes: tuple[str, ...]
    not_for: tuple[str, ...] = ()
    markers: frozenset[str] = frozenset()  # labs.yaml ``marker`` values that show the kind itself


class EligibilityRules(Header):
    """Everything ``trial draft`` knows about how eligibility text is written."""

    schema_: Literal["eligibility/v1"] = Field(alias="schema")
    sections: Sections
    stop_lines: tuple[str, ...]
    preambles: tuple[str, ...]
    lead_ins: LeadIns
    comparators: dict[Op, tuple[str, ...]]
    uln_words: tuple[str, ...]
    uln_alone: tuple[str, ...]
    number_words: dict[str, int]
    time_units: dict[str, Literal["day", "week", "month", "year"]]
    window_before: tuple[str, ...]
    window_after: tuple[str, ...]
    states: States
    age_words: tuple[str, ...]
    adult_words: tuple[str, ...]
    sex_words: dict[Literal["F", "M"], tuple[str, ...]]
    negative_test: tuple[str, ...]
    positive_test: tuple[str, ...]
    negations: tuple[str, ...]
    filler: frozenset[str]
    silence: SilencePolicy
    unit_spellings: dict[str, str]
    except_words: tuple[str, ...]
    purpose_words: tuple[str, ...]
    qualifiers: frozenset[str]
    any_sex: tuple[str, ...]
    basis_words: tuple[str, ...]
    abbreviation_words: tuple[str, ...]
    responses: dict[Literal["inadequate_response", "failure", "refractory", "intolerance"], tuple[str, ...]]
    open_lists: tuple[str, ...]
    required_class: tuple[str, ...]  # regexes: "at least one ... must involve" (then the classes)
    # in the order heads are tried: a malignancy's "-emia" before a condition's
    unnamed_phrases: dict[Literal["malignancy", "treatment", "measure", "condition"], UnnamedKind]
    treated_kinds: dict[Literal["infection", "condition"], TreatedKind]
    threshold_links: frozenset[str]  # between what a threshold compares and the threshold ("must be")
    subject_stops: frozenset[str]  # words no measure's name holds: prepositions, verbs of counting
    measure_words: frozenset[str]  # filler words that may be part of a measure's name ("serum", "level")


@functools.cache
def eligibility_rules(path: Path | None = None) -> EligibilityRules:
    """The reading rules, loaded once."""
    return load_model(EligibilityRules, path or patterns_dir() / "eligibility.yaml")  # type: ignore[no-any-return]


def alternation(phrases: tuple[str, ...] | list[str]) -> str:
    """A regex matching any of the phrases as whole words, longest first; spaces match any run
    of whitespace."""
    ordered = sorted(phrases, key=len, reverse=True)
    parts = [r"\s+".join(re.escape(word) for word in phrase.split()) for phrase in ordered]
    return "(?:" + "|".join(parts) + ")"
