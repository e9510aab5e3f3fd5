"""What a not_met rests on: the chart's own statements of absence, cited.

A closed-world exclusion is not_met when nothing in the chart meets it, but a chart
usually *says* so: "NKDA", "no fevers, no cough", "No live vaccines since starting
immunosuppression", "UPCR 0.09", "16 y/o male". A reviewer checks a not_met against those
statements (GUIDELINES section 6: evidence is what a reviewer would highlight), so a
criterion lists them in its trial file as ``negative_evidence``: rules in the trial
language about the criterion's own concepts denied, related symptoms or findings denied,
a related test within its range, or a fact that rules the thing out (male sex for a
pregnancy). A not_met cites every one that holds, and its reason says what it rests on;
only pure silence cites nothing. The rules never change a status: they are read only
once the criterion is already not_met.
"""

from __future__ import annotations

from collections.abc import Sequence

from extractor.facts import Evidence
from extractor.screening.engine import Node, Scope
from extractor.screening.outcome import Outcome, Status, merge_evidence


def rests_on(rules: Sequence[Node], scope: Scope, cited: tuple[Evidence, ...] = ()) -> Outcome | None:
    """The statements of absence among ``rules`` that hold for the patient, or None.

    A rule counts when it holds (met) on something the chart states: a rule that holds
    only by silence (``not`` over nothing found) cites nothing, so it is left out, and so
    is one whose every span the criterion's rule already ``cited`` ("denies depression").
    """
    seen = {(e.note_id, e.char_start, e.char_end) for e in cited}
    held = [
        outcome for outcome in (rule.evaluate(scope) for rule in rules)
        if outcome.status is Status.MET and not outcome.silent
        and any((e.note_id, e.char_start, e.char_end) not in seen for e in outcome.evidence)
    ]
    if not held:
        return None
    return Outcome(
        Status.MET,
        "; ".join(outcome.reason for outcome in held),
        merge_evidence(*(outcome.evidence for outcome in held)),
    )
