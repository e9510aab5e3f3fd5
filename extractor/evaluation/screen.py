"""Scoring screening verdicts against gold verdict lines (CONTRACT.md), patient by patient.

Measures what a reviewer relies on: each criterion's status, the overall verdict,
whether the cited evidence is the evidence the gold cites (by span overlap), and that
every cited span is the note's text at its offsets, since a reviewer clicks through
to those words.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from extractor.evaluation.errors import EvalErrors, GoldError, describe_validation
from extractor.evaluation.metrics import Tally
from extractor.evaluation.report import Column, Report, Table, limited, ratio_columns
from extractor.notes import Note

STATUSES = ("met", "not_met", "unknown")
OVERALLS = ("ineligible", "candidate", "needs_review")
MISSING = "missing"  # no predicted verdict for this patient or criterion


class _Contract(BaseModel):
    # The CONTRACT allows more fields than it names; they are kept out of scoring.
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class CitedSpan(_Contract):
    """Words of a note a status rests on; offsets are str indices, end-exclusive."""

    note_id: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    section: str | None = None


class CriterionVerdict(_Contract):
    """One criterion's status for one patient, with the evidence it rests on."""

    id: str
    type: str | None = None
    status: Literal["met", "not_met", "unknown"]
    reason: str = ""
    evidence: tuple[CitedSpan, ...] = ()


class VerdictLine(_Contract):
    """One patient's verdict for one trial: a line of a verdicts JSON Lines file."""

    patient_id: str
    trial: str
    screening_date: dt.date | None = None
    overall: Literal["ineligible", "candidate", "needs_review"]
    criteria: tuple[CriterionVerdict, ...]

    @model_validator(mode="after")
    def _one_result_per_criterion(self) -> VerdictLine:
        ids = [criterion.id for criterion in self.criteria]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"criteria listed more than once: {', '.join(repeated)}")
        return self


class ReviewedVerdict(VerdictLine):
    """Gold from reviewer decisions: the statuses of the criteria reviewers judged.

    Reviewers judge criteria, not the overall verdict, and cite no spans of their own,
    so such a line has no ``overall`` and only statuses are scored against it.
    """

    overall: Literal["ineligible", "candidate", "needs_review"] | None = None


def gold_from_reviews(path: Path, trial: str | None = None) -> list[tuple[str, VerdictLine]]:
    """Gold lines from ``extractor export-reviews`` JSON Lines: the latest decision per criterion."""
    from extractor.report.reviews import ReviewErrors, gold_statuses, read_decisions

    gold = []
    for (trial_id, patient_id), criteria in gold_statuses(read_decisions(path), trial).items():
        where = next(iter(criteria.values()))[0]
        lines = [CriterionVerdict(id=cid, status=status) for cid, (_, status) in criteria.items()]
        gold.append((where, ReviewedVerdict(patient_id=patient_id, trial=trial_id, criteria=tuple(lines))))
    if not gold:
        raise GoldError(ReviewErrors.R002.format(path=path, trial=f" of trial {trial}" if trial else ""))
    return gold


def parse_verdict(record: Any, where: str) -> VerdictLine:
    """One decoded verdict line, validated; a fault names ``where`` and the field, not values."""
    try:
        return VerdictLine.model_validate(record)
    except ValidationError as exc:
        problem = describe_validation(exc.errors(include_input=False, include_url=False))
        raise GoldError(EvalErrors.E315.format(where=where, problem=problem)) from None


