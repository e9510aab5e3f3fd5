"""``scripts/bench_stages.py`` times every stage of the loaded pipeline and counts what they produce."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import extractor

ROOT = Path(__file__).resolve().parents[2]


def test_every_stage_is_timed(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("HISTORY: 54 yo F with SLE on prednisone 10 mg daily since 2019.\n")
    (tmp_path / "b.txt").write_text("LABS: Creatinine 1.2 mg/dL. No history of seizures.\n")
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts/bench_stages.py"), "--corpus", str(tmp_path)],
        capture_output=True, text=True, check=True, timeout=300,
    )
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"notes: 2 from {tmp_path}")
    assert int(lines[0].rsplit("facts ", 1)[1].replace(",", "")) >= 4
    timed = {line.split()[0] for line in lines[1:-1]}
    assert timed == {"tokenizer", *extractor.load().pipe_names}
    assert lines[-1].startswith("total")
