"""``extractor trial draft|check``: compile published eligibility text into a trial file, and
lint a trial file (with a dry run over some notes)."""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Annotated

import typer

from extractor.cli.extract import err
from extractor.screening import TrialError, load_trial
from extractor.screening.language import Trial
from extractor.screening.outcome import Status

app = typer.Typer(help="Draft a trial file from eligibility text; check a trial file.", no_args_is_help=True)


def _default_id(source: Path | None) -> str:
    stem = source.stem if source is not None else "drafted-trial"
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return slug or "drafted-trial"


@app.command("draft")
def draft(
    eligibility: Annotated[str, typer.Argument(help="eligibility text file, or - for stdin")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="trial YAML (default stdout)")] = None,
    trial_id: Annotated[str | None, typer.Option("--id", help="trial id (default: from the file name)")] = None,
    title: Annotated[str | None, typer.Option("--title", help="trial title")] = None,
    similar: Annotated[
        bool,
        typer.Option("--similar/--no-similar",
                     help="also map unseen phrasings with the MiniLM encoder (embeds every concept name on the "
                          "first run, then reads them from $EXTRACTOR_CACHE_DIR, default ~/.cache/extractor)"),
    ] = False,
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, max=1.0, help="least cosine similarity for a mapping")
    ] = 0.85,
    inclusion_silence: Annotated[
        Status | None, typer.Option("--inclusion-silence", help="absent of inclusions (default: unknown)")
    ] = None,
    exclusion_silence: Annotated[
        Status | None,
        typer.Option("--exclusion-silence", help="absent of exclusions about conditions or drugs (default: not_met)"),
    ] = None,
    test_silence: Annotated[
        Status | None, typer.Option("--test-silence", help="absent of exclusions about tests (default: unknown)")
    ] = None,
) -> None:
    """Draft a trial file: one criterion per bullet, phrases mapped to concepts, the rest
    kept as person_only or unexpressed with the words not understood."""
    from extractor.compiler import draft_trial

    source = None if eligibility == "-" else Path(eligibility)
    if source is not None and not source.is_file():
        err.print(f"[C001] {source}: no such file. Give an eligibility text file or - for stdin.", markup=False)
        raise typer.Exit(2)
    text = sys.stdin.read() if source is None else source.read_text(encoding="utf-8", errors="replace")
    name = trial_id or _default_id(source)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        err.print(f"[C002] --id {name!r}: use lower-case letters, digits and hyphens.", markup=False)
        raise typer.Exit(2)
    from extractor.compiler.rules import eligibility_rules

    policy = eligibility_rules().silence
    changed = {
        key: value for key, value in (
            ("inclusion", inclusion_silence), ("exclusion_charted", exclusion_silence), ("tests", test_silence)
        ) if value is not None
    }
    if changed:
        note = "Chosen on the command line: " + ", ".join(f"{k} {v.value}" for k, v in changed.items()) + "."
        policy = policy.model_copy(update={**changed, "note": f"{policy.note} {note}"})
    drafted = draft_trial(
        text, name=name, title=title or name, source=f"Drafted from {source.name if source else 'stdin'}",
        similar=similar, threshold=threshold, silence=policy,
    )
    if not drafted.criteria:
        err.print("[C003] no criteria found: expected 'Inclusion Criteria:' / 'Exclusion Criteria:' "
                  "followed by bullets.", markup=False)
        raise typer.Exit(1)
    yaml_text = drafted.to_yaml()
    if output is None:
        typer.echo(yaml_text, nl=False)
    else:
        output.write_text(yaml_text, encoding="utf-8")
    person = sum(c.rule is None for c in drafted.criteria)
    partial = sum(c.rule is not None and "unexpressed" in str(c.rule) for c in drafted.criteria)
    err.print(
        f"criteria: {len(drafted.criteria)}  person_only: {person}  with unexpressed parts: {partial}",
        markup=False,
    )


@app.command("check")
def check(
    trial: Annotated[str, typer.Argument(help="trial YAML path or bundled trial id")],
    dry_run: Annotated[
        Path | None,
        typer.Option("--dry-run", exists=True, dir_okay=False, help="notes to show each predicate's finding on"),
    ] = None,
) -> None:
    """Lint a trial (unknown ids, criteria that can never be met, what silence gives each);
    with --dry-run, show per patient and criterion what each predicate found."""
    from extractor.compiler.check import lint, silence_status

    try:
        loaded = load_trial(trial)
    except TrialError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    problems = lint(loaded)
    typer.echo(f"{loaded.name}: {len(loaded.criteria)} criteria")
    for criterion in loaded.criteria:
        kind = "person_only" if criterion.rule is None else "rule"
        typer.echo(f"  {criterion.id}\t{criterion.type}\t{kind}\tabsent={criterion.absent.value}"
                   f"\tsilence gives {silence_status(criterion).value}")
    for problem in problems:
        typer.echo(str(problem))
    if dry_run is not None:
        _dry_run(loaded, dry_run)
    errors = sum(p.level == "error" for p in problems)
    typer.echo(f"{errors} errors, {len(problems) - errors} warnings")
    if errors:
        raise typer.Exit(1)


def _dry_run(loaded: Trial, notes_path: Path) -> None:
    """Each patient of the notes, each criterion's status, each predicate's own finding."""
    from extractor import extract_notes, load
    from extractor.compiler.check import dry_run
    from extractor.facts import Fact
    from extractor.notes import Note, ReadReport, read_notes
    from extractor.screening.patient import PatientRecord
    from extractor.screening.predicates import Context

    by_patient: dict[str, tuple[list[Note], list[Fact]]] = defaultdict(lambda: ([], []))
    for note, facts in extract_notes(read_notes(notes_path, ReadReport()), nlp=load()):
        own_notes, own_facts = by_patient[note.patient_id]
        own_notes.append(note)
        own_facts.extend(facts)
    for patient_id, (own_notes, own_facts) in by_patient.items():
        context = Context(PatientRecord(own_notes, own_facts))
        typer.echo(f"\npatient {patient_id} (screening date {context.screening_date})")
        for criterion in loaded.criteria:
            status, reason, leaves = dry_run(criterion, context)
            typer.echo(f"  {criterion.id}: {status.value} - {reason}")
            for leaf in leaves:
                cited = "; ".join(repr(e.text) for e in leaf.outcome.evidence)
                found = "silent" if leaf.outcome.silent else leaf.outcome.status.value
                typer.echo(f"    line {leaf.line} {leaf.what}: {found} - {leaf.outcome.reason}"
                           + (f" [{cited}]" if cited else ""))
