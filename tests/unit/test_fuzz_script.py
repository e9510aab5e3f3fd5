"""``scripts/fuzz.py`` runs the fuzz properties in rounds until its time is up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_one_short_round_passes() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/fuzz.py"), "--minutes", "0.001", "--examples", "3"],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 round(s) passed in 0.001 min" in result.stdout


def test_minutes_are_required() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/fuzz.py")], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 2 and "--minutes" in result.stderr
