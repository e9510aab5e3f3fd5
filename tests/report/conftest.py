"""Fixtures: the invented patients of ``report_material`` as files and as a batch store."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from report_material import FACTS, NOTES, VERDICTS, fill_store, write_jsonl


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {
        "notes": write_jsonl(tmp_path / "notes.jsonl", NOTES),
        "facts": write_jsonl(tmp_path / "facts.jsonl", FACTS),
        "verdicts": write_jsonl(tmp_path / "verdicts.jsonl", VERDICTS),
    }


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return fill_store(tmp_path / "results.duckdb")


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its lowest cost: the same algorithm and code paths, a millisecond a hash."""
    from extractor.report import accounts

    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
