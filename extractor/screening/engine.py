"""Rule trees and their three-valued logic: all / any / not / at_least / first_of / first_met /
review / sufficient, and ``unexpressed`` (text the rule does not cover).

Kleene logic over met / not_met / unknown. A predicate that finds nothing is silent:
its node reports the predicate's own ``absent`` if given, else the criterion's world
(open world, ``absent: unknown`` → unknown; closed world → not_met, "not there"). A
node is silent only when every predicate under it was.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from extractor.screening.outcome import Outcome, Status, merge_evidence
from extractor.screening.predicates.registry import Context, Params, PredicateSpec


@dataclass(frozen=True)
class Scope:
    """What a criterion's rule is evaluated with: the patient and what silence means."""

    context: Context
    silence: Status


class Node(ABC):
    """A rule node; ``line`` is where it sits in the trial file."""

    line: int

    @abstractmethod
    def evaluate(self, scope: Scope) -> Outcome:
        """This node's outcome for one patient."""


@dataclass(frozen=True)
class PredicateNode(Node):
    """A leaf: one registered predicate with its parameters."""

    spec: PredicateSpec
    params: Params
    line: int

    def evaluate(self, scope: Scope) -> Outcome:
        found = self.spec.evaluate(self.params, scope.context)
        if found.status is not None:
            cited = self.params.cite is True or (self.params.cite == "met" and found.status is Status.MET)
            if found.status is Status.NOT_MET and not self.params.cite_not_met:
                cited = False
            return Outcome(found.status, found.reason, found.evidence if cited else ())
        return Outcome(self.params.absent or scope.silence, found.reason, (), silent=True)


def _clauses(reasons: Iterable[str]) -> list[str]:
    """The reasons' clauses, each told once (one test read in two branches is one silence)."""
    return list(dict.fromkeys(clause for reason in reasons for clause in reason.split("; ")))


def _reasons(outcomes: Sequence[Outcome]) -> str:
    """Reasons of the deciding outcomes. Silence is told when it leaves something unknown
    ("no ALT result"), or when nothing else was found; otherwise it is summed up."""
    told = _clauses(o.reason for o in outcomes if o.reason and (not o.silent or o.status is Status.UNKNOWN))
    if not told:  # the same silence twice (two readings of one lab) is told once
        return "; ".join(_clauses(o.reason for o in outcomes if o.reason))
    quiet = any(o.silent and o.status is not Status.UNKNOWN for o in outcomes)
    return "; ".join(told) + ("; nothing else relevant charted" if quiet else "")


def _decide(
    status: Status, deciders: Sequence[Outcome], children: Sequence[Outcome], settled: Status | None = None
) -> Outcome:
    """The combined outcome. Unknown rests on everything found and everything missing; of
    an ``any`` left unknown by something found, the parts already ``settled`` against it are
    told in the reason but not cited (a woman's sex and age beside her pregnancy test of
    unknown result). When only silence leaves it unknown, what was found is cited."""
    cited = deciders
    if status is Status.UNKNOWN:
        deciders = [o for o in children if not o.silent or o.status is Status.UNKNOWN]
        cited = [o for o in deciders if o.status is not settled and o.evidence] or deciders
    return Outcome(
        status,
        _reasons(deciders),
        merge_evidence(*(o.evidence for o in cited)),
        silent=all(o.silent for o in children),
    )


@dataclass(frozen=True)
class AllNode(Node):
    """Every child must hold: any not_met → not_met; all met → met; else unknown."""

    children: tuple[Node, ...]
    line: int

    def evaluate(self, scope: Scope) -> Outcome:
        outs = [child.evaluate(scope) for child in self.children]
        for status in (Status.NOT_MET, Status.UNKNOWN):
            deciders = [o for o in outs if o.status is status]
            if deciders:
                return _decide(status, deciders, outs)
        return _decide(Status.MET, outs, outs)


@dataclass(frozen=True)
class AnyNode(Node):
    """Some child must hold: any met → met; all not_met → not_met; else unknown."""

    children: tuple[Node, ...]
    line: int

    def evaluate(self, scope: Scope) -> Outcome:
        outs = [child.evaluate(scope) for child in self.children]
        for status in (Status.MET, Status.UNKNOWN):
            deciders = [o for o in outs if o.status is status]
            if deciders:
                return _decide(status, deciders, outs, settled=Status.NOT_MET)
        return _decide(Status.NOT_MET, outs, outs)


