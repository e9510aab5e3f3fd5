"""Infection state: active, treated, latent, history, serology or resolved, from the sentence.

States are cue phrases in ``patterns/infection_states.yaml``; the cue nearest the
mention decides. Without a cue an affirmed infection is ``history`` when historical
and ``active`` otherwise; a negated or family-history mention has no state.
"""

import functools
import re
from pathlib import Path
from typing import Literal

from pydantic import Field
from spacy.tokens import Span

from extractor.facts import Assertion, Experiencer, InfectionState
from extractor.payloads import context_of
from extractor.pipeline.sentence_index import SentenceBounds
from extractor.resources import Header, load_model


class InfectionStatesFile(Header):
    schema_: Literal["infection-states/v1"] = Field(alias="schema")
    cues: dict[InfectionState, tuple[str, ...]]


RULE_FILE = "infection_states.yaml"


@functools.cache
def cue_patterns(directory: Path) -> tuple[tuple[InfectionState, re.Pattern[str]], ...]:
    """Each state's cue phrases of ``directory``'s rule file, as one regex per state."""
    spec = load_model(InfectionStatesFile, directory / RULE_FILE)
    return tuple(
        (
            state,
            re.compile(
                r"(?<![\w])(?:" + "|".join(re.escape(c) for c in sorted(cues, key=len, reverse=True)) + r")(?![\w])",
                re.IGNORECASE,
            ),
        )
        for state, cues in spec.cues.items()
    )


def infection_state(
    ent: Span,
    assertion: str,
    temporality: str,
    sent: SentenceBounds,
    text: str,
    cues: tuple[tuple[InfectionState, re.Pattern[str]], ...],
) -> InfectionState | None:
    """The state of the infection ``ent`` names, or None when it is not the patient's or not there."""
    if assertion != Assertion.PRESENT or context_of(ent).experiencer is not Experiencer.PATIENT:
        return None
    best: tuple[int, InfectionState] | None = None
    for state, regex in cues:
        for match in regex.finditer(text, sent.start_char, sent.end_char):
            if match.start() >= ent.end_char:
                distance = match.start() - ent.end_char
            elif match.end() <= ent.start_char:
                distance = ent.start_char - match.end()
            else:
                distance = 0  # the cue is part of the mention ("latent TB")
            if best is None or distance < best[0]:
                best = (distance, state)
    if best is not None:
        return best[1]
    return InfectionState.HISTORY if temporality == "historical" else InfectionState.ACTIVE
