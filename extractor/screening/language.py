"""The trial language: a YAML file of criteria, validated at load, compiled to rule trees.

```yaml
schema: trial/v1
name: my-trial            # the trial id
title: ...
description: ...
version: 1
source: ...
license: ...
criteria:
  - id: inc-hemoglobin
    type: inclusion       # or exclusion
    text: "Hemoglobin >= 80 g/L."
    absent: unknown       # what silence in the chart means: unknown | not_met | met
    rule:
      lab: {concept: hemoglobin, compare: ">= 80 g/L"}
  - id: inc-consent
    type: inclusion
    text: "Written informed consent."
    absent: unknown
    person_only: true     # only a person can decide: always unknown
    reason: "not understood: informed consent"   # optional: why (written by `trial draft`)
  - id: exc-active-infection
    type: exclusion
    text: "Active infection requiring systemic treatment within 1 week."
    absent: not_met
    rule:
      present: {kind: infection, window: 1 week}
    negative_evidence:    # optional: what a not_met rests on, cited when it holds
      - not: {present: {concept: [fever, cough], when: current}}
```

``unexpressed: "words"`` is a rule part recording text the rule does not cover: it is
unknown, so the criterion is unknown unless its expressed parts already decide it. A
criterion may carry ``mapping`` (how a draft mapped its phrases to concepts, with a
confidence) and the trial a ``silence`` policy (the default ``absent`` of inclusions,
exclusions about charted conditions or drugs, and tests); both are read by people and by
``extractor trial check``, not by screening.

A rule is one mapping: ``all: [...]``, ``any: [...]``, ``not: {...}``, ``at_least: n`` with
``of: [...]``, ``first_of: [...]`` (the first rule that finds anything decides),
``first_met: [...]`` (the first rule that holds decides and alone is cited; else as ``any``),
``review: {...}`` (when it holds, a person must judge: unknown), ``sufficient: {...}`` (a
proxy that can show the criterion holds but not that it fails), or a predicate name with
its parameters (see ``extractor.screening.predicates``). Every error names the file, the
line and the criterion.

``negative_evidence`` lists rules, in the same language, about the statements a not_met
rests on when the chart says so ("NKDA", "no fevers, no cough", "UPCR 0.09", "16 y/o
male"): the criterion's concepts denied, related symptoms denied, a related test normal.
They never change a status; a not_met cites each one that holds
(``extractor.screening.negative``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from extractor.resources import Header
from extractor.screening.engine import (
    AllNode,
    AnyNode,
    AtLeastNode,
    FirstMetNode,
    FirstOfNode,
    Node,
    NotNode,
    PredicateNode,
    ReviewNode,
    SufficientNode,
    UnexpressedNode,
)
from extractor.screening.errors import TrialError, TrialErrors
from extractor.screening.outcome import Status
from extractor.screening.predicates import PREDICATES
from extractor.screening.vocabulary_check import check_names

SCHEMA = "trial/v1"


class Located(dict[str, Any]):
    """A YAML mapping that remembers the line it starts on and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


