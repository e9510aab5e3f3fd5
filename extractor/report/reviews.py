"""Reviewer decisions: one row per decision in the store's ``reviews`` table, never updated.

A reviewer marks a criterion verdict or a fact correct or wrong (with the right status
and/or a comment). Rows are only appended, so the table is the full history; the
decision that counts for a target is the latest one. ``extractor export-reviews``
writes the rows as JSON Lines, which ``extractor evaluate screen --reviews`` reads as gold.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from extractor.evaluation.errors import GoldError, describe_validation
from extractor.store import Store, now

REVIEWS_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS review_ids START 1;
CREATE TABLE IF NOT EXISTS reviews (
    review_id BIGINT PRIMARY KEY,
    reviewer VARCHAR NOT NULL,
    reviewed_at TIMESTAMP NOT NULL,
    patient_id VARCHAR NOT NULL,
    trial VARCHAR NOT NULL,
    target VARCHAR NOT NULL,
    target_id VARCHAR NOT NULL,
    predicted VARCHAR,
    decision VARCHAR NOT NULL,
    corrected VARCHAR,
    comment VARCHAR
);
"""

COLUMNS = (
    "review_id",
    "reviewer",
    "reviewed_at",
    "patient_id",
    "trial",
    "target",
    "target_id",
    "predicted",
    "decision",
    "corrected",
    "comment",
)


class Target(str, Enum):
    CRITERION = "criterion"
    FACT = "fact"
    OVERALL = "overall"  # the sign-off of a patient's overall verdict (target_id "overall")


class Decision(str, Enum):
    CORRECT = "correct"
    WRONG = "wrong"


CRITERION_STATUSES = ("met", "not_met", "unknown")
FACT_ASSERTIONS = ("present", "absent", "possible", "hypothetical")
OVERALL_VERDICTS = ("ineligible", "candidate", "needs_review")
ALLOWED = {Target.CRITERION: CRITERION_STATUSES, Target.FACT: FACT_ASSERTIONS, Target.OVERALL: OVERALL_VERDICTS}


class ReviewIn(BaseModel):
    """A decision as a reviewer submits it; ``target_id`` is a criterion id, for a fact
    ``note_id:start:end:concept``, for the overall sign-off ``overall``. ``corrected`` is the
    right status (criterion), assertion (fact) or overall verdict, and only for a wrong decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reviewer: str = Field(min_length=1, max_length=100)
    patient_id: str = Field(min_length=1)
    trial: str = Field(min_length=1)
    target: Target
    target_id: str = Field(min_length=1)
    predicted: str | None = None
    decision: Decision
    corrected: str | None = None
    comment: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _consistent(self) -> ReviewIn:
        allowed = ALLOWED[self.target]
        if self.corrected is not None and self.corrected not in allowed:
            raise ValueError(f"corrected must be one of {', '.join(allowed)}")
        if self.decision is Decision.CORRECT and self.corrected is not None:
            raise ValueError("a correct decision has no corrected value")
        if self.decision is Decision.WRONG and self.corrected is None and not self.comment:
            raise ValueError("a wrong decision needs the right value or a comment")
        return self


class ReviewRecord(ReviewIn):
    """A stored decision, as exported (one JSON line each); ``reviewed_at`` always carries its
    time zone (UTC: the store's TIMESTAMP column holds UTC without one)."""

    review_id: int
    reviewed_at: dt.datetime

    @field_validator("reviewed_at")
    @classmethod
    def _in_utc(cls, value: dt.datetime) -> dt.datetime:
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    @property
    def gold_status(self) -> str | None:
        """The status a reviewer stands behind: the predicted one if correct, else the correction."""
        if self.decision is Decision.CORRECT:
            return self.predicted
        return self.corrected


def ensure_table(store: Store) -> None:
    """Create the ``reviews`` table when the store has none (older stores)."""
    store.con.execute(REVIEWS_SCHEMA)


def save(store: Store, review: ReviewIn) -> ReviewRecord:
    """Append one decision, committed at once."""
    review_id = store.con.execute("SELECT nextval('review_ids')").fetchone()[0]
    record = ReviewRecord(review_id=review_id, reviewed_at=now(), **review.model_dump())
    values = record.model_dump(mode="python")
    values["reviewed_at"] = values["reviewed_at"].replace(tzinfo=None)  # the column holds UTC
    store.con.execute(
        f"INSERT INTO reviews ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [values[name].value if isinstance(values[name], Enum) else values[name] for name in COLUMNS],
    )
    return record


def _has_table(store: Store) -> bool:
    query = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'reviews'"
    return bool(store.con.execute(query).fetchone()[0])


def _records(store: Store, where: str = "", params: list[Any] | None = None) -> Iterator[ReviewRecord]:
    if not _has_table(store):
        return
    rows = store.con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM reviews {where} ORDER BY review_id", params or []
    ).fetchall()
    for row in rows:
        yield ReviewRecord(**dict(zip(COLUMNS, row, strict=True)))


def latest(store: Store, patient_id: str, trial: str) -> dict[tuple[str, str], ReviewRecord]:
    """The decision that counts for each (target, target_id) of one patient and trial."""
    found: dict[tuple[str, str], ReviewRecord] = {}
    for record in _records(store, "WHERE patient_id = ? AND trial = ?", [patient_id, trial]):
        found[record.target.value, record.target_id] = record
    return found


def export(store: Store, output: Path) -> int:
    """Every decision, oldest first, as JSON Lines; returns how many."""
    count = 0
    with output.open("w", encoding="utf-8") as handle:
        for record in _records(store):
            handle.write(json.dumps(record.model_dump(mode="json"), ensure_ascii=False) + "\n")
            count += 1
    return count


class ReviewErrors:
    """Numbered messages for reading a reviews file; they name the line, never its values."""

    R001 = "[R001] {where}: not a reviewer decision as `extractor export-reviews` writes it ({problem})."
    R002 = "[R002] {path}: no reviewer decisions{trial} found."


def read_decisions(path: Path) -> list[tuple[str, ReviewRecord]]:
    """Every decision of an exported reviews file, with where it was read; a fault stops the reading."""
    found = []
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            where = f"{path}, line {line_no}"
            try:
                found.append((where, ReviewRecord.model_validate_json(raw)))
            except ValidationError as exc:
                problem = describe_validation(exc.errors(include_input=False, include_url=False))
                raise GoldError(ReviewErrors.R001.format(where=where, problem=problem)) from None
    return found


def gold_statuses(
    decisions: Iterable[tuple[str, ReviewRecord]], trial: str | None = None
) -> dict[tuple[str, str], dict[str, tuple[str, str]]]:
    """(trial, patient) -> criterion id -> (where, status a reviewer stands behind).

    The latest decision per criterion counts (whoever made it); a wrong verdict with a
    comment but no right status gives no gold for that criterion.
    """
    latest_first: dict[tuple[str, str, str], tuple[str, ReviewRecord]] = {}
    for where, record in decisions:
        if record.target is not Target.CRITERION or (trial is not None and record.trial != trial):
            continue
        key = (record.trial, record.patient_id, record.target_id)
        kept = latest_first.get(key)
        if kept is None or (record.reviewed_at, record.review_id) >= (kept[1].reviewed_at, kept[1].review_id):
            latest_first[key] = (where, record)
    gold: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
    for (trial_id, patient_id, criterion_id), (where, record) in sorted(latest_first.items()):
        if record.gold_status is not None:
            gold.setdefault((trial_id, patient_id), {})[criterion_id] = (where, record.gold_status)
    return gold
