"""Benchmark of ``extractor batch``: full extract + screen with 1 and 2 workers, against
medspaCy's default pipeline on the same notes, in one run.

Builds a JSONL archive of ``--notes`` notes from ``../shared/corpora/mtsamples`` (the
corpus repeated, each copy with its own note ids, patients and dates), runs
``extractor batch`` on it once per worker count (a fresh store each time), then times
medspaCy's default pipeline (``bench_extract.medspacy_baseline``) on ``--baseline-notes``
notes taken evenly across the archive. Prints notes/s, the speed-up, peak RSS per
worker, the main process's CPU per 1,000 notes, the store's size per 1,000 notes, and
what the figures project to for 10 million notes on 16 cores.

A shared machine's speed drifts by several per cent from one minute to the next, so
``--repeat N`` runs the worker counts N times in turn (1, 2, 1, 2, ...) and reports every
speed-up and their median (the projection uses the median round).

    .venv/bin/python scripts/bench_batch.py [--notes 20000] [--workers 1 2] [--repeat 1] [--fresh-words 0]
        [--baseline-notes 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_extract import DEFAULT_CORPUS, medspacy_baseline, read_corpus, time_pipe

EXTRACTOR = Path(sys.executable).parent / "extractor"
PROJECTED_NOTES = 10_000_000
PROJECTED_CORES = 16


def build_archive(texts: list[str], notes: int, path: Path, fresh_words: int = 0) -> None:
    """``notes`` notes cycling through ``texts``; about 8 notes per patient, spread over the
    archive, dated over ten years. ``fresh_words`` never-seen word forms end each note (a
    repeated corpus teaches a worker's vocabulary nothing new after one pass; real archives
    keep bringing names, numbers and misspellings)."""
    patients = max(notes // 8, 1)
    rng = random.Random(20261202)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(notes):
            text = texts[i % len(texts)]
            if fresh_words:
                text += "\n" + " ".join(f"Zx{rng.randrange(10**12):012d}q" for _ in range(fresh_words)) + "\n"
            patient = (i * 7919) % patients
            record = {
                "patient_id": f"BP{patient:07d}",
                "note_id": f"BN{i:08d}",
                "date": (dt.date(2015, 1, 1) + dt.timedelta(days=(i * 613) % 3650)).isoformat(),
                "sex": "F" if patient % 2 else "M",
                "birth_date": (dt.date(1940, 1, 1) + dt.timedelta(days=(patient * 97) % 25000)).isoformat(),
                "text": text,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def spread_sample(archive: Path, notes: int, size: int) -> list[str]:
    """``size`` note texts taken evenly across the archive (the corpus's mix of lengths)."""
    step = max(notes // max(size, 1), 1)
    with archive.open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in islice(handle, 0, None, step)][:size]


def run_batch(archive: Path, store: Path, workers: int, trial: str) -> dict[str, Any]:
    """One ``extractor batch`` run in a subprocess; its row of the store's ``runs`` table."""
    command = [
        str(EXTRACTOR), "batch", str(archive), "--trial", trial, "--store", str(store),
        "--workers", str(workers), "--log-every", "60",
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started
    with duckdb.connect(str(store), read_only=True) as con:
        cursor = con.execute("SELECT * FROM runs ORDER BY run_id DESC LIMIT 1")
        row = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    row["wall_seconds"] = wall
    row["store_bytes"] = sum(p.stat().st_size for p in store.parent.glob(store.name + "*"))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--notes", type=int, default=20_000, help="archive size")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--fresh-words", type=int, default=0, help="never-seen word forms added to each note (worker memory stress)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the worker counts, run in turn")
    parser.add_argument("--baseline-notes", type=int, default=300, help="notes timed through medspaCy")
    parser.add_argument("--trial", default="blinatumomab-sle")
    parser.add_argument("--keep", type=Path, default=None, help="keep the archive and stores in this directory")
    args = parser.parse_args()
    texts = read_corpus(args.corpus, None)
    if not texts:
        print(f"no .txt notes in {args.corpus}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        archive = directory / "archive.jsonl"
        build_archive(texts, args.notes, archive, args.fresh_words)
        rounds: list[dict[int, dict[str, Any]]] = []
        for _ in range(max(args.repeat, 1)):
            runs = {}
            for workers in args.workers:
                store = directory / f"bench-{workers}.duckdb"
                for old in directory.glob(store.name + "*"):
                    old.unlink()
                runs[workers] = run_batch(archive, store, workers, args.trial)
            rounds.append(runs)
        sample = spread_sample(archive, args.notes, args.baseline_notes)
    baseline = medspacy_baseline()
    time_pipe(baseline, sample[:5])
    baseline_rate = len(sample) / time_pipe(baseline, sample)
    report(args.notes, rounds, baseline_rate, sample)
    return 0


def report(notes: int, rounds: list[dict[int, dict[str, Any]]], baseline_rate: float, sample: list[str]) -> None:
    words = sum(len(text.split()) for text in sample) / len(sample)
    print(f"archive: {notes} notes from the mtsamples corpus (repeated with new ids, patients and dates)")
    print(
        f"medspaCy default pipeline: {baseline_rate:8.1f} notes/s  (1 process, {len(sample)} notes taken "
        f"evenly across the archive, mean {words:.0f} words)"
    )
    for number, runs in enumerate(rounds, 1):
        for workers, row in runs.items():
            rate = row["processed"] / row["seconds"]
            extract_rate = row["processed"] / row["extract_seconds"]
            print(
                f"{f'round {number}: ' if len(rounds) > 1 else ''}extractor batch, {workers} worker(s): "
                f"{rate:8.1f} notes/s end to end ({extract_rate:.1f}/s extraction phase; "
                f"{rate / workers / baseline_rate:.1f}x medspaCy per worker); {row['seconds']:.0f} s = extract "
                f"{row['extract_seconds']:.0f} s + screen {row['screen_seconds']:.0f} s; "
                f"{row['patients_screened']} patients; peak RSS per worker {row['worker_peak_rss_mb']:.0f} MB, "
                f"main process {row['main_peak_rss_mb']:.0f} MB and {1000 * row['main_cpu_seconds'] / notes:.1f} "
                f"CPU s per 1,000 notes; store {row['store_bytes'] / notes * 1000 / 2**20:.1f} MB per 1,000 notes"
            )
    paired = [runs for runs in rounds if 1 in runs and 2 in runs]
    if not paired:
        return
    speedups = [runs[1]["seconds"] / runs[2]["seconds"] for runs in paired]
    median = statistics.median(speedups)
    print(
        f"2-worker speed-up: {median:.2f}x"
        + (f" (median of {len(speedups)} rounds: {', '.join(f'{x:.2f}' for x in speedups)})" if len(paired) > 1 else "")
    )
    middle = paired[min(range(len(paired)), key=lambda i: abs(speedups[i] - median))]
    one, two = middle[1], middle[2]
    per_worker = one["processed"] / one["seconds"]
    cluster_rate = per_worker * PROJECTED_CORES * median / 2
    writer_rate = notes / two["main_cpu_seconds"]  # one main process writes everything
    rate = min(cluster_rate, writer_rate)
    hours = PROJECTED_NOTES / rate / 3600
    store_gb = two["store_bytes"] / notes * PROJECTED_NOTES / 2**30
    print(
        f"projection, {PROJECTED_NOTES:,} notes on {PROJECTED_CORES} cores: {rate:.0f} notes/s "
        f"(workers {cluster_rate:.0f}/s at the measured 2-worker efficiency, single writer up to "
        f"{writer_rate:.0f}/s) = {hours:.1f} h; store {store_gb:.0f} GB"
    )


if __name__ == "__main__":
    raise SystemExit(main())
