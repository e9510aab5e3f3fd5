"""Clinical-phrase regression suite: every case in ``cases/*.yaml`` run by one parametrised test.

Rules are data and change often; these cases pin what a phrase means clinically (negation,
family history, dates against the note's date, lab units, doses) so a rule edit that breaks
a meaning fails here by name. Expected values are clinical truth, not the pipeline's
current output: a case the pipeline cannot meet yet stays, listed in ``KNOWN_FAILURES``
with the reason, and is run as a strict xfail so a fix is noticed.

Case kinds (``api``):
- ``facts`` (default): ``extractor.extract_text``; the fact whose evidence is exactly the
  ``occurrence``-th ``mention`` in ``text`` must carry every ``expect`` key (floats within
  a tolerance, lists as sets); ``no_fact: true`` says no fact may overlap the mention.
- ``assert_mention``: ``extractor.assert_mention`` on the mention's offsets.
- ``sentences``: the ``extractor_sentences`` stage alone; ``expect.sentences`` lists the
  sentence texts in order (surrounding whitespace ignored).
Every fact of every ``facts`` case must also cite its evidence exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from spacy.language import Language

import extractor
from extractor.evaluation.cases import PhraseCase, check_case, load_cases

CASES_DIR = Path(__file__).parent / "cases"

_SINCE = (
    "pipeline/temporal.py resolves 'since X' to X alone and an old date makes the condition historical; "
    "'since X' should be an interval open to the note date"
)
# case id -> why the pipeline cannot meet it yet (a code bug or a rule beyond data).
KNOWN_FAILURES: dict[str, str] = {
    "hist-seizures-since-year-ongoing": _SINCE,
    "time-since-month-long-ago-is-ongoing": _SINCE,
    "hyp-acyclovir-prophylaxis-drug": (
        "pipeline/context.py: rule groups cannot exclude target kinds (medspaCy's excluded_types), "
        "so 'prophylaxis' right after a drug makes the drug hypothetical"
    ),
    "unc-suspected-keeps-drug": (
        "pipeline/context.py: rule groups cannot exclude target kinds, so 'suspected' makes the drug "
        "given for the suspected disease possible (a 'started' terminator would cut family scopes)"
    ),
    "inf-latent-tb-treated": (
        "pipeline/infections.py: a cue inside the mention ('latent' in 'Latent TB') wins at distance 0 "
        "over the sentence's treatment cue"
    ),
    "lab-ppd-positive": (
        "labs.yaml's PPD pattern puts the result word inside the concept span and pipeline/labs.py reads "
        "only after the span, so the result is lost"
    ),
    "sec-labs": (
        "pipeline/sections.py accepts a header only before ':', '-' or a line end; 'Labs (01/08/2025):' is missed"
    ),
    "exp-lives-with-mother-who-smokes": (
        "beyond ConText rules: the relative clause 'who smokes' belongs to the mother, but 'who' "
        "terminates the family trigger's scope"
    ),
}


CASES = load_cases(CASES_DIR)


def _params() -> Iterator[Any]:
    for stem, case in CASES:
        marks = []
        if case.id in KNOWN_FAILURES:
            marks.append(pytest.mark.xfail(reason=KNOWN_FAILURES[case.id], strict=True))
        yield pytest.param(case, id=f"{stem}:{case.id}", marks=marks)


@pytest.fixture(scope="module")
def nlp() -> Language:
    """The full pipeline, built once: loading is the slow part."""
    return extractor.load()


@pytest.mark.parametrize("case", list(_params()))
def test_phrase_case(case: PhraseCase, nlp: Language) -> None:
    """The pipeline says what the phrase means."""
    problems = check_case(case, nlp)
    assert not problems, "; ".join(problems)


def test_known_failures_name_real_cases() -> None:
    """A stale entry would hide nothing and mislead; every listed id must be a case."""
    ids = {case.id for _, case in CASES}
    assert set(KNOWN_FAILURES) <= ids, sorted(set(KNOWN_FAILURES) - ids)
