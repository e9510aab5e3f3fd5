"""Linting a trial file: unknown concept ids, criteria that can never be met, what silence
gives each criterion, and (dry run) what each predicate finds in some notes.

"Can never be met" is read off the rule tree: a predicate can be met unless its own
thresholds contradict each other (">= 10" and "< 5"); ``unexpressed`` and ``review``
parts never are; ``all`` needs every part, ``any`` one, ``at_least n`` n of them,
``not`` turns "can be not met" into "can be met". Silence is the criterion evaluated on
an empty chart, exactly as screening does it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from extractor.screening import PERSON_ONLY_REASON, evaluate_criterion
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
    Scope,
    SufficientNode,
    UnexpressedNode,
)
from extractor.screening.language import Criterion, Trial
from extractor.screening.outcome import Outcome, Status
from extractor.screening.patient import PatientRecord
from extractor.screening.predicates import Context
from extractor.screening.thresholds import ValueThreshold

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding of the linter, tied to a criterion and a line of the file."""

    criterion: str
    line: int
    level: Level
    message: str

    def __str__(self) -> str:
        return f"{self.level}: line {self.line}, {self.criterion}: {self.message}"


def walk(node: Node) -> Iterator[Node]:
    """Every node of a rule tree, parents first."""
    yield node
    children: tuple[Node, ...] = ()
    if isinstance(node, AllNode | AnyNode | AtLeastNode | FirstOfNode | FirstMetNode):
        children = node.children
    elif isinstance(node, NotNode | ReviewNode | SufficientNode):
        children = (node.child,)
    for child in children:
        yield from walk(child)


def unknown_names(criterion: Criterion) -> list[Problem]:
    """Concept ids and class names the vocabulary (``extractor.vocabulary``) does not know,
    with its "did you mean"."""
    from extractor.vocabulary import vocabulary

    if criterion.rule is None:
        return []
    known = vocabulary()
    problems = []
    for node in walk(criterion.rule):
        if not isinstance(node, PredicateNode):
            continue
        params = node.params
        names = [(n, False) for f in ("concept", "exclude") for n in getattr(params, f, ()) or ()]
        names += [(n, True) for n in getattr(params, "classes", ()) or ()]
        for name, is_class in names:
            if known.is_class(name) or (not is_class and known.resolve(name) is not None):
                continue
            hint = known.suggest(name, classes=is_class)
            what = "class" if is_class else "concept id"
            problems.append(Problem(
                criterion.id, node.line, "error",
                f"{node.spec.name}: unknown {what} {name!r}" + (f" (did you mean {', '.join(hint)}?)" if hint else ""),
            ))
    return problems


def _contradicts(params: Any) -> bool:
    """Value thresholds of one predicate that no value can pass together."""
    values = [t for t in getattr(params, "compare", ()) or () if isinstance(t, ValueThreshold)]
    low = max((t.limit for t in values if t.op in (">", ">=")), default=None)
    high = min((t.limit for t in values if t.op in ("<", "<=")), default=None)
    if low is None or high is None:
        return False
    units = {t.unit for t in values}
    return len(units) == 1 and low > high


def possible(node: Node, person: bool = False) -> set[Status]:
    """The statuses a rule can reach from the chart; with ``person``, once a person has
    read its ``unexpressed`` parts (any status)."""
    every = {Status.MET, Status.NOT_MET, Status.UNKNOWN}
    if isinstance(node, UnexpressedNode):
        return every if person else {Status.UNKNOWN}
    if isinstance(node, PredicateNode):
        return {Status.NOT_MET, Status.UNKNOWN} if _contradicts(node.params) else every
    if isinstance(node, NotNode):
        return {s.negated() for s in possible(node.child, person)}
    if isinstance(node, ReviewNode):
        return possible(node.child, person) - {Status.MET} | {Status.UNKNOWN}
    if isinstance(node, SufficientNode):
        return possible(node.child, person) - {Status.NOT_MET} | {Status.UNKNOWN}
    parts = [possible(child, person) for child in node.children]  # type: ignore[attr-defined]
    can_meet = sum(Status.MET in p for p in parts)
    can_fail = sum(Status.NOT_MET in p for p in parts)
    if isinstance(node, AllNode):
        need_met, need_fail = len(parts), 1
    elif isinstance(node, AnyNode | FirstOfNode | FirstMetNode):  # first_met: as any, citing the first that holds
        need_met, need_fail = 1, len(parts)
    else:
        assert isinstance(node, AtLeastNode)
        need_met, need_fail = node.count, len(parts) - node.count + 1
    out = {Status.UNKNOWN}
    if can_meet >= need_met:
        out.add(Status.MET)
    if can_fail >= need_fail:
        out.add(Status.NOT_MET)
    return out


