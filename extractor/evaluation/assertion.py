"""Scoring the context rules on a NegEx/ConText-style test set (tab-separated rows).

Layout: /work/shared/formats/assertion-tsv.md. Each row gives a mention, its sentence
and the expected negation, temporality and experiencer. The mention is found in the
sentence (ignoring case and runs of whitespace) and classified by ``assert_mention``;
a mention that cannot be found is counted, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.evaluation.errors import EvalErrors, GoldError
from extractor.evaluation.gold import read_text_exact
from extractor.evaluation.metrics import Counts, Tally
from extractor.evaluation.report import Column, Report, Table, limited, ratio_columns

# Test-set label (lower case) -> our value, per column.
LABELS: dict[str, dict[str, str]] = {
    "negation": {"negated": "absent", "affirmed": "present", "possible": "possible"},
    "temporality": {
        "recent": "current",
        "not particular": "current",
        "historical": "historical",
        "hypothetical": "hypothetical",
    },
    "experiencer": {"patient": "patient", "family member": "family", "other": "other"},
}

# (attribute, name of the non-default class, our values in that class)
POSITIVE_CLASSES: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("negation", "negated", frozenset({"absent"})),
    ("temporality", "historical", frozenset({"historical"})),
    ("temporality", "hypothetical", frozenset({"hypothetical"})),
    ("experiencer", "non_patient", frozenset({"family", "other"})),
)

Predictor = Callable[[str, int, int], Mapping[str, Any]]


@dataclass(frozen=True)
class AssertionCase:
    """One test row; labels already mapped to our values."""

    line: int
    mention: str
    sentence: str
    expected: Mapping[str, str]


def read_tsv(path: Path) -> list[AssertionCase]:
    """The rows after the header; a malformed row or unknown label names its line."""
    lines = read_text_exact(path).split("\n")
    if not any(line.strip() for line in lines):
        raise GoldError(EvalErrors.E321.format(path=path))
    cases = []
    header_seen = False
    for line_no, raw in enumerate(lines, start=1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        if not header_seen:
            header_seen = True
            continue
        fields = line.split("\t")
        while len(fields) > 6 and not fields[-1].strip():
            fields.pop()
        if len(fields) != 6:
            raise GoldError(EvalErrors.E318.format(path=path, line=line_no, found=len(fields)))
        expected = {}
        for column, value in zip(LABELS, fields[3:], strict=True):
            label = value.strip().lower()
            if label not in LABELS[column]:
                raise GoldError(
                    EvalErrors.E319.format(
                        path=path,
                        line=line_no,
                        column=column,
                        value=value.strip(),
                        expected=", ".join(LABELS[column]),
                    )
                )
            expected[column] = LABELS[column][label]
        cases.append(AssertionCase(line_no, fields[1].strip(), fields[2], expected))
    return cases


def find_mention(mention: str, sentence: str) -> tuple[int, int] | None:
    """Exact offsets of ``mention`` in ``sentence``, ignoring case and runs of whitespace.

    A whole-word occurrence is preferred to one inside a longer word; the first wins.
    """
    words = mention.split()
    if not words:
        return None
    body = r"\s+".join(re.escape(word) for word in words)
    for pattern in (rf"(?<!\w){body}(?!\w)", body):
        found = re.search(pattern, sentence, flags=re.IGNORECASE)
        if found:
            return found.span()
    return None


def predicted_labels(result: Mapping[str, Any]) -> dict[str, str]:
    """``assert_mention`` output in the test set's three columns.

    Our model puts "hypothetical" in the assertion; the test set puts it in
    temporality, and there a hypothetical mention is not negated.
    """
    assertion = str(result["assertion"])
    temporality = "hypothetical" if assertion == "hypothetical" else str(result["temporality"])
    return {
        "negation": assertion if assertion in ("absent", "possible") else "present",
        "temporality": temporality,
        "experiencer": str(result["experiencer"]),
    }


@dataclass
class AssertionResult:
    """Accuracy per column, P/R/F1 per non-default class, mentions not found, errors."""

    mentions: int = 0
    accuracy: dict[str, Tally] = field(default_factory=lambda: {c: Tally() for c in LABELS})
    classes: dict[tuple[str, str], Counts] = field(
        default_factory=lambda: {(a, name): Counts() for a, name, _ in POSITIVE_CLASSES}
    )
    not_found: list[AssertionCase] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def metrics(self) -> dict[str, float | int | None]:
        """Flat named metrics (``negation.accuracy``, ``temporality.historical.f1``...)."""
        metrics: dict[str, float | int | None] = {
            "mentions": self.mentions,
            "mentions_not_found": len(self.not_found),
        }
        for column, tally in self.accuracy.items():
            metrics[f"{column}.accuracy"] = tally.accuracy
        for (column, name), counts in self.classes.items():
            for score, value in counts.scores().items():
                metrics[f"{column}.{name}.{score}"] = value
        return metrics

    def to_report(self, max_errors: int = 50) -> Report:
        """One row per non-default class, then the disagreements to read."""
        rows = tuple(
            {
                "attribute": column,
                "positive": name,
                "tp": counts.tp,
                "fp": counts.fp,
                "fn": counts.fn,
                **counts.scores(),
                "accuracy": self.accuracy[column].accuracy,
            }
            for (column, name), counts in self.classes.items()
        )
        not_found_rows = [
            {
                "line": case.line,
                "mention": case.mention,
                "attribute": "(not found)",
                "gold": "",
                "predicted": "",
                "sentence": case.sentence,
            }
            for case in self.not_found
        ]
        error_rows, caption = limited([*not_found_rows, *self.errors], max_errors, "errors")
        return Report(
            title="Assertion test set",
            metrics=self.metrics(),
            lines=(
                f"{self.mentions} rows, {len(self.not_found)} mentions not found in their sentence (not scored)",
                "Accuracy is over all values of the attribute; P/R/F1 treat the named value as positive.",
            ),
            tables=(
                Table(
                    "Per attribute",
                    (
                        Column("attribute", "attribute"),
                        Column("positive", "positive"),
                        Column("tp", "tp"),
                        Column("fp", "fp"),
                        Column("fn", "fn"),
                        *ratio_columns("precision", "recall", "f1", "accuracy"),
                    ),
                    rows,
                ),
                Table(
                    "Errors",
                    tuple(Column(k, k) for k in ("line", "mention", "attribute", "gold", "predicted", "sentence")),
                    error_rows,
                    caption,
                ),
            ),
        )


def evaluate_assertion(cases: Sequence[AssertionCase], predict: Predictor) -> AssertionResult:
    """Classify each found mention with ``predict`` and compare with the row's labels.

    A mention whose span the predictor rejects (ValueError) counts as not found.
    """
    result = AssertionResult(mentions=len(cases))
    for case in cases:
        span = find_mention(case.mention, case.sentence)
        try:
            predicted = predicted_labels(predict(case.sentence, *span)) if span else None
        except ValueError:
            predicted = None
        if predicted is None:
            result.not_found.append(case)
            continue
        for column, tally in result.accuracy.items():
            gold, guess = case.expected[column], predicted[column]
            tally.add(gold == guess)
            if gold != guess:
                result.errors.append(
                    {
                        "line": case.line,
                        "mention": case.mention,
                        "attribute": column,
                        "gold": gold,
                        "predicted": guess,
                        "sentence": case.sentence,
                    }
                )
        for column, name, values in POSITIVE_CLASSES:
            gold_positive = case.expected[column] in values
            predicted_positive = predicted[column] in values
            counts = result.classes[(column, name)]
            counts.tp += gold_positive and predicted_positive
            counts.fp += predicted_positive and not gold_positive
            counts.fn += gold_positive and not predicted_positive
    return result
