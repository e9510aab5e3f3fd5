"""Effects read a status for eligibility; the overall they give agrees with the screening engine's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extractor.report.effects import Effect, Judged, corrected_overall, effect_of, overall_of
from extractor.report.protocol import Threshold, protocol, thresholds_of
from extractor.screening.outcome import Status
from extractor.screening.verdict import CriterionResult
from extractor.screening.verdict import overall_of as engine_overall


@pytest.mark.parametrize(
    ("ctype", "status", "effect"),
    [
        ("exclusion", "met", Effect.EXCLUDES),  # the patient is out: never shown as a green tick
        ("exclusion", "not_met", Effect.PASSES),
        ("inclusion", "met", Effect.PASSES),
        ("inclusion", "not_met", Effect.FAILS),
        ("inclusion", "unknown", Effect.TO_CHECK),
        ("exclusion", "unknown", Effect.TO_CHECK),
    ],
)
def test_effect_of_each_status(ctype: str, status: str, effect: Effect) -> None:
    assert effect_of(ctype, status) is effect


criteria = st.lists(
    st.tuples(
        st.sampled_from(["inclusion", "exclusion"]), st.sampled_from(["met", "not_met", "unknown"]), st.booleans()
    ),
    min_size=1,
    max_size=6,
)


@given(criteria)
def test_overall_agrees_with_the_screening_engine(items: list[tuple[str, str, bool]]) -> None:
    judged = [Judged(f"c{i}", t, s, person) for i, (t, s, person) in enumerate(items)]
    results = tuple(CriterionResult(j.id, j.type, Status(j.status), "", person_only=j.person_only) for j in judged)
    assert overall_of(judged) == engine_overall(results).value


def test_a_correction_changes_the_overall() -> None:
    judged = [Judged("inc", "inclusion", "met"), Judged("exc", "exclusion", "met")]
    assert overall_of(judged) == "ineligible"
    assert corrected_overall(judged, {"exc": "not_met"}) == "candidate"
    assert corrected_overall(judged, {"exc": "unknown"}) == "needs_review"


@pytest.mark.parametrize(
    ("compare", "expected"),
    [
        (">= 80 g/L", (">=", 80.0, "g/L")),
        (">= 0.5 10^9/L", (">=", 0.5, "10^9/L")),
        (">= 55%", (">=", 55.0, "%")),
        (">= 6", (">=", 6.0, "")),
        (">= 1:80", (None, None, "")),  # a titer: no line to draw
        ("<= 3 x ULN", (None, None, "")),
        ("positive", (None, None, "")),
    ],
)
def test_thresholds_are_read_from_rules(compare: str, expected: tuple[object, ...]) -> None:
    [found] = thresholds_of("c", {"all": [{"lab": {"concept": "x", "compare": compare}}]})
    assert (found.comparator, found.value, found.unit) == expected


def test_threshold_comparisons() -> None:
    at_least = Threshold("c", "hemoglobin", ">= 80 g/L", ">=", 80.0, "g/L")
    assert (at_least.passes(80.0), at_least.passes(79.9)) == (True, False)
    assert Threshold("c", "x", "positive").passes(1.0) is None


def test_the_bundled_trial_gives_texts_and_thresholds() -> None:
    found = protocol("blinatumomab-sle")
    assert found is not None
    assert found.criteria["exc-tuberculosis"].text.startswith("History of TB")
    assert found.criteria["exc-investigator-judgement"].person_only
    assert Threshold("inc-hemoglobin", "hemoglobin", ">= 80 g/L", ">=", 80.0, "g/L") in found.thresholds
    assert protocol("no-such-trial") is None