def silence_status(criterion: Criterion) -> Status:
    """The criterion's status for a patient whose chart says nothing at all."""
    empty = PatientRecord([], [], dt.date(2000, 1, 1))
    return evaluate_criterion(criterion, Context(empty)).status


def lint(trial: Trial) -> list[Problem]:
    """Every problem of a loaded trial, in file order."""
    problems: list[Problem] = []
    for criterion in trial.criteria:
        problems += unknown_names(criterion)
        if criterion.rule is None:
            continue
        what = "no patient can pass it" if criterion.type == "inclusion" else "it excludes no one"
        if Status.MET not in possible(criterion.rule, person=True):
            level: Level = "error" if criterion.type == "inclusion" else "warning"
            problems.append(Problem(criterion.id, criterion.line, level, f"can never be met ({what})"))
        elif Status.MET not in possible(criterion.rule):
            unexpressed = "; ".join(
                repr(node.text) for node in walk(criterion.rule) if isinstance(node, UnexpressedNode)
            )
            problems.append(Problem(
                criterion.id, criterion.line, "warning",
                f"met only once a person reads its unexpressed part(s) {unexpressed}; the chart alone "
                "can leave it unknown or not met",
            ))
        silent = silence_status(criterion)
        if criterion.type == "inclusion" and silent is Status.MET:
            problems.append(Problem(criterion.id, criterion.line, "warning",
                                    "silence passes it: a patient with nothing charted meets it"))
        if criterion.type == "exclusion" and silent is Status.MET:
            problems.append(Problem(criterion.id, criterion.line, "warning",
                                    "silence excludes: a patient with nothing charted is excluded"))
    return problems


def describe_node(node: Node) -> str:
    """A predicate as the trial file writes it: ``lab concept=hemoglobin compare=>= 80 g/L``."""
    if isinstance(node, UnexpressedNode):
        return f"unexpressed {node.text!r}"
    assert isinstance(node, PredicateNode)
    shown = []
    for key in sorted(node.params.model_fields_set, key=list(type(node.params).model_fields).index):
        value = getattr(node.params, key)
        if isinstance(value, list | tuple):
            value = ", ".join(str(getattr(v, "text", v)) for v in value)
        shown.append(f"{key}={getattr(value, 'value', value)}")
    return f"{node.spec.name} " + " ".join(shown)


@dataclass(frozen=True)
class PredicateReport:
    """What one predicate (or unexpressed part) found for one patient."""

    line: int
    what: str
    outcome: Outcome


def dry_run(criterion: Criterion, context: Context) -> tuple[Status, str, list[PredicateReport]]:
    """The criterion's status and reason, and each leaf's own finding."""
    result = evaluate_criterion(criterion, context)
    if criterion.rule is None:
        return result.status, result.reason or PERSON_ONLY_REASON, []
    silence = Status.UNKNOWN if criterion.absent is Status.UNKNOWN else Status.NOT_MET
    scope = Scope(context, silence)
    leaves = [
        PredicateReport(node.line, describe_node(node), node.evaluate(scope))
        for node in walk(criterion.rule)
        if isinstance(node, PredicateNode | UnexpressedNode)
    ]
    return result.status, result.reason, leaves
