"""``scripts/bench_batch.py`` splits a sharded run's time into what keeps N workers from N
times one's speed: set-up, worker start, pipeline load, busy time, and the idle tails."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location("bench_batch_script", ROOT / "scripts" / "bench_batch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write(run: Path, name: str, value: dict[str, object]) -> None:
    (run / name).parent.mkdir(parents=True, exist_ok=True)
    (run / name).write_text(json.dumps(value), encoding="utf-8")


def test_a_runs_time_is_split_into_set_up_load_busy_and_tails(tmp_path: Path) -> None:
    run = tmp_path / "run"
    # a run of 20 s from t=100: set-up 1 s, extraction until t=112, 0.5 s between phases
    _write(run, "run.json", {"started_epoch": 100.0, "seconds": 20.0, "extract_seconds": 12.0,
                             "setup_seconds": 1.0, "between_seconds": 0.5})
    tasks = [  # worker A: starts at 102, loads 1 s, two shards, done at 111; B: starts at 103, done at 112
        ("extract-000000", {"shard": 0, "worker": "A", "began": 102.0, "seconds": 5.0, "load_seconds": 1.0}),
        ("extract-000001", {"shard": 1, "worker": "A", "began": 107.0, "seconds": 4.0, "load_seconds": 0.0}),
        ("extract-000002", {"shard": 2, "worker": "B", "began": 103.0, "seconds": 9.0, "load_seconds": 1.0}),
        ("screen-0000", {"partition": 0, "worker": "C", "began": 113.0, "seconds": 7.0, "load_seconds": 0.0}),
        ("screen-0001", {"partition": 1, "worker": "D", "began": 113.0, "seconds": 5.0, "load_seconds": 0.0}),
        ("duplicates", {"files": {}, "count": 0}),
    ]
    for name, record in tasks:
        _write(run, f"_commits/{name}.json", record)
    found = _bench().components(run, workers=2)
    assert found == pytest.approx({
        "setup": 1.0, "between": 0.5,
        "worker_start": 2.5, "load": 1.0,  # means over the extraction workers
        "extract_busy": (4 + 4 + 8) / 2, "extract_tail": (1 + 0) / 2,
        "screen_busy": (7 + 5) / 2, "screen_tail": (0 + 2) / 2,
    })


def test_repeated_rounds_report_their_spread() -> None:
    def row(seconds: float, workers: int) -> dict[str, float]:
        return {"processed": 1000, "seconds": seconds, "main_cpu_seconds": 2.0 + workers / 10,
                "main_cpu_start_seconds": 1.5, "main_peak_rss_mb": 250.0 + seconds,
                "worker_peak_rss_mb": 300.0 + seconds}

    rounds = [{1: row(10.0, 1), 2: row(5.5, 2)}, {1: row(12.5, 1), 2: row(6.0, 2)}, {1: row(11.0, 1), 2: row(6.25, 2)}]
    line = _bench().spread_line(rounds, notes=1000)
    assert line == (
        "over 3 rounds, median (lowest-highest): 1 worker(s) 90.9 (80.0-100.0) notes/s per worker, main CPU "
        "0.600 (0.600-0.600) ms a note, peak RSS main 262 MB / worker 312 MB; 2 worker(s) 83.3 (80.0-90.9) notes/s "
        "per worker, main CPU 0.700 (0.700-0.700) ms a note, peak RSS main 256 MB / worker 306 MB"
    )
