"""Fuzzing the trial loader: any file in, a compiled trial or a numbered T-error out, never
another exception (no RecursionError, MemoryError, ValueError from the calendar)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import yaml
from fuzz_inputs import FUZZ, SCALARS, TEXT
from hypothesis import given
from hypothesis import strategies as st

from extractor.notes import Note
from extractor.screening import TrialError, load_trial, screen_patient
from extractor.screening.predicates import PREDICATES

HEADER = {"schema": "trial/v1", "name": "fuzz", "title": "t", "description": "d", "version": 1, "source": "s",
          "license": "l"}
PARAMETER_VALUES = st.one_of(
    SCALARS,
    st.sampled_from(["3 months", "99999999 years", "0 days", "1e400", ">= 80 g/L", "<= 1e9 g/L", ">= 2 x ULN",
                     "seizure", "sle", "F", "current", "ever", "historical", "-5 days", "200 years", "1:160"]),
    st.lists(st.sampled_from(["seizure", "sle", "hemoglobin", "prednisone"]), max_size=3),
)
PREDICATE_RULES = st.builds(
    lambda name, params: {name: params},
    st.sampled_from(sorted(PREDICATES)),
    st.one_of(PARAMETER_VALUES, st.dictionaries(st.sampled_from(
        ["concept", "classes", "window", "compare", "when", "within", "stale_after", "at_least", "min_count",
         "experiencer", "temporality", "absent", "unknown_key", "sex"]), PARAMETER_VALUES, max_size=3)),
)
RULES = st.recursive(
    PREDICATE_RULES,
    lambda inner: st.one_of(
        st.builds(
            lambda k, xs: {k: xs}, st.sampled_from(["all", "any", "first_of", "first_met"]), st.lists(inner, max_size=3)
        ),
        st.builds(lambda k, x: {k: x}, st.sampled_from(["not", "review", "sufficient"]), inner),
        st.builds(
            lambda n, xs: {"at_least": n, "of": xs}, st.one_of(st.integers(), SCALARS), st.lists(inner, max_size=3)
        ),
    ),
    max_leaves=6,
)


def criterion(rule: Any, index: int) -> dict[str, Any]:
    return {"id": f"c{index}", "type": "exclusion", "text": "t", "absent": "not_met", "rule": rule}


def load(text: str) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trial.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            return load_trial(path)
        except TrialError as exc:
            problem = str(exc)
        assert problem.startswith("[T0"), problem
        return None


NOTES = [
    Note(patient_id="P", note_id="N1", text="seizure", date=dt.date(1800, 1, 1), birth_date=dt.date(1800, 1, 1)),
    Note(patient_id="P", note_id="N2", text="SLE", date=dt.date(2999, 12, 31)),
]


@FUZZ
@given(st.lists(RULES, min_size=1, max_size=3))
def test_generated_rules_load_or_fail_with_a_t_error(rules: list[Any]) -> None:
    text = yaml.safe_dump({**HEADER, "criteria": [criterion(rule, i) for i, rule in enumerate(rules)]})
    trial = load(text)
    if trial is not None:  # a trial that loads screens any chart, even one at the calendar's edges
        verdict = screen_patient(NOTES, [], trial)
        assert [c.id for c in verdict.criteria] == [c.id for c in trial.criteria]


@FUZZ
@given(st.lists(
    st.one_of(TEXT, st.sampled_from(["&a [1, 2]", "*a", "{", "[", "not:", "  - ", ": ", "\t", "!!python/object"])),
    max_size=12,
))
def test_any_text_loads_or_fails_with_a_t_error(pieces: list[str]) -> None:
    load(yaml.safe_dump(HEADER) + "criteria:\n" + " ".join(pieces))