@dataclass(frozen=True)
class FirstMetNode(Node):
    """The first child that holds decides and alone is cited; none holding, as ``any``. Of
    two readings that both hold, the one a reviewer checks best: the statement of a graft's
    lifelong immunosuppression, which names the transplant, over the transplant beside it."""

    children: tuple[Node, ...]
    line: int

    def evaluate(self, scope: Scope) -> Outcome:
        outs = [child.evaluate(scope) for child in self.children]
        chosen = next((o for o in outs if o.status is Status.MET), None)
        if chosen is not None:
            return chosen
        return AnyNode(self.children, self.line).evaluate(scope)


@dataclass(frozen=True)
class NotNode(Node):
    """The child's status flipped (met ↔ not_met); the evidence is the child's."""

    child: Node
    line: int

    def evaluate(self, scope: Scope) -> Outcome:
        out = self.child.evaluate(scope)
        return Outcome(out.status.negated(), out.reason, out.evidence, out.silent)


@dataclass(frozen=True)
class AtLeastNode(Node):
    """At least ``count`` children hold; unknown while the unknown ones could make it."""

    count: int
    children: tuple[Node, ...]
    line: int

    def evaluate(self, scope: Scope) -> Outcome:
        outs = [child.evaluate(scope) for child in self.children]
        met = [o for o in outs if o.status is Status.MET]
        unsure = [o for o in outs if o.status is Status.UNKNOWN]
        if len(met) >= self.count:
            status, deciders = Status.MET, met
        elif len(met) + len(unsure) >= self.count:
            status, deciders = Status.UNKNOWN, met + unsure
        else:
            status, deciders = Status.NOT_MET, outs
        out = _decide(status, deciders, outs)
        tally = f"{len(met)} of {len(outs)} hold, {self.count} needed"
        return Outcome(out.status, f"{tally}: {out.reason}", out.evidence, out.silent)


@dataclass(frozen=True)
class FirstOfNode(Node):
    """The first child that finds anything decides (best source first: HCV RNA, then antibody)."""

    children: tuple[Node, ...]
    line: int

    def evaluate(self, scope: Scope) -> Outcome:
        outs = []
        for child in self.children:
            out = child.evaluate(scope)
            if not out.silent:
                return out
            outs.append(out)
        # every source silent: each one's silence is told ("no hemoglobin result", then "no
        # blood count not resulted stated"), the status is the last one's
        reason = "; ".join(dict.fromkeys(o.reason for o in outs if o.reason))
        return Outcome(outs[-1].status, reason, outs[-1].evidence, silent=True)


@dataclass(frozen=True)
class SufficientNode(Node):
    """A proxy that can show the criterion holds but not that it fails (a normal creatinine
    shows eGFR >= 30; a high one does not show eGFR < 30): not_met becomes unknown."""

    child: Node
    line: int

    def evaluate(self, scope: Scope) -> Outcome:
        out = self.child.evaluate(scope)
        if out.status is not Status.NOT_MET or out.silent:
            return out
        return Outcome(Status.UNKNOWN, f"does not settle it: {out.reason}", out.evidence, out.silent)


@dataclass(frozen=True)
class ReviewNode(Node):
    """A finding that calls for a person: when the child holds, the result is unknown."""

    child: Node
    line: int

    def evaluate(self, scope: Scope) -> Outcome:
        out = self.child.evaluate(scope)
        if out.status is not Status.MET:
            return out
        return Outcome(Status.UNKNOWN, f"for a person to judge: {out.reason}", out.evidence, out.silent)


@dataclass(frozen=True)
class UnexpressedNode(Node):
    """Eligibility text the rule does not cover ("uncontrolled", "requiring systemic
    treatment"): always unknown, and never silent, so a criterion holding it is decided
    only when its expressed parts decide it (``all`` with a part not met, ``any`` with a
    part met) and is unknown otherwise."""

    text: str
    line: int

    def evaluate(self, scope: Scope) -> Outcome:
        return Outcome(Status.UNKNOWN, f"not expressed in the rule: {self.text!r}")