def _decode(raw: bytes, where: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"not valid JSON ({type(exc).__name__})"
        raise GoldError(EvalErrors.E315.format(where=where, problem=problem)) from None


def _records(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, decoded JSON) for each line of a ``.jsonl``, or each ``*.json`` of a directory."""
    if path.is_dir():
        for source in sorted(path.glob("*.json")):
            yield str(source), _decode(source.read_bytes(), str(source))
        return
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if raw.strip():
                where = f"{path}, line {line_no}"
                yield where, _decode(raw, where)


def read_verdicts(path: Path, trial: str | None = None) -> list[tuple[str, VerdictLine]]:
    """Every verdict of a file with where it was read; any fault stops the reading.

    ``path`` is a JSON Lines file (one patient a line, as CONTRACT.md) or a directory
    of one-patient ``.json`` files; ``trial`` keeps only that trial's verdicts. Unlike
    notes, verdicts are read all-or-nothing: a skipped line would silently drop a
    patient from the score.
    """
    verdicts: list[tuple[str, VerdictLine]] = []
    seen: set[tuple[str, str]] = set()
    for where, record in _records(path):
        verdict = parse_verdict(record, where)
        if trial is not None and verdict.trial != trial:
            continue
        key = (verdict.trial, verdict.patient_id)
        if key in seen:
            raise GoldError(EvalErrors.E316.format(where=where, patient_id=verdict.patient_id, trial=verdict.trial))
        seen.add(key)
        verdicts.append((where, verdict))
    if not verdicts:
        raise GoldError(EvalErrors.E323.format(path=path, trial=f" of trial {trial}" if trial else ""))
    return verdicts


def span_problem(span: CitedSpan, notes: Mapping[str, str]) -> str | None:
    """Why a cited span is not the note's text at its offsets, or None when it is."""
    if span.note_id not in notes:
        return "cites a note that is not in the notes file"
    text = notes[span.note_id]
    if not span.start <= span.end <= len(text):
        return "has offsets outside the note"
    if text[span.start : span.end] != span.text:
        return "does not equal the note text at its offsets"
    return None


def check_gold_evidence(gold: Iterable[tuple[str, VerdictLine]], notes: Mapping[str, str]) -> None:
    """Raise on the first gold span that is not its note's text: the gold must be exact."""
    for where, verdict in gold:
        for criterion in verdict.criteria:
            for span in criterion.evidence:
                problem = span_problem(span, notes)
                if problem:
                    raise GoldError(
                        EvalErrors.E317.format(
                            where=where,
                            note_id=span.note_id,
                            start=span.start,
                            end=span.end,
                            criterion=criterion.id,
                            problem=problem,
                        )
                    )


def _overlaps(a: CitedSpan, b: CitedSpan) -> bool:
    return a.note_id == b.note_id and max(a.start, b.start) < min(a.end, b.end)


@dataclass
class CriterionScore:
    """How one criterion fared over all patients."""

    type: str | None = None
    status: Tally = field(default_factory=Tally)
    gold_statuses: Counter[str] = field(default_factory=Counter)
    evidence_precision: Tally = field(default_factory=Tally)
    evidence_recall: Tally = field(default_factory=Tally)


@dataclass
class ScreenResult:
    """Statuses, overall verdicts, evidence overlap and cited-span checks."""

    patients: int = 0
    missing_patients: int = 0
    criteria: dict[str, CriterionScore] = field(default_factory=dict)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    overall: Tally = field(default_factory=Tally)
    overall_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    cited_checked: int = 0
    cited_problems: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    evidence_misses: list[dict[str, Any]] = field(default_factory=list)

    def total(self, name: str) -> Tally:
        """A criterion-level tally (``status``, ``evidence_precision``...) summed over criteria."""
        total = Tally()
        for score in self.criteria.values():
            part: Tally = getattr(score, name)
            total.correct += part.correct
            total.total += part.total
        return total

    def metrics(self) -> dict[str, float | int | None]:
        """Flat named metrics (``criterion_accuracy``, ``criterion.inc-age.accuracy``...)."""
        precision = self.total("evidence_precision").accuracy
        recall = self.total("evidence_recall").accuracy
        metrics: dict[str, float | int | None] = {
            "patients": self.patients,
            "missing_patients": self.missing_patients,
            "criterion_accuracy": self.total("status").accuracy,
            "overall_accuracy": self.overall.accuracy,
            "evidence_precision": precision,
            "evidence_recall": recall,
            "evidence_f1": (
                None
                if precision is None or recall is None
                else 2 * precision * recall / (precision + recall)
                if precision + recall
                else 0.0
            ),
            "cited_spans_checked": self.cited_checked,
            "cited_spans_mismatched": len(self.cited_problems),
            "candidates_found": self._share("candidate", ("candidate",)),
            # a false exclusion is the costliest error: the share of patients the gold keeps
            # (candidate or needs_review) that are not called ineligible
            "eligible_kept": self._share(None, ("candidate", "needs_review")),
        }
        for criterion_id, score in self.criteria.items():
            metrics[f"criterion.{criterion_id}.accuracy"] = score.status.accuracy
        return metrics

    def _share(self, gold: str | None, predicted: tuple[str, ...]) -> float | None:
        """Of the patients whose gold overall is ``gold`` (None: candidate or needs_review),
        the share predicted as one of ``predicted``."""
        wanted = (gold,) if gold else ("candidate", "needs_review")
        total = sum(n for (g, _), n in self.overall_confusion.items() if g in wanted)
        kept = sum(n for (g, p), n in self.overall_confusion.items() if g in wanted and p in predicted)
        return kept / total if total else None

    def to_report(self, max_errors: int = 50) -> Report:
        """Per-criterion table, both confusion matrices, span problems and errors to read."""
        metrics = self.metrics()
        error_rows, caption = limited(self.errors, max_errors, "errors")
        problem_rows, problem_caption = limited(self.cited_problems, max_errors, "problems")
        miss_rows, miss_caption = limited(self.evidence_misses, max_errors, "evidence misses")
        miss_kinds = Counter((m["side"], m["kind"]) for m in self.evidence_misses)
        return Report(
            title="Screening verdicts against gold",
            metrics=metrics,
            lines=(
                f"{self.patients} gold patients, {self.missing_patients} without a prediction",
                f"criterion accuracy {_fmt(metrics['criterion_accuracy'])}, overall-verdict "
                f"accuracy {_fmt(metrics['overall_accuracy'])}",
                f"evidence precision {_fmt(metrics['evidence_precision'])}, recall "
                f"{_fmt(metrics['evidence_recall'])} (span overlap)",
                f"cited spans checked {self.cited_checked}, not equal to the note text {len(self.cited_problems)}",
                "evidence misses: "
                + (", ".join(f"{side} ({kind}) {n}" for (side, kind), n in sorted(miss_kinds.items())) or "none"),
                f"gold candidates found {_fmt(metrics['candidates_found'])}; candidates and needs_review "
                f"not called ineligible {_fmt(metrics['eligible_kept'])}",
            ),
            tables=(
                self._criteria_table(),
                _confusion_table("Criterion status: gold (rows) x predicted", STATUSES, self.confusion),
                _confusion_table("Overall verdict: gold (rows) x predicted", OVERALLS, self.overall_confusion),
                Table(
                    "Cited spans not equal to the note text",
                    tuple(Column(k, k.replace("_", " ")) for k in _PROBLEM_KEYS),
                    problem_rows,
                    problem_caption,
                ),
                Table(
                    "Errors",
                    tuple(Column(k, k.replace("_", " ")) for k in _ERROR_KEYS),
                    error_rows,
                    caption,
                ),
                Table(
                    "Evidence misses",
                    tuple(Column(k, k.replace("_", " ")) for k in _MISS_KEYS),
                    miss_rows,
                    miss_caption,
                ),
            ),
        )

    def _criteria_table(self) -> Table:
        rows = tuple(
            {
                "criterion": criterion_id,
                "type": score.type,
                "patients": score.status.total,
                "accuracy": score.status.accuracy,
                **{f"gold_{status}": score.gold_statuses[status] for status in STATUSES},
                "evidence_precision": score.evidence_precision.accuracy,
                "evidence_recall": score.evidence_recall.accuracy,
            }
            for criterion_id, score in self.criteria.items()
        )
        columns = (
            Column("criterion", "criterion"),
            Column("type", "type"),
            Column("patients", "patients"),
            *ratio_columns("accuracy"),
            *(Column(f"gold_{s}", f"gold {s}") for s in STATUSES),
            *ratio_columns("evidence_precision", "evidence_recall"),
        )
        return Table("Per criterion", columns, rows)


_PROBLEM_KEYS = ("patient_id", "criterion", "note_id", "start", "end", "problem")
_ERROR_KEYS = ("patient_id", "trial", "criterion", "gold", "predicted", "reason")
_MISS_KEYS = ("patient_id", "criterion", "gold", "predicted", "side", "kind", "note_id", "start", "end", "text")


def _fmt(value: float | int | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _confusion_table(title: str, labels: Sequence[str], counts: Counter[tuple[str, str]]) -> Table:
    predicted = (*labels, MISSING)
    rows = tuple(
        {
            "gold": gold,
            **{p: counts[gold, p] for p in predicted},
            "total": sum(counts[gold, p] for p in predicted),
        }
        for gold in labels
    )
    columns = (Column("gold", "gold"), *(Column(p, p) for p in predicted), Column("total", "total"))
    return Table(title, columns, rows)


def _score_criterion(
    gold: CriterionVerdict, predicted: CriterionVerdict | None, score: CriterionScore, with_evidence: bool = True
) -> None:
    score.type = score.type or gold.type or (predicted.type if predicted else None)
    score.gold_statuses[gold.status] += 1
    score.status.add(predicted is not None and predicted.status == gold.status)
    if not with_evidence:
        return
    cited = predicted.evidence if predicted else ()
    for span in cited:
        score.evidence_precision.add(any(_overlaps(span, g) for g in gold.evidence))
    for span in gold.evidence:
        score.evidence_recall.add(any(_overlaps(span, p) for p in cited))


def evaluate_screen(
    gold: Sequence[VerdictLine], predicted: Sequence[VerdictLine], notes: Mapping[str, str]
) -> ScreenResult:
    """Score ``predicted`` verdict lines against ``gold``; ``notes`` maps note id -> text.

    A gold patient (or criterion) with no prediction counts as wrong, shown as
    ``missing``; predicted patients absent from the gold are not scored. Every span
    the prediction cites is checked against the notes. A gold line without an overall
    verdict (reviewer decisions) scores criterion statuses only.
    """
    result = ScreenResult(patients=len(gold))
    by_key = {(line.trial, line.patient_id): line for line in predicted}
    for line in predicted:
        for criterion in line.criteria:
            for span in criterion.evidence:
                result.cited_checked += 1
                problem = span_problem(span, notes)
                if problem:
                    result.cited_problems.append(
                        {
                            "patient_id": line.patient_id,
                            "criterion": criterion.id,
                            "note_id": span.note_id,
                            "start": span.start,
                            "end": span.end,
                            "problem": problem,
                        }
                    )
    for gold_line in gold:
        line = by_key.get((gold_line.trial, gold_line.patient_id))
        result.missing_patients += line is None
        overall = line.overall if line else MISSING
        reviewed = gold_line.overall is None  # reviewer decisions: statuses only
        if not reviewed:
            result.overall.add(overall == gold_line.overall)
            result.overall_confusion[gold_line.overall, overall] += 1
            if overall != gold_line.overall:
                result.errors.append(_error(gold_line, "(overall)", gold_line.overall, overall, ""))
        predicted_criteria = {c.id: c for c in line.criteria} if line else {}
        for criterion in gold_line.criteria:
            guess = predicted_criteria.get(criterion.id)
            status = guess.status if guess else MISSING
            result.confusion[criterion.status, status] += 1
            score = result.criteria.setdefault(criterion.id, CriterionScore())
            _score_criterion(criterion, guess, score, with_evidence=not reviewed)
            if not reviewed:
                result.evidence_misses.extend(_evidence_misses(gold_line.patient_id, criterion, guess))
            if status != criterion.status:
                reason = guess.reason if guess else ""
                result.errors.append(_error(gold_line, criterion.id, criterion.status, status, reason))
    return result


def _evidence_misses(
    patient_id: str, gold: CriterionVerdict, predicted: CriterionVerdict | None
) -> Iterator[dict[str, Any]]:
    """Each cited span the gold lacks and each gold span left uncited, with its kind.

    The kind sorts the misses into what each needs: a span cited beside a wrong status
    (``status wrong``) follows the status; a gold span of a criterion citing nothing
    (``none cited``) needs the criterion to cite at all; one where the prediction cites
    another note (``other note``) or other words of the same note (``same note``) is a
    choice between copies or a boundary.
    """
    cited = predicted.evidence if predicted else ()
    status = predicted.status if predicted else MISSING
    status_kind = "status right" if status == gold.status else "status wrong"
    for span in cited:
        if not any(_overlaps(span, g) for g in gold.evidence):
            yield _miss(patient_id, gold, status, "cited, not gold", status_kind, span)
    for span in gold.evidence:
        if any(_overlaps(span, p) for p in cited):
            continue
        if not cited:
            kind = "none cited"
        elif any(p.note_id == span.note_id for p in cited):
            kind = "same note"
        else:
            kind = "other note"
        yield _miss(patient_id, gold, status, "gold, not cited", kind, span)


def _miss(
    patient_id: str, gold: CriterionVerdict, status: str, side: str, kind: str, span: CitedSpan
) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "criterion": gold.id,
        "gold": gold.status,
        "predicted": status,
        "side": side,
        "kind": kind,
        "note_id": span.note_id,
        "start": span.start,
        "end": span.end,
        "text": span.text,
    }


def _error(line: VerdictLine, criterion: str, gold: str, predicted: str, reason: str) -> dict[str, Any]:
    return {
        "patient_id": line.patient_id,
        "trial": line.trial,
        "criterion": criterion,
        "gold": gold,
        "predicted": predicted,
        "reason": reason,
    }


def predict_verdicts(gold: Sequence[VerdictLine], notes: Iterable[Note], nlp: Any = None) -> list[VerdictLine]:
    """Screen each gold patient's notes for the gold line's trial and screening date."""
    from extractor import screening

    by_patient: dict[str, list[Note]] = defaultdict(list)
    for note in notes:
        by_patient[note.patient_id].append(note)
    trials: dict[str, Any] = {}
    predicted = []
    for line in gold:
        if line.trial not in trials:
            trials[line.trial] = screening.load_trial(line.trial)
        verdicts = screening.screen(
            by_patient.get(line.patient_id, []),
            trials[line.trial],
            screening_date=line.screening_date,
            nlp=nlp,
        )
        predicted += [
            parse_verdict(verdict.to_contract_dict(), f"screening output for {line.patient_id}") for verdict in verdicts
        ]
    return predicted