# Limits of a trial file: far above any real trial, far below what exhausts memory or the stack.
MAX_TRIAL_BYTES = 1_000_000
MAX_DEPTH = 40  # nested YAML collections
MAX_ALIASES = 100  # "*name" references
MAX_NODES = 200_000  # YAML nodes once every alias is expanded (a 2 KB alias bomb makes billions)
MAX_DIGITS = 9  # digits in one number of a rule: windows, thresholds, counts


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings are ``Located``, whose duplicate keys are errors, and which
    refuses documents nested deeper than ``MAX_DEPTH`` or with more than ``MAX_ALIASES`` aliases."""

    path: str = "<trial>"

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:  # type: ignore[override]
        line = self.peek_event().start_mark.line + 1
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _limit(self.path, line, f"more than {MAX_ALIASES} aliases")
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise TrialError(TrialErrors.T008.format(path=self.path, line=line, limit=MAX_DEPTH))
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self.depth -= 1


def _limit(path: str, line: int, problem: str) -> TrialError:
    return TrialError(
        TrialErrors.T009.format(path=path, line=line, problem=problem, aliases=MAX_ALIASES, nodes=MAX_NODES)
    )


def _expanded_size(node: yaml.Node, path: str) -> int:
    """How many nodes the document has once aliases are expanded, counted without expanding
    (each shared node once, memoised), failing as soon as it passes ``MAX_NODES``."""
    sizes: dict[int, int] = {}

    def size(item: yaml.Node) -> int:
        known = sizes.get(id(item))
        if known is not None:
            return known
        total = 1
        if isinstance(item, yaml.SequenceNode):
            total += sum(size(child) for child in item.value)
        elif isinstance(item, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in item.value)
        if total > MAX_NODES:
            raise _limit(path, item.start_mark.line + 1, f"expands to more than {MAX_NODES} nodes")
        sizes[id(item)] = total
        return total

    return size(node)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    mapping = Located()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in mapping:
            raise TrialError(TrialErrors.T006.format(path=loader.path, line=line, key=key))
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[str(key)] = line
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_located(path: Path) -> Any:
    """Parse a YAML file keeping line numbers, within the limits above; errors name the file and line."""
    try:
        size = path.stat().st_size
        if size > MAX_TRIAL_BYTES:
            raise TrialError(TrialErrors.T007.format(path=path, size=size, limit=MAX_TRIAL_BYTES))
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, TrialError):
            raise
        raise TrialError(TrialErrors.T005.format(path=path, problem=type(exc).__name__)) from exc
    try:
        loader = _LineLoader(text)  # the reader checks every character here
    except yaml.reader.ReaderError as exc:  # a NUL byte or another character YAML does not allow
        line = text.count("\n", 0, exc.position) + 1
        problem = f"character {chr(exc.character)!r} is not allowed in YAML"
        raise TrialError(TrialErrors.T001.format(path=path, line=line, problem=problem)) from None
    loader.path = str(path)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, str(path))
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else "?"
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise TrialError(TrialErrors.T001.format(path=path, line=line, problem=problem)) from exc
    finally:
        loader.dispose()


def _check_numbers(value: Any, path: Path, line: int) -> None:
    """Every number in a rule, bare or inside a string (">= 80 g/L", "3 months"), has at most
    ``MAX_DIGITS`` digits before its decimal point: no window of 99999999 years, no 1e400."""
    line = _line(value, line)
    if isinstance(value, dict):
        for key, item in value.items():
            key_line = value.key_lines.get(str(key), line) if isinstance(value, Located) else line
            _check_numbers(key, path, key_line)
            _check_numbers(item, path, key_line)
    elif isinstance(value, list):
        for item in value:
            _check_numbers(item, path, line)
    elif isinstance(value, float) and not math.isfinite(value):
        raise TrialError(TrialErrors.T010.format(path=path, line=line, problem=f"{value} is not a usable number"))
    elif _too_many_digits(value):
        raise TrialError(TrialErrors.T010.format(path=path, line=line, problem=_too_big()))


def _too_many_digits(value: Any) -> bool:
    if isinstance(value, str):
        return _LONG_NUMBER.search(value) is not None
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= 10**MAX_DIGITS


_LONG_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1},}}|\d[eE][+-]?\d")


def _too_big() -> str:
    return f"a number with more than {MAX_DIGITS} digits (or an exponent): windows and thresholds must be plausible"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Mapping(_Strict):
    """How a drafted criterion's phrase was mapped to a concept, and how sure that is."""

    phrase: str = Field(min_length=1)
    concept: str = Field(min_length=1)
    match: Literal["exact", "synonym", "similar"]
    confidence: float = Field(ge=0, le=1)


class SilencePolicy(_Strict):
    """What silence means by default: the ``absent`` a draft gives each kind of criterion."""

    inclusion: Status = Status.UNKNOWN
    exclusion_charted: Status = Status.NOT_MET  # an exclusion about conditions or drugs
    tests: Status = Status.UNKNOWN  # a lab, score or age that must be measured
    note: str = ""


