"""`present`: a concept or class stated of the patient, ever, now, or within a window.

Only the patient's own affirmed, negated or hedged mentions count: family history and
hypothetical mentions ("if she develops a rash") never do. Attribute and infection-state
filters narrow what counts ("moderate or large" effusion, "active" CMV, a cancer's
``stage_group: ">=3"`` or ``metastatic: true``); a mention that lacks the attribute leaves
it for a reviewer.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any, Literal

from pydantic import Field, model_validator

from extractor.facts import Assertion, Experiencer, Fact, InfectionState, Kind, Temporality
from extractor.notes import Note
from extractor.screening.outcome import Finding, Status, merge_evidence
from extractor.screening.patient import Mention
from extractor.screening.predicates.registry import (
    Context,
    DurationField,
    Names,
    Params,
    label_of,
    predicate,
)
from extractor.screening.resolve import (
    Polarity,
    Resolution,
    Statement,
    combine_any,
    recent_courses,
    resolve_current,
    resolve_window,
)
from extractor.screening.timeline import Span

# A mention dated this long before its note states the past ("class II nephritis, biopsy
# 09/2022" in a 2025 note): the attribute it leaves unsaid is not a doubt about now.
_PAST_DATED = dt.timedelta(days=365)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6}
_COMPARE = re.compile(r"^(<=|>=|<|>)\s*(\S+)$")


class PresentParams(Params):
    """`present: {concept: [seizure, stroke], window: 60 days}` and the like."""

    shorthand = "concept"

    concept: Names = ()
    classes: Names = ()
    kind: Kind | None = None
    exclude: Names = ()
    experiencer: tuple[Experiencer, ...] = (Experiencer.PATIENT,)
    temporality: tuple[Temporality, ...] = (Temporality.CURRENT, Temporality.HISTORICAL)
    states: tuple[InfectionState, ...] = ()
    attrs: dict[str, Any] = Field(default_factory=dict)
    when: Literal["ever", "current"] = "ever"
    window: DurationField | None = None
    historical: Literal["not_met", "unknown"] = "not_met"
    lifelong: bool = False  # a denial ("SLE ruled out") denies the past too
    sections: tuple[str, ...] = ()  # only mentions in these note sections (the allergy list)
    # words of what a diagnosis rests on (its classification criteria): a dated statement
    # written with them on its line is the one cited ("SLE since 2016 (arthritis, malar rash")
    basis: Names = ()
    # cite only the statements of absence ("Afebrile"), not the earlier ones they supersede
    # ("Fever to 38.3"): what a not_met's ``negative_evidence`` rests on
    denials_only: bool = False
    # a not_met asked by kind cites, of its old episodes, only the last ended, and only when it
    # ended within this long before screening; a denial of one named thing ("no hepatitis B")
    # is then told, not cited (the criterion's ``negative_evidence`` cites the general word)
    cite_recent: DurationField | None = None
    # of the statements of one event that meet a window, cite the latest written, not the first:
    # what a not_met's ``negative_evidence`` rests on is the chart's latest word ("already had
    # the inactivated flu vaccine in Oct" in the screening note over the clinic note's list)
    cite_latest: bool = False
    # ask for the mentions the chart plans, advises, defers or discusses (hypothetical), not the
    # ones had: a not_met's ``negative_evidence`` cites them ("due for MMR; advised to hold",
    # "HSCT only if HLH recurs", "rituximab to be considered later"), each on the day written
    planned: bool = False

    @model_validator(mode="after")
    def _something_to_find(self) -> PresentParams:
        if not (self.concept or self.classes or self.kind):
            raise ValueError("give at least one of concept, classes or kind")
        for name, test in self.attrs.items():
            if isinstance(test, str) and test[:1] in "<>" and _COMPARE.match(test) is None:
                raise ValueError(f"attrs.{name}: cannot read comparison {test!r}")
        return self


def attr_matches(fact: Fact, tests: dict[str, Any]) -> tuple[bool | None, str]:
    """Whether a fact's attributes pass the tests: True, False, or None when one is missing;
    with the attribute values, for reasons."""
    shown = []
    for name, test in tests.items():
        value = fact.attribute(name)  # attrs, then a cancer's oncology attributes (stage, metastatic...)
        if value is None:
            return None, f"({name} not stated)"
        if not _passes(value, test):
            return False, f"({name} {value})"
        shown.append(f"{name} {value}")
    return True, f"({', '.join(shown)})"


def _passes(value: Any, test: Any) -> bool:
    if isinstance(value, list | tuple):  # several values (metastatic sites): any one may pass
        return any(_passes(item, test) for item in value)
    if isinstance(test, str) and (match := _COMPARE.match(test)):
        op, limit = match.groups()
        number, bound = _number(value), _number(limit)
        if number is None or bound is None:
            return False
        return {"<": number < bound, "<=": number <= bound, ">": number > bound, ">=": number >= bound}[op]
    allowed = test if isinstance(test, list | tuple) else [test]
    return any(_same(value, option) for option in allowed)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().lower()
    if text in _ROMAN:
        return float(_ROMAN[text])
    try:
        return float(text)
    except ValueError:
        return None


def _same(value: Any, option: Any) -> bool:
    if isinstance(option, bool) or isinstance(value, bool):
        return value is option
    if isinstance(option, str) and isinstance(value, str):
        return value.strip().lower() == option.strip().lower()
    return _number(value) is not None and _number(value) == _number(option)


def infection_state(fact: Fact) -> InfectionState:
    """The stated infection state, else active when current and history when past."""
    if fact.infection_state is not None:
        return fact.infection_state
    if fact.temporality is Temporality.CURRENT:
        return InfectionState.ACTIVE
    return InfectionState.HISTORY


def statement(mention: Mention, params: PresentParams, text: str | None = None) -> Statement | None:
    """How one mention answers the question, or None when it does not bear on it; ``text``
    is the note the mention's first copy is in (read only for ``basis``)."""
    fact = mention.fact
    if fact.experiencer not in params.experiencer or fact.temporality not in params.temporality:
        return None
    if params.planned or fact.assertion is Assertion.HYPOTHETICAL:
        if not (params.planned and fact.assertion is Assertion.HYPOTHETICAL):
            return None
        label = (fact.label or fact.concept.replace("_", " ")).lower()
        return Statement(mention, Polarity.AFFIRM, Span.point(mention.written), label, detail="(planned)")
    polarity = {
        Assertion.PRESENT: Polarity.AFFIRM,
        Assertion.ABSENT: Polarity.DENY,
        Assertion.POSSIBLE: Polarity.HEDGE,
    }[fact.assertion]
    detail = ""
    unstated = False
    now = fact.temporality is Temporality.CURRENT
    if polarity is not Polarity.DENY:
        if params.states and (state := infection_state(fact)) not in params.states:
            polarity, detail = Polarity.OTHER, f"({state.value})"
        elif params.attrs:
            matches, detail = attr_matches(fact, params.attrs)
            if matches is False:
                polarity = Polarity.OTHER
            elif matches is None and params.when == "current" and (not now or _past_dated(mention)):
                now, unstated = False, True  # a past statement: ``historical`` decides, not a reviewer
            elif matches is None:
                polarity = Polarity.HEDGE
    span = mention.span
    if polarity is Polarity.DENY and (params.lifelong or fact.temporality is Temporality.HISTORICAL):
        span = Span(None, mention.written)
    return Statement(
        mention=mention,
        polarity=polarity,
        span=span,
        label=(fact.label or fact.concept.replace("_", " ")).lower(),
        now=now,
        detail=detail,
        ongoing=mention.ongoing,
        with_basis=polarity is Polarity.AFFIRM and _with_basis(mention, params.basis, text),
        unstated=unstated,
    )


