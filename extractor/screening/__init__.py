"""Trial screening: a patient's facts, across all notes, judged criterion by criterion.

Public API:
    load_trial(id_or_path) -> Trial          a bundled trial id or a trial YAML path
    bundled_trials() -> list[str]            ids of the bundled trials
    screen_patient(notes, facts, trial, screening_date=None) -> PatientVerdict
    screen(notes, trial, screening_date=None, nlp=None) -> Iterator[PatientVerdict]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from extractor.facts import Fact
from extractor.notes import Note
from extractor.resources import trials_dir
from extractor.screening.engine import Scope
from extractor.screening.errors import TrialError, TrialErrors
from extractor.screening.language import Criterion, Trial, load_trial_file
from extractor.screening.negative import rests_on
from extractor.screening.outcome import Outcome, Status, merge_evidence
from extractor.screening.patient import PatientRecord
from extractor.screening.predicates import Context
from extractor.screening.verdict import CriterionResult, Overall, PatientVerdict

__all__ = [
    "Criterion",
    "CriterionResult",
    "Overall",
    "PatientVerdict",
    "Status",
    "Trial",
    "TrialError",
    "bundled_trials",
    "evaluate_criterion",
    "load_trial",
    "screen",
    "screen_patient",
]

PERSON_ONLY_REASON = "only a person can decide this; not judged from the chart"


def bundled_trials() -> list[str]:
    """Ids of the trials shipped with the package (``corpora/trials/*.yaml``)."""
    return sorted(path.stem for path in trials_dir().glob("*.yaml"))


def load_trial(id_or_path: str | Path) -> Trial:
    """A bundled trial by id, or a trial file by path; validated and compiled."""
    path = Path(id_or_path)
    try:
        is_file = path.suffix.lower() in (".yaml", ".yml") or path.exists()
    except (OSError, ValueError) as exc:  # a NUL byte in the name, a name too long
        raise TrialError(TrialErrors.T005.format(path=repr(str(id_or_path))[:80], problem=type(exc).__name__)) from None
    if is_file:
        return load_trial_file(path)
    bundled = trials_dir() / f"{id_or_path}.yaml"
    if not bundled.is_file():
        available = ", ".join(bundled_trials()) or "none"
        raise TrialError(TrialErrors.T004.format(name=str(id_or_path), available=available))
    return load_trial_file(bundled)


def evaluate_criterion(criterion: Criterion, context: Context) -> CriterionResult:
    """One criterion for one patient; silence everywhere gives the criterion's ``absent``.

    A favourable status (an exclusion not met, an inclusion that asks for an absence met)
    also cites the chart's statements of absence its ``negative_evidence`` names ("NKDA",
    "no fevers", "Lungs clear"): silence cites nothing only when the chart says nothing.
    """
    if criterion.person_only or criterion.rule is None:
        reason = f"{PERSON_ONLY_REASON} ({criterion.reason})" if criterion.reason else PERSON_ONLY_REASON
        return CriterionResult(criterion.id, criterion.type, Status.UNKNOWN, reason, person_only=True)
    silence = Status.UNKNOWN if criterion.absent is Status.UNKNOWN else Status.NOT_MET
    scope = Scope(context, silence)
    outcome = criterion.rule.evaluate(scope)
    status = criterion.absent if outcome.silent else outcome.status
    # absence favours the patient: an exclusion not met, an inclusion that asks for it met
    favourable = Status.NOT_MET if criterion.type == "exclusion" else Status.MET
    basis = rests_on(criterion.negative_evidence, scope, outcome.evidence) if status is favourable else None
    if basis is not None:
        return _resting_on(criterion, status, outcome, basis)
    if outcome.silent:
        return CriterionResult(
            criterion.id, criterion.type, criterion.absent,
            f"nothing relevant in the chart: {outcome.reason}",
        )
    return CriterionResult(
        criterion.id, criterion.type, outcome.status, outcome.reason, outcome.evidence
    )


def _resting_on(criterion: Criterion, status: Status, outcome: Outcome, basis: Outcome) -> CriterionResult:
    """A favourable status with the statements of absence it rests on, cited after the rule's own."""
    found = f"nothing meets it in the chart ({outcome.reason})" if outcome.silent else outcome.reason
    return CriterionResult(
        criterion.id, criterion.type, status,
        f"{found}; rests on: {basis.reason}",
        merge_evidence(outcome.evidence, basis.evidence),
    )


def screen_patient(
    notes: Sequence[Note],
    facts: Iterable[Fact],
    trial: Trial,
    screening_date: dt.date | None = None,
    today: dt.date | None = None,
) -> PatientVerdict:
    """Every criterion of ``trial`` for one patient, from all of the patient's notes.

    ``screening_date`` defaults to the date of the patient's latest note not after
    ``today`` (default: the real today); notes written after it are not read, and the
    verdict names them.
    """
    patient = PatientRecord(list(notes), facts, screening_date, today)
    context = Context(patient)
    results = tuple(evaluate_criterion(c, context) for c in trial.criteria)
    return PatientVerdict(
        patient.patient_id, trial.name, patient.screening_date, results, patient.notes_after_screening_date
    )


def screen(
    notes: Iterable[Note],
    trial: Trial,
    screening_date: dt.date | None = None,
    nlp: object | None = None,
) -> Iterator[PatientVerdict]:
    """Extract facts from every note, then judge each patient (in order of first note)."""
    from extractor import extract_notes  # deferred: loads the spaCy pipeline

    by_patient: dict[str, tuple[list[Note], list[Fact]]] = {}
    for note, facts in extract_notes(notes, nlp=nlp):
        own_notes, own_facts = by_patient.setdefault(note.patient_id, ([], []))
        own_notes.append(note)
        own_facts.extend(facts)
    for own_notes, own_facts in by_patient.values():
        yield screen_patient(own_notes, own_facts, trial, screening_date)