class CriterionSpec(_Strict):
    """One criterion as written in the trial file."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    type: Literal["inclusion", "exclusion"]
    text: str = Field(min_length=1)
    absent: Status
    person_only: bool = False
    reason: str = ""
    mapping: tuple[Mapping, ...] = ()
    rule: Any = None
    negative_evidence: tuple[Any, ...] = ()

    @model_validator(mode="after")
    def _rule_or_person(self) -> CriterionSpec:
        if self.person_only and self.rule is not None:
            raise ValueError("a person_only criterion has no rule")
        if not self.person_only and self.rule is None:
            raise ValueError("give a rule, or person_only: true")
        if self.person_only and self.negative_evidence:
            raise ValueError("a person_only criterion has no negative_evidence")
        return self


class TrialFile(Header):
    """A trial file: the header every rule file carries, then its criteria."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["trial/v1"] = Field(alias="schema")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    silence: SilencePolicy | None = None
    criteria: tuple[CriterionSpec, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Criterion:
    """A compiled criterion: its contract fields and its rule tree."""

    id: str
    type: str
    text: str
    absent: Status
    person_only: bool
    rule: Node | None
    line: int
    reason: str = ""
    mapping: tuple[Mapping, ...] = ()
    negative_evidence: tuple[Node, ...] = ()  # rules whose holding a not_met cites


@dataclass(frozen=True)
class Trial:
    """A compiled trial: header fields and criteria in file order."""

    name: str
    title: str
    description: str
    version: int | str
    source: str
    license: str
    criteria: tuple[Criterion, ...]
    path: Path
    silence: SilencePolicy | None = None

    @property
    def id(self) -> str:
        return self.name


def load_trial_file(path: Path) -> Trial:
    """Read, validate and compile one trial file."""
    raw = read_located(path)
    if not isinstance(raw, dict):
        raise TrialError(TrialErrors.T002.format(path=path, line=1, problem="the file is not a mapping"))
    try:
        spec = TrialFile.model_validate(raw)
    except ValidationError as exc:
        raise _schema_error(exc, raw, path) from exc
    raw_criteria = raw["criteria"]
    seen: dict[str, int] = {}
    criteria = []
    for index, item in enumerate(spec.criteria):
        line = _line(raw_criteria[index])
        if item.id in seen:
            raise TrialError(
                TrialErrors.T003.format(
                    path=path, line=line, criterion=item.id,
                    problem=f"id already used by the criterion on line {seen[item.id]}",
                )
            )
        seen[item.id] = line
        rule = None
        if item.rule is not None:
            _check_numbers(raw_criteria[index].get("rule"), path, raw_criteria[index].key_lines.get("rule", line))
            rule = _Compiler(path, item.id).compile(item.rule, raw_criteria[index].key_lines.get("rule", line))
            check_names(rule, path, item.id)
        basis = _negative_evidence(raw_criteria[index], item, path, line)
        criteria.append(
            Criterion(
                item.id, item.type, item.text, item.absent, item.person_only, rule, line,
                item.reason, item.mapping, basis,
            )
        )
    return Trial(
        spec.name, spec.title, spec.description, spec.version, spec.source, spec.license,
        tuple(criteria), path, spec.silence,
    )


def _negative_evidence(raw: Located, item: CriterionSpec, path: Path, line: int) -> tuple[Node, ...]:
    """The criterion's ``negative_evidence`` rules, compiled and checked like its rule."""
    if not item.negative_evidence:
        return ()
    key_line = raw.key_lines.get("negative_evidence", line)
    _check_numbers(raw.get("negative_evidence"), path, key_line)
    compiler = _Compiler(path, item.id)
    nodes = tuple(compiler.compile(entry, key_line) for entry in item.negative_evidence)
    for node in nodes:
        check_names(node, path, item.id)
    return nodes


def _line(value: Any, default: int = 1) -> int:
    return value.line if isinstance(value, Located) else default


def _schema_error(exc: ValidationError, raw: Located, path: Path) -> TrialError:
    """The first validation error, with its criterion id and line when it is in one."""
    error = exc.errors()[0]
    loc = error["loc"]
    where = ".".join(str(part) for part in loc)
    problem = f"{where}: {error['msg']}"
    if len(loc) >= 2 and loc[0] == "criteria" and isinstance(loc[1], int):
        entry = raw["criteria"][loc[1]]
        if isinstance(entry, Located):
            field = str(loc[2]) if len(loc) > 2 else ""
            line = entry.key_lines.get(field, entry.line)
            criterion = entry.get("id", f"#{loc[1] + 1}")
            inner = ".".join(str(part) for part in loc[2:]) or "criterion"
            return TrialError(
                TrialErrors.T003.format(
                    path=path, line=line, criterion=criterion, problem=f"{inner}: {error['msg']}"
                )
            )
    line = raw.key_lines.get(str(loc[0]), raw.line) if loc else raw.line
    return TrialError(TrialErrors.T002.format(path=path, line=line, problem=problem))


_LOGIC = ("all", "any", "not", "at_least", "first_of", "first_met", "review", "sufficient", "unexpressed")


class _Compiler:
    """Turns one criterion's rule mapping into a node tree, failing with the line."""

    def __init__(self, path: Path, criterion: str) -> None:
        self.path = path
        self.criterion = criterion

    def fail(self, line: int, problem: str) -> TrialError:
        return TrialError(
            TrialErrors.T003.format(path=self.path, line=line, criterion=self.criterion, problem=problem)
        )

    def compile(self, raw: Any, line: int) -> Node:
        line = _line(raw, line)
        if not isinstance(raw, dict) or not raw:
            raise self.fail(
                line,
                "a rule is a mapping with one key: one of " + ", ".join(_LOGIC)
                + " or a predicate (" + ", ".join(sorted(PREDICATES)) + ")",
            )
        if "at_least" in raw:
            return self._at_least(raw, line)
        if len(raw) != 1:
            raise self.fail(line, f"a rule has exactly one key, found {', '.join(map(str, raw))}")
        key, value = next(iter(raw.items()))
        key_line = raw.key_lines.get(str(key), line) if isinstance(raw, Located) else line
        if key in ("all", "any", "first_of", "first_met"):
            children = self._children(key, value, key_line)
            node_type = {"all": AllNode, "any": AnyNode, "first_of": FirstOfNode, "first_met": FirstMetNode}[key]
            return node_type(children, key_line)
        if key == "unexpressed":
            if not isinstance(value, str) or not value.strip():
                raise self.fail(key_line, "unexpressed takes the words the rule does not cover")
            return UnexpressedNode(value.strip(), key_line)
        if key in ("not", "review", "sufficient"):
            node_type = {"not": NotNode, "review": ReviewNode, "sufficient": SufficientNode}[key]
            return node_type(self.compile(value, key_line), key_line)
        return self._predicate(str(key), value, key_line)

    def _children(self, key: str, value: Any, line: int) -> tuple[Node, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(line, f"{key} takes a non-empty list of rules")
        return tuple(self.compile(item, line) for item in value)

    def _at_least(self, raw: dict[str, Any], line: int) -> Node:
        if set(raw) != {"at_least", "of"}:
            raise self.fail(line, "write at_least: n together with of: [rules], nothing else")
        count = raw["at_least"]
        children = self._children("of", raw["of"], line)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= len(children):
            raise self.fail(line, f"at_least must be a whole number from 1 to {len(children)}")
        return AtLeastNode(count, children, line)

    def _predicate(self, name: str, value: Any, line: int) -> Node:
        spec = PREDICATES.get(name)
        if spec is None:
            raise self.fail(
                line,
                f"unknown rule {name!r}: use one of " + ", ".join(_LOGIC)
                + " or a predicate (" + ", ".join(sorted(PREDICATES)) + ")",
            )
        params = value
        if not isinstance(value, dict):
            if spec.params.shorthand is None or value is None:
                raise self.fail(line, f"{name} takes a mapping of parameters")
            params = {spec.params.shorthand: value}
        try:
            return PredicateNode(spec, spec.params.model_validate(params), line)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'parameters'}: {e['msg']}" for e in exc.errors()
            )
            raise self.fail(line, f"{name}: {problems}") from exc
