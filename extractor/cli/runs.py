"""What every command that reads notes shares: the summary, the failure policy, the exit codes.

Exit codes (README, "Reliability"):
    0    every note read was processed (warnings, such as a missing date, do not count)
    1    some notes were rejected (unreadable line, missing field, duplicate id) or failed
         in the pipeline, more than ``--max-failures`` allows (0 unless ``--allow-failures``)
    2    the command could not run: a bad option, a trial file or store that cannot be used
    130  interrupted (Ctrl-C)
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from extractor.notes import ReadReport

EXIT_OK = 0
EXIT_NOTES_FAILED = 1
EXIT_UNUSABLE = 2
EXIT_INTERRUPTED = 130

# never wrapped at the console's width (80 columns when stderr is not a terminal): one message, one line
err = Console(stderr=True, soft_wrap=True)


def say(text: str) -> None:
    """One line on stderr, as written: no markup, no highlighting, never wrapped (a log
    reader or ``grep`` must see each message on one line, terminal or not)."""
    err.print(text, markup=False, highlight=False, soft_wrap=True)


AllowFailuresOption = Annotated[
    bool, typer.Option("--allow-failures", help="exit 0 even when notes were rejected or failed")
]
MaxFailuresOption = Annotated[
    int, typer.Option("--max-failures", min=0, help="exit 0 when at most this many notes were rejected or failed")
]


def print_summary(report: ReadReport, processed: int, extra: str = "") -> None:
    """The run summary on stderr: counts, and each rejected or failed line's reason (never note text)."""
    say(
        f"notes read: {report.read}  processed: {processed}  rejected: {len(report.rejected)}"
        f"  failed: {len(report.failed)}" + (f"  {extra}" if extra else "")
    )
    for _line, message in report.rejected:
        say(f"  rejected {message}")
    for _line, message in report.failed:
        say(f"  failed {message}")
    for _line, message in report.warnings:
        say(f"  warning {message}")


def exit_code(report: ReadReport, allow_failures: bool, max_failures: int) -> int:
    """1 when more notes were rejected or failed than the run allows, else 0."""
    faults = len(report.rejected) + len(report.failed)
    return EXIT_OK if allow_failures or faults <= max_failures else EXIT_NOTES_FAILED


def finish(report: ReadReport, allow_failures: bool, max_failures: int) -> None:
    """End the command with its exit code, saying why when it is not 0."""
    code = exit_code(report, allow_failures, max_failures)
    if code:
        faults = len(report.rejected) + len(report.failed)
        say(f"exit {code}: {faults} note(s) rejected or failed (allowed: {max_failures}); see --allow-failures")
        raise typer.Exit(code)
