"""Scoring extracted facts against brat gold: spans per kind, then attributes of matched facts.

Spans are matched two ways, both one-to-one and within a kind: exactly (same
offsets), and by overlap (greedily, largest overlap first), so a report separates
"found the thing, boundary off" from "missed it". Attributes (concept, assertion,
experiencer, temporality, values, dates...) are scored on the overlap-matched pairs,
each only where the gold says something about it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from extractor.evaluation.brat import GoldEntity, PartialDate
from extractor.evaluation.errors import EvalErrors, GoldError, describe_validation
from extractor.evaluation.gold import GoldNote
from extractor.evaluation.metrics import Counts, Tally
from extractor.evaluation.report import Column, Report, Table, limited, ratio_columns
from extractor.facts import Fact, Kind
from extractor.resources import load_concept_aliases

RELATIVE_TOLERANCE = 0.02  # normalised values within 2% of the gold count as right

DateWindow = tuple[dt.date | None, dt.date | None]


def within_tolerance(gold: float, predicted: float | None) -> bool:
    """True when ``predicted`` is within 2% of ``gold`` (relative to the gold value)."""
    return predicted is not None and abs(predicted - gold) <= RELATIVE_TOLERANCE * abs(gold) + 1e-9


def predicted_dates(fact: Fact) -> DateWindow | None:
    """The dates a fact claims: its time's date, its interval, or else its note's date.

    A time expression the pipeline found but could not resolve claims no date.
    """
    time = fact.time
    if time is None:
        return (fact.note_date, fact.note_date) if fact.note_date else None
    if time.date is not None:
        return (time.date, time.date)
    if time.start is not None or time.end is not None:
        return (time.start, time.end)
    return None


def dates_agree(gold: PartialDate, window: DateWindow | None) -> bool:
    """True when the gold date (a day, month or year) meets the predicted window.

    Open ends of the window are unbounded; a point prediction must fall inside the
    gold's month or year when the gold is that coarse.
    """
    if window is None:
        return False
    start, end = window
    return (start is None or start <= gold.end) and (end is None or gold.start <= end)


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, frozenset):
        return ", ".join(sorted(value)) or "(none)"
    if isinstance(value, tuple):
        start, end = value
        return str(start) if start == end else f"{start or '...'}..{end or '...'}"
    return str(value)


@dataclass(frozen=True)
class AttributeSpec:
    """How one attribute is read from gold and from a fact, and when the two agree.

    ``gold`` returns None where the gold says nothing about the attribute: such pairs
    are not scored for it.
    """

    name: str
    gold: Callable[[GoldEntity], Any]
    predicted: Callable[[Fact], Any]
    agrees: Callable[[Any, Any], bool] = lambda gold, predicted: gold == predicted


def _medication_only(default: Callable[[GoldEntity], Any]) -> Callable[[GoldEntity], Any]:
    return lambda entity: default(entity) if entity.kind is Kind.MEDICATION else None


def _lab_value(name: str) -> Callable[[Fact], Any]:
    return lambda fact: getattr(fact.lab, name) if fact.lab is not None else None


@functools.cache
def _aliases() -> dict[str, str]:
    return dict(load_concept_aliases().aliases)


def canonical_concept(concept: str | None) -> str | None:
    """A concept id with ``concept_aliases.yaml`` applied: an alias (an older or ICD-10-CM-title
    id) names the same concept, so gold written with it agrees with the current id."""
    return _aliases().get(concept, concept) if concept is not None else None


ATTRIBUTE_SPECS: tuple[AttributeSpec, ...] = (
    AttributeSpec("concept", lambda g: canonical_concept(g.concept), lambda f: canonical_concept(f.concept)),
    AttributeSpec("assertion", lambda g: g.attributes.get("Assertion", "present"), lambda f: f.assertion.value),
    AttributeSpec(
        "experiencer",
        lambda g: g.attributes.get("Experiencer", "patient"),
        lambda f: f.experiencer.value,
    ),
    AttributeSpec(
        "temporality",
        lambda g: g.attributes.get("Temporality", "current"),
        lambda f: f.temporality.value,
    ),
    AttributeSpec(
        "infection_state",
        lambda g: g.attributes.get("InfectionState"),
        lambda f: f.infection_state.value if f.infection_state else None,
    ),
    AttributeSpec(
        "med_status",
        _medication_only(lambda g: g.attributes.get("MedStatus", "current")),
        lambda f: f.medication.status.value if f.medication else None,
    ),
    AttributeSpec(
        "response",
        _medication_only(lambda g: frozenset([g.attributes["Response"]] if "Response" in g.attributes else [])),
        lambda f: frozenset(f.medication.response if f.medication else ()),
    ),
    AttributeSpec("value", lambda g: g.values.get("value"), _lab_value("value"), within_tolerance),
    AttributeSpec("value_high", lambda g: g.values.get("value_high"), _lab_value("value_high"), within_tolerance),
    AttributeSpec(
        "canonical_value",
        lambda g: g.values.get("canonical_value"),
        _lab_value("canonical_value"),
        within_tolerance,
    ),
    AttributeSpec("unit", lambda g: g.values.get("unit"), _lab_value("unit")),
    AttributeSpec("canonical_unit", lambda g: g.values.get("canonical_unit"), _lab_value("canonical_unit")),
    AttributeSpec("date", lambda g: g.values.get("date"), predicted_dates, dates_agree),
)


@dataclass(frozen=True)
class _Item:
    """A gold entity or a predicted fact, reduced to what matching needs."""

    note_id: str
    kind: Kind
    start: int
    end: int
    concept: str
    index: int


def match(gold: Sequence[_Item], predicted: Sequence[_Item], *, exact: bool) -> list[tuple[int, int]]:
    """One-to-one pairs (gold index, predicted index) of the same note and kind.

    ``exact``: same offsets. Otherwise overlapping, taken greedily by largest overlap,
    then same concept, then text order, so the result does not depend on input order.
    """
    by_key: dict[tuple[str, Kind], list[_Item]] = {}
    for item in predicted:
        by_key.setdefault((item.note_id, item.kind), []).append(item)
    candidates = []
    for g in gold:
        for p in by_key.get((g.note_id, g.kind), ()):
            overlap = min(g.end, p.end) - max(g.start, p.start)
            if (exact and (g.start, g.end) != (p.start, p.end)) or overlap <= 0:
                continue
            tie_breaks = (g.concept != p.concept, g.start, p.start)
            candidates.append((-overlap, *tie_breaks, g.index, p.index))
    candidates.sort()
    used_gold: set[int] = set()
    used_predicted: set[int] = set()
    pairs = []
    for *_, gi, pi in candidates:
        if gi not in used_gold and pi not in used_predicted:
            used_gold.add(gi)
            used_predicted.add(pi)
            pairs.append((gi, pi))
    return pairs


@dataclass(frozen=True)
class FactError:
    """One disagreement to read: a missed, spurious, mis-bounded or mis-attributed fact."""

    note_id: str
    kind: Kind
    error: str  # missed | spurious | boundary | <attribute name>
    gold_span: str = ""
    gold_text: str = ""
    predicted_span: str = ""
    predicted_text: str = ""
    detail: str = ""

    def row(self) -> dict[str, Any]:
        return {
            "note_id": self.note_id,
            "kind": self.kind.value,
            "error": self.error,
            "gold_span": self.gold_span,
            "gold_text": self.gold_text,
            "predicted_span": self.predicted_span,
            "predicted_text": self.predicted_text,
            "detail": self.detail,
        }


@dataclass
class FactsResult:
    """Counts per kind for both match modes, attribute tallies and the errors to read."""

    notes: int = 0
    exact: dict[Kind, Counts] = field(default_factory=dict)
    overlap: dict[Kind, Counts] = field(default_factory=dict)
    attributes: dict[str, Tally] = field(default_factory=dict)
    errors: list[FactError] = field(default_factory=list)
    evidence_mismatched: int = 0
    outside_gold: int = 0  # predicted facts of concepts the gold does not annotate: not scored
    concept_outside_gold: int = 0  # matched facts whose concept is outside the gold's scope
    scope: frozenset[str] | None = None

    def overall(self, mode: str) -> Counts:
        """Micro-averaged counts over every kind, for ``exact`` or ``overlap``."""
        total = Counts()
        for counts in getattr(self, mode).values():
            total.add(counts)
        return total

    def metrics(self) -> dict[str, float | int | None]:
        """Flat named metrics (``exact.lab.f1``, ``attribute.date.accuracy``), for floors."""
        metrics: dict[str, float | int | None] = {
            "notes": self.notes,
            "gold": self.overall("overlap").tp + self.overall("overlap").fn,
            "predicted": self.overall("overlap").tp + self.overall("overlap").fp,
            "evidence_mismatched": self.evidence_mismatched,
            "outside_gold": self.outside_gold,
            "concept_outside_gold": self.concept_outside_gold,
        }
        for mode in ("exact", "overlap"):
            for kind, counts in [("all", self.overall(mode)), *self._kinds(mode)]:
                for score, value in counts.scores().items():
                    metrics[f"{mode}.{kind}.{score}"] = value
        for name, tally in self.attributes.items():
            metrics[f"attribute.{name}.accuracy"] = tally.accuracy
            metrics[f"attribute.{name}.scored"] = tally.total
        return metrics

    def _kinds(self, mode: str) -> list[tuple[str, Counts]]:
        counts = getattr(self, mode)
        return [(kind.value, counts[kind]) for kind in Kind if kind in counts]

    def to_report(self, max_errors: int = 50) -> Report:
        """Per-kind span scores, attribute accuracy and the first ``max_errors`` errors."""
        kind_rows = []
        for kind in [*(k for k in Kind if k in self.overlap), None]:
            exact = self.exact.get(kind, Counts()) if kind else self.overall("exact")
            overlap = self.overlap[kind] if kind else self.overall("overlap")
            kind_rows.append(
                {
                    "kind": kind.value if kind else "all (micro)",
                    "gold": overlap.tp + overlap.fn,
                    "predicted": overlap.tp + overlap.fp,
                    **{f"exact_{name}": value for name, value in exact.scores().items()},
                    **{f"overlap_{name}": value for name, value in overlap.scores().items()},
                }
            )
        attribute_rows = tuple(
            {"attribute": name, "scored": t.total, "correct": t.correct, "accuracy": t.accuracy}
            for name, t in self.attributes.items()
        )
        error_rows, caption = limited([e.row() for e in self.errors], max_errors, "errors")
        overall = self.overall("overlap")
        return Report(
            title="Facts against brat gold",
            metrics=self.metrics(),
            lines=(
                f"{self.notes} notes, {overall.tp + overall.fn} gold facts, {overall.tp + overall.fp} predicted facts",
                "Matching is one-to-one within a kind; attributes are scored on overlap "
                "matches, each where the gold states it.",
                f"Predicted evidence not equal to the note text at its offsets: {self.evidence_mismatched}",
            ),
            tables=(
                Table(
                    "Spans per kind",
                    (
                        Column("kind", "kind"),
                        Column("gold", "gold"),
                        Column("predicted", "predicted"),
                        *ratio_columns("exact_precision", "exact_recall", "exact_f1"),
                        *ratio_columns("overlap_precision", "overlap_recall", "overlap_f1"),
                    ),
                    tuple(kind_rows),
                ),
                Table(
                    "Attributes of matched facts",
                    (
                        Column("attribute", "attribute"),
                        Column("scored", "scored"),
                        Column("correct", "correct"),
                        *ratio_columns("accuracy"),
                    ),
                    attribute_rows,
                ),
                Table(
                    "Errors",
                    tuple(Column(key, key.replace("_", " ")) for key in FactError.__dataclass_fields__),
                    error_rows,
                    caption,
                ),
            ),
        )


def _span(start: int, end: int) -> str:
    return f"{start}-{end}"


def _count(
    counts_by_kind: dict[Kind, Counts],
    gold: Sequence[_Item],
    predicted: Sequence[_Item],
    pairs: Sequence[tuple[int, int]],
) -> None:
    gold_n = Counter(item.kind for item in gold)
    predicted_n = Counter(item.kind for item in predicted)
    matched = Counter(gold[gi].kind for gi, _ in pairs)
    for kind in gold_n | predicted_n:
        counts_by_kind.setdefault(kind, Counts()).add(
            Counts(
                tp=matched[kind],
                fp=predicted_n[kind] - matched[kind],
                fn=gold_n[kind] - matched[kind],
            )
        )


def _score_note(note: GoldNote, facts: Sequence[Fact], result: FactsResult) -> None:
    gold = [_Item(note.note_id, e.kind, e.start, e.end, e.concept, i) for i, e in enumerate(note.entities)]
    predicted = [
        _Item(note.note_id, f.kind, f.evidence.char_start, f.evidence.char_end, f.concept, i)
        for i, f in enumerate(facts)
    ]
    result.evidence_mismatched += sum(
        note.text[f.evidence.char_start : f.evidence.char_end] != f.evidence.text for f in facts
    )
    _count(result.exact, gold, predicted, match(gold, predicted, exact=True))
    pairs = match(gold, predicted, exact=False)
    _count(result.overlap, gold, predicted, pairs)
    errors = _span_errors(note, facts, pairs)
    for gi, pi in pairs:
        errors += _score_attributes(note, note.entities[gi], facts[pi], result)
    result.errors += [error for _, error in sorted(errors, key=lambda pair: pair[0])]


def _span_errors(
    note: GoldNote, facts: Sequence[Fact], pairs: Sequence[tuple[int, int]]
) -> list[tuple[int, FactError]]:
    """Missed, spurious and mis-bounded facts of one note, each keyed by its start."""
    matched_gold = {gi for gi, _ in pairs}
    matched_predicted = {pi for _, pi in pairs}
    errors = [
        (
            entity.start,
            FactError(
                note.note_id,
                entity.kind,
                "missed",
                _span(entity.start, entity.end),
                entity.text,
                detail=f"gold concept {entity.concept}",
            ),
        )
        for gi, entity in enumerate(note.entities)
        if gi not in matched_gold
    ]
    errors += [
        (
            fact.evidence.char_start,
            FactError(
                note.note_id,
                fact.kind,
                "spurious",
                predicted_span=_span(fact.evidence.char_start, fact.evidence.char_end),
                predicted_text=fact.evidence.text,
                detail=f"predicted concept {fact.concept}",
            ),
        )
        for pi, fact in enumerate(facts)
        if pi not in matched_predicted
    ]
    for gi, pi in pairs:
        entity, fact = note.entities[gi], facts[pi]
        if (entity.start, entity.end) != (fact.evidence.char_start, fact.evidence.char_end):
            errors.append((entity.start, _pair_error(note, entity, fact, "boundary", "")))
    return errors


def _pair_error(note: GoldNote, entity: GoldEntity, fact: Fact, error: str, detail: str) -> FactError:
    return FactError(
        note.note_id,
        entity.kind,
        error,
        _span(entity.start, entity.end),
        entity.text,
        _span(fact.evidence.char_start, fact.evidence.char_end),
        fact.evidence.text,
        detail,
    )


def _score_attributes(
    note: GoldNote, entity: GoldEntity, fact: Fact, result: FactsResult
) -> list[tuple[int, FactError]]:
    """Tally each attribute the gold states; return the disagreements.

    A concept outside the gold's scope cannot be judged by it: its concept is not tallied.
    """
    errors = []
    for spec in ATTRIBUTE_SPECS:
        gold_value = spec.gold(entity)
        if gold_value is None:
            continue
        if spec.name == "concept" and result.scope is not None and fact.concept not in result.scope:
            result.concept_outside_gold += 1
            continue
        predicted_value = spec.predicted(fact)
        agrees = spec.agrees(gold_value, predicted_value)
        result.attributes.setdefault(spec.name, Tally()).add(agrees)
        if not agrees:
            detail = f"gold {_show(gold_value)}, predicted {_show(predicted_value)}"
            errors.append((entity.start, _pair_error(note, entity, fact, spec.name, detail)))
    return errors


def evaluate_facts(
    gold: Sequence[GoldNote], predicted: Mapping[str, Sequence[Fact]], scope: frozenset[str] | None = None
) -> FactsResult:
    """Score ``predicted`` (note id -> facts) against the gold notes.

    A gold note with no entry in ``predicted`` counts as a note where nothing was found.
    Errors come note by note in text order; attributes in the order of ATTRIBUTE_SPECS.
    With a ``scope`` (the concept ids the gold annotates, ``read_scope``), a fact of
    another concept that overlaps no gold fact of its kind is neither a hit nor a false
    positive: it is set aside and counted in ``outside_gold``. One that overlaps a gold
    fact of its kind is matched as usual, but its concept is not judged (the gold has no
    word for it): counted in ``concept_outside_gold``.
    """
    result = FactsResult(notes=len(gold), scope=scope)
    for note in sorted(gold, key=lambda n: n.note_id):
        facts = predicted.get(note.note_id, ())
        if scope is not None:
            kept = [fact for fact in facts if fact.concept in scope or _overlaps_gold(fact, note)]
            result.outside_gold += len(facts) - len(kept)
            facts = kept
        _score_note(note, facts, result)
    order = [spec.name for spec in ATTRIBUTE_SPECS]
    result.attributes = dict(sorted(result.attributes.items(), key=lambda kv: order.index(kv[0])))
    return result


def _overlaps_gold(fact: Fact, note: GoldNote) -> bool:
    start, end = fact.evidence.char_start, fact.evidence.char_end
    return any(e.kind is fact.kind and e.start < end and start < e.end for e in note.entities)


_SCOPE_HEADING = re.compile(r"^## \d+\. Concept ids in scope\s*$", re.MULTILINE)


def read_scope(directory: Path) -> frozenset[str] | None:
    """The concept ids a gold corpus annotates, from its ``GUIDELINES.md`` section "Concept ids
    in scope" (every backquoted id in it); None when the corpus does not say (score everything).

    corpora/dev/GUIDELINES.md: "an evaluation should score only the ids of section 8 (a
    predicted fact with another id is neither a hit nor a false positive)".
    """
    guidelines = directory / "GUIDELINES.md"
    if not guidelines.is_file():
        return None
    text = guidelines.read_text(encoding="utf-8")
    heading = _SCOPE_HEADING.search(text)
    if heading is None:
        return None
    following = text.find("\n## ", heading.end())
    section = text[heading.end() : following if following != -1 else len(text)]
    return frozenset(re.findall(r"`([a-z0-9_]+)`", section)) or None


def predict_facts(gold: Iterable[GoldNote], nlp: Any = None) -> dict[str, list[Fact]]:
    """Run the pipeline over the gold notes, each with its date and patient."""
    import extractor

    return {note.note_id: list(facts) for note, facts in extractor.extract_notes((g.to_note() for g in gold), nlp=nlp)}


def read_predicted_facts(path: Path) -> dict[str, list[Fact]]:
    """Facts as ``extractor extract`` writes them (one JSON object a line), by note id."""
    by_note: dict[str, list[Fact]] = defaultdict(list)
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                fact = Fact.model_validate_json(raw)
            except ValidationError as exc:
                problem = describe_validation(exc.errors(include_input=False, include_url=False))
                raise GoldError(EvalErrors.E322.format(path=path, line=line_no, problem=problem)) from None
            by_note[fact.evidence.note_id].append(fact)
    return dict(by_note)
