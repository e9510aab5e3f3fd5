"""Three-valued logic of rule trees, silence, and a criterion's absent semantics."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from extractor.facts import Evidence
from extractor.screening import evaluate_criterion
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
)
from extractor.screening.language import Criterion
from extractor.screening.outcome import Finding, Outcome, Status
from extractor.screening.patient import PatientRecord
from extractor.screening.predicates import Context, Params, PredicateSpec

MET, NOT, UNK = Status.MET, Status.NOT_MET, Status.UNKNOWN
CONTEXT = Context(PatientRecord([], []))


def span(note: str) -> Evidence:
    return Evidence(note_id=note, char_start=0, char_end=1, text="x")


@dataclass(frozen=True)
class Fixed(Node):
    """A node with a set outcome."""

    outcome: Outcome
    line: int = 1

    def evaluate(self, scope: Scope) -> Outcome:
        return self.outcome


def node(status: Status, silent: bool = False, note: str = "") -> Fixed:
    evidence = () if silent or not note else (span(note),)
    return Fixed(Outcome(status, f"{status.value}{'-silent' if silent else ''}", evidence, silent))


def run(tree: Node, silence: Status = NOT) -> Outcome:
    return tree.evaluate(Scope(CONTEXT, silence))


@pytest.mark.parametrize(
    ("children", "expected"),
    [((MET, MET), MET), ((MET, NOT), NOT), ((MET, UNK), UNK), ((NOT, UNK), NOT), ((UNK, UNK), UNK)],
)
def test_all_is_kleene_and(children: tuple[Status, ...], expected: Status) -> None:
    assert run(AllNode(tuple(node(s) for s in children), 1)).status is expected


@pytest.mark.parametrize(
    ("children", "expected"),
    [((MET, NOT), MET), ((NOT, NOT), NOT), ((UNK, NOT), UNK), ((MET, UNK), MET)],
)
def test_any_is_kleene_or(children: tuple[Status, ...], expected: Status) -> None:
    assert run(AnyNode(tuple(node(s) for s in children), 1)).status is expected


@pytest.mark.parametrize(("child", "expected"), [(MET, NOT), (NOT, MET), (UNK, UNK)])
def test_not_swaps_met_and_not_met(child: Status, expected: Status) -> None:
    assert run(NotNode(node(child), 1)).status is expected


@pytest.mark.parametrize(
    ("children", "expected"),
    [((MET, MET, NOT), MET), ((MET, UNK, NOT), UNK), ((MET, NOT, NOT), NOT), ((UNK, UNK, NOT), UNK)],
)
def test_at_least_two_of_three(children: tuple[Status, ...], expected: Status) -> None:
    out = run(AtLeastNode(2, tuple(node(s) for s in children), 1))
    assert out.status is expected
    assert out.reason.startswith(f"{children.count(MET)} of 3 hold, 2 needed")


def test_first_of_takes_the_first_child_that_found_something() -> None:
    assert run(FirstOfNode((node(NOT, silent=True), node(MET)), 1)).status is MET
    assert run(FirstOfNode((node(NOT), node(MET)), 1)).status is NOT
    out = run(FirstOfNode((node(NOT, silent=True), node(UNK, silent=True)), 1))
    assert (out.status, out.silent) == (UNK, True)


def test_first_met_cites_only_the_first_child_that_holds() -> None:
    out = run(FirstMetNode((node(NOT, note="N0"), node(MET, note="N1"), node(MET, note="N2")), 1))
    assert (out.status, [e.note_id for e in out.evidence]) == (MET, ["N1"])
    # none holds: as any
    assert run(FirstMetNode((node(UNK, note="N1"), node(NOT)), 1)).status is UNK
    assert run(FirstMetNode((node(NOT), node(NOT)), 1)).status is NOT


def test_a_predicate_told_not_to_cite_decides_without_evidence() -> None:
    spec = PredicateSpec("fixed", Params, lambda params, context: Finding(MET, "held", (span("N1"),)))
    assert run(PredicateNode(spec, Params(), 1)).evidence == (span("N1"),)
    out = run(PredicateNode(spec, Params(cite=False), 1))
    assert (out.status, out.evidence) == (MET, ())


def test_review_turns_met_into_unknown_only() -> None:
    out = run(ReviewNode(node(MET, note="N1"), 1))
    assert (out.status, out.reason, len(out.evidence)) == (UNK, "for a person to judge: met", 1)
    assert run(ReviewNode(node(NOT), 1)).status is NOT


def test_sufficient_turns_not_met_into_unknown_only() -> None:
    out = run(SufficientNode(node(NOT, note="N1"), 1))
    assert (out.status, out.reason, len(out.evidence)) == (UNK, "does not settle it: not_met", 1)
    assert run(SufficientNode(node(MET), 1)).status is MET
    silent = run(SufficientNode(node(NOT, silent=True), 1))
    assert (silent.status, silent.silent) == (NOT, True)


def test_a_node_is_silent_only_when_every_child_is() -> None:
    assert run(AllNode((node(NOT, silent=True), node(NOT, silent=True)), 1)).silent
    assert not run(AnyNode((node(NOT, silent=True), node(NOT)), 1)).silent


def test_a_clause_two_branches_give_is_told_once() -> None:
    # one test read in two branches ("no urine hcg result" under first_of and again alone)
    first = Fixed(Outcome(NOT, "no serum hcg result; no urine hcg result", (), True))
    again = Fixed(Outcome(NOT, "no urine hcg result", (), True))
    out = run(AnyNode((first, node(NOT, silent=True), again), 1))
    assert out.reason == "no serum hcg result; no urine hcg result; not_met-silent"


def test_unknown_rests_on_what_was_found_and_what_is_missing() -> None:
    out = run(AllNode((node(MET, note="N1"), node(UNK, silent=True), node(MET, silent=True)), 1))
    assert out.status is UNK
    assert out.reason == "met; unknown-silent"
    assert [e.note_id for e in out.evidence] == ["N1"]  # what holds of an ``all`` is part of it


def test_an_any_left_unknown_cites_its_unsure_parts_not_the_settled_ones() -> None:
    """"Not male" beside a pregnancy test of unknown result: told in the reason, not cited."""
    out = run(AnyNode((node(NOT, note="N1"), node(UNK, note="N2"), node(NOT, silent=True)), 1))
    assert out.status is UNK
    assert out.reason == "not_met; unknown"
    assert [e.note_id for e in out.evidence] == ["N2"]
    only_missing = run(AnyNode((node(NOT, note="N1"), node(UNK, silent=True)), 1))
    assert only_missing.reason == "not_met; unknown-silent"
    assert [e.note_id for e in only_missing.evidence] == ["N1"]  # then what was found is cited


def test_evidence_is_cited_once() -> None:
    out = run(AllNode((node(MET, note="N1"), node(MET, note="N1")), 1))
    assert len(out.evidence) == 1


class _Quiet(Params):
    pass


QUIET = PredicateSpec("quiet", _Quiet, lambda params, context: Finding(None, "nothing about it"))


@pytest.mark.parametrize(
    ("override", "silence", "expected"),
    [(None, NOT, NOT), (None, UNK, UNK), (MET, NOT, MET), (UNK, NOT, UNK)],
)
def test_a_silent_predicate_takes_its_own_absent_else_the_criterion_world(
    override: Status | None, silence: Status, expected: Status
) -> None:
    out = run(PredicateNode(QUIET, _Quiet(absent=override), 1), silence)
    assert (out.status, out.silent, out.reason) == (expected, True, "nothing about it")


@pytest.mark.parametrize("absent", [MET, NOT, UNK])
def test_a_criterion_resting_only_on_silence_reports_its_absent(absent: Status) -> None:
    rule = NotNode(PredicateNode(QUIET, _Quiet(), 1), 1)
    criterion = Criterion("c", "inclusion", "t", absent, False, rule, 1)
    result = evaluate_criterion(criterion, CONTEXT)
    assert (result.status, result.evidence) == (absent, ())
    assert result.reason == "nothing relevant in the chart: nothing about it"


def test_person_only_is_always_unknown() -> None:
    criterion = Criterion("inc-consent", "inclusion", "t", UNK, True, None, 1)
    result = evaluate_criterion(criterion, CONTEXT)
    assert (result.status, result.person_only) == (UNK, True)


# ------------------------------------------------------------------ negative evidence
def _criterion(kind: str, rule: Node, basis: tuple[Node, ...]) -> Criterion:
    absent = NOT if kind == "exclusion" else UNK
    return Criterion("c", kind, "t", absent, False, rule, 1, negative_evidence=basis)


def test_a_favourable_status_cites_the_statements_it_rests_on() -> None:
    result = evaluate_criterion(_criterion("exclusion", node(NOT, silent=True), (node(MET, note="N1"),)), CONTEXT)
    assert result.status is NOT
    assert [e.note_id for e in result.evidence] == ["N1"]
    assert result.reason.startswith("nothing meets it in the chart") and "rests on: met" in result.reason


def test_pure_silence_and_rules_holding_only_by_silence_cite_nothing() -> None:
    basis = (node(MET, silent=True), node(NOT, note="N1"), node(UNK, note="N2"))
    result = evaluate_criterion(_criterion("exclusion", node(NOT, silent=True), basis), CONTEXT)
    assert result.status is NOT
    assert result.evidence == ()
    assert result.reason.startswith("nothing relevant in the chart")


def test_negative_evidence_never_changes_a_status_nor_speaks_against_one() -> None:
    basis = (node(MET, note="N9"),)
    met = evaluate_criterion(_criterion("exclusion", node(MET, note="N1"), basis), CONTEXT)
    unsure = evaluate_criterion(_criterion("exclusion", node(UNK, note="N1"), basis), CONTEXT)
    failing = evaluate_criterion(_criterion("inclusion", node(NOT, note="N1"), basis), CONTEXT)
    assert [(r.status, [e.note_id for e in r.evidence]) for r in (met, unsure, failing)] == [
        (MET, ["N1"]), (UNK, ["N1"]), (NOT, ["N1"]),
    ]


def test_an_inclusion_met_on_an_absence_cites_it_after_the_rules_own() -> None:
    result = evaluate_criterion(_criterion("inclusion", node(MET, note="N1"), (node(MET, note="N2"),)), CONTEXT)
    assert [e.note_id for e in result.evidence] == ["N1", "N2"]


def test_a_statement_the_rule_already_cites_is_not_told_twice() -> None:
    result = evaluate_criterion(_criterion("exclusion", node(NOT, note="N1"), (node(MET, note="N1"),)), CONTEXT)
    assert [e.note_id for e in result.evidence] == ["N1"]
    assert "rests on" not in result.reason
