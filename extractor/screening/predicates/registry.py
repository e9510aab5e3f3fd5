"""The predicate registry: a trial file names a predicate, the registry knows its parameters.

A predicate is a function ``(params, context) -> Finding`` registered under a name
with a pydantic parameter model (unknown keys rejected, so a typo in a trial file fails
at load with its line). Matcher code stays trial-agnostic: every trial-specific choice
(concepts, windows, thresholds) is a parameter in the trial's YAML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict

from extractor.screening.outcome import Finding, Status
from extractor.screening.patient import PatientRecord
from extractor.screening.timeline import Duration, Span, Window


def _duration(value: Any) -> Any:
    return Duration.parse(value) if isinstance(value, str | int) else value


def _names(value: Any) -> Any:
    """A single name is a one-element list."""
    return (value,) if isinstance(value, str) else value


DurationField = Annotated[Duration, BeforeValidator(_duration)]
Names = Annotated[tuple[str, ...], BeforeValidator(_names)]


class Params(BaseModel):
    """Parameters every predicate accepts. ``absent`` overrides what silence means here;
    ``cite: false`` decides without citing (a part another part's statement already names);
    ``cite: met`` cites only when the part holds (a woman's sex and age beside her positive
    pregnancy test are the criterion's premise, not what a reviewer checks)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    shorthand: ClassVar[str | None] = None  # the field a bare scalar fills: `sex: F`

    absent: Status | None = None
    cite: bool | Literal["met"] = True
    # False: a not_met here is told in the reason but cites nothing - a part of the rule that
    # is no word on what the criterion asks when it fails ("HCV RNA not detected" is no word
    # on an infection treated in the week)
    cite_not_met: bool = True


@dataclass(frozen=True)
class Context:
    """What a predicate sees: the patient, as of the screening date."""

    patient: PatientRecord

    @property
    def screening_date(self) -> dt.date | None:
        return self.patient.screening_date

    def window(self, duration: Duration | None) -> Window:
        """The look-back window ending on the screening date (all time when no duration)."""
        if self.screening_date is None:
            label = "" if duration is None else f"within {duration} (no screening date)"
            return Window(Span(None, None), label, undefined=duration is not None)
        return Window.before(self.screening_date, duration)


P = TypeVar("P", bound=Params)
Evaluate = Callable[[Any, Context], Finding]
Registrar = Callable[[Callable[[P, Context], Finding]], Callable[[P, Context], Finding]]


@dataclass(frozen=True)
class PredicateSpec:
    """A registered predicate: its name in trial files, its parameters, its function."""

    name: str
    params: type[Params]
    evaluate: Evaluate


PREDICATES: dict[str, PredicateSpec] = {}


def predicate(name: str, params: type[P]) -> Registrar[P]:
    """Register ``fn`` as predicate ``name``; registering a name twice is an error."""

    def register(fn: Callable[[P, Context], Finding]) -> Callable[[P, Context], Finding]:
        if name in PREDICATES:
            raise ValueError(f"predicate {name!r} is already registered")
        PREDICATES[name] = PredicateSpec(name, params, fn)
        return fn

    return register


def label_of(concepts: tuple[str, ...], classes: tuple[str, ...] = ()) -> str:
    """How a reason names what was looked for: 'seizure, stroke or anti cd20'."""
    names = [name.replace("_", " ") for name in (*concepts, *classes)]
    if len(names) <= 1:
        return names[0] if names else "it"
    return ", ".join(names[:-1]) + " or " + names[-1]
