"""Infection state: active, treated, latent, history, serology or resolved, from the sentence.

States are cue phrases in ``patterns/infection_states.yaml``; the cue nearest the
mention decides. Without a cue an affirmed infection is ``history`` when historical
and ``active`` otherwise; a negated or family-history mention has no state.
"""

import functools
import re

from pydantic import BaseModel, ConfigDict, Field
from spacy.tokens import Span

from extractor.facts import InfectionState
from extractor.pipeline.sentence_index import SentenceBounds
from extractor.resources import load_model, patterns_dir


class InfectionStatesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: str = Field(alias="schema", pattern=r"^infection-states/v1$")
    name: str
    description: str
    version: int | str
    source: str
    license: str
    cues: dict[InfectionState, tuple[str, ...]]


@functools.cache
def _cue_patterns() -> tuple[tuple[InfectionState, re.Pattern[str]], ...]:
    spec = load_model(InfectionStatesFile, patterns_dir() / "infection_states.yaml")
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
    ent: Span, assertion: str, temporality: str, sent: SentenceBounds, text: str
) -> InfectionState | None:
    """The state of the infection ``ent`` names, or None when it is not the patient's or not there."""
    context = ent._.context or {}
    if assertion != "present" or context.get("experiencer", "patient") != "patient":
        return None
    best: tuple[int, InfectionState] | None = None
    for state, regex in _cue_patterns():
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
