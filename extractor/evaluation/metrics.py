"""Counting primitives shared by every evaluation: P/R/F1 and accuracy, None when undefined.

An undefined score (no predictions, no gold) is ``None`` rather than 0 or 1, so a
report never shows a perfect precision for a system that predicted nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or None when nothing was counted."""
    return numerator / denominator if denominator else None


@dataclass
class Counts:
    """True positives, false positives and false negatives of one class or kind."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        """Accumulate ``other`` into this (micro-averaging)."""
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float | None:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def scores(self) -> dict[str, float | None]:
        """precision, recall, f1 under those names."""
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass
class Tally:
    """Correct out of scored, for accuracy."""

    correct: int = 0
    total: int = 0

    def add(self, is_correct: bool) -> None:
        self.total += 1
        self.correct += int(is_correct)

    @property
    def accuracy(self) -> float | None:
        return ratio(self.correct, self.total)
