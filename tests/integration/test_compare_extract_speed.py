"""``scripts/compare_extract_speed.py`` times two checkouts in turn and compares the medians."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_against_itself(tmp_path: Path) -> None:
    for index in range(6):  # five warm the pipeline, every one is timed
        (tmp_path / f"{index}.txt").write_text(f"HISTORY: {50 + index} yo F with SLE on prednisone 10 mg daily.\n")
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts/compare_extract_speed.py"), "--other", str(ROOT),
         "--corpus", str(tmp_path), "--rounds", "1"],
        capture_output=True, text=True, check=True, timeout=600,
    )
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"this  {ROOT}: notes/s ") and lines[1].startswith(f"other {ROOT}: notes/s ")
    assert lines[2] == "notes per run: 6; rounds: 1, alternating, this checkout first"
    assert lines[3].startswith("median notes/s: this ") and "(ratio " in lines[3]
    assert float(lines[4].rsplit("(ratio ", 1)[1].rstrip(")")) > 0


def test_a_checkout_without_a_venv_is_refused(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts/compare_extract_speed.py"), "--other", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert run.returncode == 2 and "has no .venv/bin/python" in run.stderr