def _note_text(notes: dict[str, Note], mention: Mention) -> str | None:
    note = notes.get(mention.first.evidence.note_id)
    return note.text if note is not None else None


# the basis opens right after the diagnosis and its date, on its line: "SLE since 2016
# (inflammatory arthritis, ...", "SLE (2015): arthritis, ...", "SLE dx 1998 - arthritis, ..."
# (a bracket, then what a colon or dash after it lists; else what a colon or dash lists)
_BASIS_OPENS = re.compile(
    r"[^\n(]{0,40}?(?:\(([^)\n]{0,120})\)?(?:\s*(?::| - )([^;\n]{0,80}))?|(?::| - )([^;\n]{0,80}))"
)


def _with_basis(mention: Mention, basis: tuple[str, ...], text: str | None) -> bool:
    """The mention's line goes on to list what it rests on (any of ``basis``, whole words, in
    the bracket, or after the colon or dash, that opens right after the diagnosis and its
    date): "cSLE (dx 2023) presenting with ... arthritis" lists nothing."""
    if not basis or text is None:
        return False
    opened = _BASIS_OPENS.match(text, mention.first.evidence.char_end)
    if opened is None:
        return False
    listed = " ".join(part for part in opened.groups() if part).lower()
    return any(re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", listed) for word in basis)


def _past_dated(mention: Mention) -> bool:
    """The mention's own written date ends more than a year before the note holding it."""
    span, written = mention.span, mention.written
    explicit = mention.first.time is not None and mention.first.time.source == "text"
    return explicit and span.end is not None and written is not None and written - span.end > _PAST_DATED


def resolve_by_concept(statements: list[Statement], context: Context, params: PresentParams) -> Resolution:
    """Resolve each concept on its own ("no seizures" says nothing of stroke), then any.

    ``when: current`` with a window reads only statements written within the window.
    """
    by_concept: dict[str, list[Statement]] = defaultdict(list)
    for item in statements:
        by_concept[item.mention.fact.concept].append(item)
    frame = context.window(params.window)
    resolutions = []
    for group in by_concept.values():
        if params.when == "current":
            if params.window is not None:
                group = [s for s in group if frame.span.overlaps(Span.point(s.written))]
            resolutions.append(resolve_current(group, Status(params.historical)))
        else:
            resolutions.append(resolve_window(group, frame, latest=params.cite_latest))
    return combine_any(resolutions)


def finding(resolution: Resolution, context: Context, silence: str) -> Finding:
    """A predicate's finding from a resolution, citing the statements' spans."""
    if resolution.status is None:
        return Finding(None, silence)
    evidence = merge_evidence(tuple(context.patient.cite(s.mention) for s in resolution.cited))
    return Finding(resolution.status, resolution.reason, evidence)


@predicate("present", PresentParams)
def present(params: PresentParams, context: Context) -> Finding:
    """A concept or class stated of the patient (ever, now, or within a window)."""
    kinds = (params.kind,) if params.kind else ()
    mentions = context.patient.find(params.concept, params.classes, kinds, params.exclude)
    if params.sections:
        mentions = [m for m in mentions if m.fact.evidence.section in params.sections]
    notes = context.patient.notes
    statements = [
        s for m in mentions
        if (s := statement(m, params, _note_text(notes, m) if params.basis else None)) is not None
    ]
    resolution = resolve_by_concept(statements, context, params)
    if resolution.status is Status.NOT_MET and not (params.concept or params.classes):
        # asked by kind ("any infection"): that one named thing is denied or of another kind
        # ("no hepatitis B", "CMV IgG") does not show there is none; the old episodes do, and
        # are cited instead when there are any, else the denials; a statement of another
        # state than asked (serology, latent) is told in the reason but never cited: it is no
        # episode of the kind asked, and no statement that there was none
        episodes = tuple(s for s in resolution.cited if s.polarity in (Polarity.AFFIRM, Polarity.HEDGE))
        denials = tuple(s for s in resolution.cited if s.polarity is Polarity.DENY)
        if params.cite_recent is not None:
            old = Resolution(resolution.status, episodes, resolution.reason)
            episodes = recent_courses(old, context.window(params.cite_recent), latest_only=True).cited
            denials = ()
        resolution = Resolution(resolution.status, episodes or denials, resolution.reason)
    if params.denials_only and resolution.status is Status.NOT_MET:
        denied = tuple(s for s in resolution.cited if s.polarity is Polarity.DENY)
        resolution = Resolution(resolution.status, denied or resolution.cited, resolution.reason)
    what = label_of(params.concept, params.classes) if (params.concept or params.classes) else (
        f"{params.kind.value}" if params.kind else "it"
    )
    scope = "current " if params.when == "current" else ""
    frame = context.window(params.window).label if params.window else ""
    silence = f"no {scope}{what} in the chart" + (f" {frame}" if frame else "")
    return finding(resolution, context, silence)
