"""How a batch run shows its progress: a rich bar on a terminal, periodic log lines otherwise.

Only counts, rates and ids of runs appear: never note text, never a patient's data.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@dataclass
class Counts:
    """Live counts of the run: notes read and what became of them, patients screened."""

    read: int = 0
    processed: int = 0
    skipped: int = 0
    failed: int = 0
    rejected: int = 0
    screened: int = 0
    screen_failed: int = 0

    @property
    def notes_done(self) -> int:
        return self.processed + self.skipped + self.failed + self.rejected

    def line(self) -> str:
        return (
            f"read {self.read}  processed {self.processed}  skipped {self.skipped}  "
            f"failed {self.failed}  rejected {self.rejected}  patients screened {self.screened}"
        )


class Reporter(Protocol):
    """Told when a phase starts (with its expected total, if known) and, often, the counts."""

    def phase(self, name: str, total: int | None) -> None: ...

    def update(self, counts: Counts, done: int, total: int | None) -> None: ...

    def close(self) -> None: ...


class Silent:
    """No progress output (the library default)."""

    def phase(self, name: str, total: int | None) -> None:
        pass

    def update(self, counts: Counts, done: int, total: int | None) -> None:
        pass

    def close(self) -> None:
        pass


class Bar:
    """A rich progress bar on the terminal: items done, items/s and ETA for each phase."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.fields[total_text]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[counts]}"),
            console=console,
            transient=False,
            auto_refresh=False,  # drawn on each update: no drawing thread (screening workers are forked)
        )
        self._progress.start()
        self._task: TaskID | None = None
        self._started = time.monotonic()
        self._first = 0

    def phase(self, name: str, total: int | None) -> None:
        self._task = self._progress.add_task(name, total=total, total_text="?", rate="", counts="")
        self._started = time.monotonic()
        self._first = -1

    def update(self, counts: Counts, done: int, total: int | None) -> None:
        if self._task is None:
            return
        if self._first < 0:
            self._first = done
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = (done - self._first) / elapsed
        self._progress.update(
            self._task,
            completed=done,
            total=total,
            total_text=f"{total:,}" if total is not None else "?",
            rate=f"{rate:,.1f}/s",
            counts=f"skipped {counts.skipped}  failed {counts.failed}  rejected {counts.rejected}",
        )
        self._progress.refresh()

    def close(self) -> None:
        self._progress.stop()


class LogLines:
    """A plain line every ``every`` seconds (and at each phase's end), for logs and pipes."""

    def __init__(self, every: float = 30.0, stream: TextIO | None = None) -> None:
        self.every = every
        self._stream = stream or sys.stderr
        self._phase = ""
        self._started = self._last = time.monotonic()
        self._first = 0
        self._line: str | None = None
        self._printed: str | None = None

    def phase(self, name: str, total: int | None) -> None:
        self._flush()
        self._phase = name
        self._started = self._last = time.monotonic()
        self._first = -1

    def update(self, counts: Counts, done: int, total: int | None) -> None:
        if self._first < 0:
            self._first = done
        now = time.monotonic()
        rate = (done - self._first) / max(now - self._started, 1e-9)
        eta = ""
        if total is not None and rate > 0 and total >= done:
            eta = f"  eta {dt.timedelta(seconds=round((total - done) / rate))}"
        of = f"/{total}" if total is not None else ""
        self._line = f"{self._phase}: {done}{of} at {rate:.1f}/s{eta}  {counts.line()}"
        if now - self._last >= self.every:
            self._flush()
            self._last = now

    def _flush(self) -> None:
        if self._line is not None and self._line != self._printed:
            stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
            print(f"{stamp} {self._line}", file=self._stream, flush=True)
            self._printed = self._line
        self._line = None

    def close(self) -> None:
        self._flush()


def reporter_for(console: Console, every: float) -> Reporter:
    """A bar on a terminal, log lines when stderr is a file or a pipe."""
    return Bar(console) if console.is_terminal else LogLines(every)
