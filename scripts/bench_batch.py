"""Benchmark of ``extractor batch`` on an archive of distinct notes: notes/s per worker, the
2-worker speed-up, the main process's CPU per note, and what they project to for 10 million
notes on 16 and 64 cores.

The archive (``--notes`` notes, JSONL) is built from ``../shared/corpora/mtsamples``, but no
two notes are copies: each takes one corpus note's outline and replaces about half of its
sections with the same-headed section of other notes (``CHIEF COMPLAINT:``, ``MEDICATIONS:``,
...), then gives every number new digits and every date a new value, under new note ids,
patients (about 8 notes each) and note dates. A repeated corpus would warm the workers'
caches and vocabularies and flatter their rate.

``extractor batch`` runs once per worker count (a fresh output each time): ``--mode
sharded`` (default) writes a sharded run (``--run-dir``; workers write Parquet, the main
process only schedules), ``--mode store`` the single DuckDB store. medspaCy's default
pipeline is timed on ``--baseline-notes`` notes of the archive in the same run. A shared
machine's speed drifts from minute to minute, so ``--repeat N`` runs the worker counts N
times in turn and reports every speed-up and their median.

    .venv/bin/python scripts/bench_batch.py [--notes 20000] [--workers 1 2] [--repeat 1]
        [--mode sharded|store] [--fresh-words 0] [--baseline-notes 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_extract import DEFAULT_CORPUS, medspacy_baseline, read_corpus, time_pipe

EXTRACTOR = Path(sys.executable).parent / "extractor"
PROJECTED_NOTES = 10_000_000
PROJECTED_CORES = (16, 64)
HEADING = re.compile(r"(?<![A-Za-z])([A-Z][A-Z /&,()-]{2,40}):")
DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})\b")
DIGITS = re.compile(r"\d+")


def sections(text: str) -> list[tuple[str, str]]:
    """A note as (heading, its text with the heading) pieces; the part before the first heading has heading ''."""
    starts = [match.start() for match in HEADING.finditer(text)]
    cuts = [0, *starts, len(text)]
    pieces = []
    for a, b in pairwise(cuts):
        if b > a:
            match = HEADING.match(text, a)
            pieces.append((match.group(1) if match else "", text[a:b]))
    return pieces


def new_numbers(text: str, rng: random.Random) -> str:
    """Every date a new valid date, every other number new digits of the same length."""

    def date(match: re.Match[str]) -> str:
        day = dt.date(1995, 1, 1) + dt.timedelta(days=rng.randrange(11_000))
        year = str(day.year) if len(match.group(3)) == 4 else f"{day.year % 100:02d}"
        return f"{day.month}/{day.day}/{year}"

    def digits(match: re.Match[str]) -> str:
        run = match.group(0)
        first = str(rng.randrange(1, 10)) if run[0] != "0" else "0"
        return first + "".join(str(rng.randrange(10)) for _ in run[1:])

    return DIGITS.sub(digits, DATE.sub(date, text))


def distinct_texts(texts: list[str], notes: int, seed: int = 20261205) -> list[str]:
    """``notes`` note texts recombined from the corpus (see the module docstring)."""
    rng = random.Random(seed)
    outlines = [sections(text) for text in texts]
    pool: dict[str, list[str]] = {}
    for outline in outlines:
        for heading, piece in outline:
            if heading:
                pool.setdefault(heading, []).append(piece)
    made: list[str] = []
    seen: set[str] = set()
    for i in range(notes):
        for attempt in range(20):  # a note with no section nor number to vary: take the next outline
            outline = outlines[(i + attempt * 7) % len(outlines)]
            pieces = [
                rng.choice(pool[heading]) if heading and len(pool[heading]) > 1 and rng.random() < 0.5 else piece
                for heading, piece in outline
            ]
            text = new_numbers("".join(pieces), rng)
            if text not in seen:
                break
        seen.add(text)
        made.append(text)
    return made


def build_archive(texts: list[str], notes: int, path: Path, fresh_words: int = 0) -> int:
    """Write the archive; return how many distinct texts it holds. ``fresh_words`` never-seen
    word forms end each note (worker memory stress: real archives keep bringing new words)."""
    patients = max(notes // 8, 1)
    rng = random.Random(20261202)
    made = distinct_texts(texts, notes)
    with path.open("w", encoding="utf-8") as handle:
        for i, text in enumerate(made):
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
    return len(set(made))


def spread_sample(archive: Path, notes: int, size: int) -> list[str]:
    """``size`` note texts taken evenly across the archive (the corpus's mix of lengths)."""
    step = max(notes // max(size, 1), 1)
    with archive.open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in islice(handle, 0, None, step)][:size]


def run_batch(archive: Path, output: Path, workers: int, trial: str, mode: str, shard_mb: float) -> dict[str, Any]:
    """One ``extractor batch`` run in a subprocess; its row of ``runs`` and its output's size."""
    command = [str(EXTRACTOR), "batch", str(archive), "--trial", trial, "--workers", str(workers), "--log-every", "60"]
    if mode == "sharded":
        command += ["--run-dir", str(output), "--shard-mb", f"{shard_mb:g}"]
        catalog = output / "results.duckdb"
    else:
        command += ["--store", str(output)]
        catalog = output
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started
    with duckdb.connect(str(catalog), read_only=True) as con:
        cursor = con.execute("SELECT * FROM runs ORDER BY run_id DESC LIMIT 1")
        row = dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))
    row["wall_seconds"] = wall
    row["main_cpu_start_seconds"] = 0.0
    if mode == "sharded":
        row["main_cpu_start_seconds"] = json.loads((output / "run.json").read_text())["main_cpu_start_seconds"]
        row["components"] = components(output, workers)
        row["output_bytes"] = sum(p.stat().st_size for p in output.rglob("*.parquet"))
    else:
        row["output_bytes"] = sum(p.stat().st_size for p in output.parent.glob(output.name + "*"))
    return row


def components(run_dir: Path, workers: int) -> dict[str, float]:
    """Where a sharded run's time went, from ``run.json`` and the tasks' commit records (each
    task's start on the worker's clock, its duration and its pipeline loading), in seconds:
    the main process's set-up; per worker (mean): from the run's start to its first extraction
    task (process start), pipeline loading (reloads after renewals included), busy
    extracting, idle at the end of extraction (the tail: others still on their last shard);
    the pause between the phases (duplicates found, fresh workers); per worker: busy
    screening and idle at the tail of screening (the workers' closing included).
    What is not busy is what keeps ``workers`` workers from ``workers`` times one's speed."""
    state = json.loads((run_dir / "run.json").read_text())
    records = [json.loads(path.read_text()) for path in (run_dir / "_commits").glob("*.json")]
    start = state["started_epoch"]
    extract_end = start + state["extract_seconds"]
    end = start + state["seconds"]
    phases: dict[str, dict[str, list[dict[str, Any]]]] = {"extract": {}, "screen": {}}
    for record in records:
        phase = "extract" if "shard" in record else "screen" if "partition" in record else None
        if phase:
            phases[phase].setdefault(record["worker"], []).append(record)
    found = {"setup": state["setup_seconds"], "between": state["between_seconds"]}
    for phase, until in (("extract", extract_end), ("screen", end)):
        tasks = [r for own in phases[phase].values() for r in own]
        found[f"{phase}_busy"] = sum(r["seconds"] - r["load_seconds"] for r in tasks) / workers
        # the last task of each of the ``workers`` slots (a renewed worker's successor takes its slot)
        last = sorted((r["began"] + r["seconds"] for r in tasks), reverse=True)[:workers]
        found[f"{phase}_tail"] = sum(until - t for t in last) / workers
    first = sorted(r["began"] for own in phases["extract"].values() for r in own)[:workers]
    found["worker_start"] = sum(t - start for t in first) / max(len(first), 1)
    found["load"] = sum(r["load_seconds"] for own in phases["extract"].values() for r in own) / workers
    return found


def fresh(path: Path) -> None:
    if path.is_dir():
        for child in sorted(path.rglob("*"), reverse=True):
            child.rmdir() if child.is_dir() else child.unlink()
        path.rmdir()
    for old in path.parent.glob(path.name + "*"):
        old.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--notes", type=int, default=20_000, help="archive size")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--mode", choices=("sharded", "store"), default="sharded")
    parser.add_argument(
        "--shard-mb", type=float, default=None, help="sharded mode: input MB per task (default: archive / 32, max 8)"
    )
    parser.add_argument(
        "--fresh-words", type=int, default=0, help="never-seen word forms added to each note (worker memory stress)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the worker counts, run in turn")
    parser.add_argument("--baseline-notes", type=int, default=300, help="notes timed through medspaCy")
    parser.add_argument("--trial", default="blinatumomab-sle")
    parser.add_argument("--keep", type=Path, default=None, help="keep the archive and outputs in this directory")
    args = parser.parse_args()
    texts = read_corpus(args.corpus, None)
    if not texts:
        print(f"no .txt notes in {args.corpus}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        archive = directory / "archive.jsonl"
        distinct = build_archive(texts, args.notes, archive, args.fresh_words)
        shard_mb = args.shard_mb or min(8.0, archive.stat().st_size / 2**20 / 32)
        rounds: list[dict[int, dict[str, Any]]] = []
        for _ in range(max(args.repeat, 1)):
            runs = {}
            for workers in args.workers:
                output = directory / (f"run-{workers}" if args.mode == "sharded" else f"bench-{workers}.duckdb")
                fresh(output)
                runs[workers] = run_batch(archive, output, workers, args.trial, args.mode, shard_mb)
            rounds.append(runs)
        sample = spread_sample(archive, args.notes, args.baseline_notes)
    baseline = medspacy_baseline()
    time_pipe(baseline, sample[:5])
    baseline_rate = len(sample) / time_pipe(baseline, sample)
    report(args, distinct, rounds, baseline_rate, sample, shard_mb)
    return 0


def spread_line(rounds: list[dict[int, dict[str, Any]]], notes: int) -> str:
    """Each worker count's figures over the rounds: median (lowest-highest), so that a reader
    sees how far one round can stray on the same code."""

    def spread(values: list[float], digits: int) -> str:
        return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"

    parts = []
    for workers in sorted({w for runs in rounds for w in runs}):
        rows = [runs[workers] for runs in rounds if workers in runs]
        per_worker = [row["processed"] / row["seconds"] / workers for row in rows]
        main_ms = [1000 * (row["main_cpu_seconds"] - row["main_cpu_start_seconds"]) / notes for row in rows]
        parts.append(
            f"{workers} worker(s) {spread(per_worker, 1)} notes/s per worker, main CPU {spread(main_ms, 3)} ms a "
            f"note, peak RSS main {max(row['main_peak_rss_mb'] for row in rows):.0f} MB / worker "
            f"{max(row['worker_peak_rss_mb'] for row in rows):.0f} MB"
        )
    return f"over {len(rounds)} rounds, median (lowest-highest): " + "; ".join(parts)


def report(
    args: argparse.Namespace, distinct: int, rounds: list[dict[int, dict[str, Any]]], baseline_rate: float,
    sample: list[str], shard_mb: float,
) -> None:
    notes = args.notes
    words = sum(len(text.split()) for text in sample) / len(sample)
    how = f"sharded run, {shard_mb:.2f} MB of input per task" if args.mode == "sharded" else "single DuckDB store"
    print(f"archive: {notes} notes, {distinct} distinct texts (mtsamples sections recombined, new numbers); {how}")
    print(
        f"medspaCy default pipeline: {baseline_rate:8.1f} notes/s  (1 process, {len(sample)} notes, "
        f"mean {words:.0f} words)"
    )
    for number, runs in enumerate(rounds, 1):
        for workers, row in runs.items():
            rate = row["processed"] / row["seconds"]
            main_ms = 1000 * (row["main_cpu_seconds"] - row["main_cpu_start_seconds"]) / notes
            print(
                f"{f'round {number}: ' if len(rounds) > 1 else ''}{workers} worker(s): {rate:8.1f} notes/s end to end "
                f"= {rate / workers:.1f} per worker ({rate / workers / baseline_rate:.1f}x medspaCy); "
                f"{row['seconds']:.0f} s = extract {row['extract_seconds']:.0f} s + screen "
                f"{row['screen_seconds']:.0f} s; "
                f"{row['patients_screened']} patients; peak RSS per worker {row['worker_peak_rss_mb']:.0f} MB, "
                f"main process {row['main_peak_rss_mb']:.0f} MB; main process CPU {main_ms:.3f} ms a note "
                + (f"(after its {row['main_cpu_start_seconds']:.1f} s set-up); " if args.mode == "sharded"
                   else "(its start-up included: a store run does not record it); ")
                + f"output {row['output_bytes'] / notes * 1000 / 2**20:.1f} MB per 1,000 notes"
            )
            if "components" in row:
                c = row["components"]
                print(
                    f"    where the {row['seconds']:.1f} s went: main set-up {c['setup']:.1f} s; per worker: start "
                    f"{c['worker_start']:.1f} s after the run (set-up included), pipeline load {c['load']:.1f} s, "
                    f"extracting {c['extract_busy']:.1f} s, idle at the extraction tail {c['extract_tail']:.1f} s; "
                    f"between phases (duplicates, fresh workers) {c['between']:.1f} s; per worker: screening "
                    f"{c['screen_busy']:.1f} s, idle at the screening tail (closing included) {c['screen_tail']:.1f} s"
                )
    paired = [runs for runs in rounds if 1 in runs and 2 in runs]
    if not paired:
        return
    speedups = [runs[1]["seconds"] / runs[2]["seconds"] for runs in paired]
    median = statistics.median(speedups)
    print(
        f"2-worker speed-up: {median:.2f}x"
        + (f" (median of {len(speedups)} rounds: {', '.join(f'{x:.2f}' for x in speedups)}; spread "
           f"{min(speedups):.2f}-{max(speedups):.2f})" if len(paired) > 1 else "")
    )
    if len(rounds) > 1:
        print(spread_line(rounds, notes))
    middle = paired[min(range(len(paired)), key=lambda i: abs(speedups[i] - median))]
    one, two = middle[1], middle[2]
    per_worker = one["processed"] / one["seconds"]
    main_cpu = (two["main_cpu_seconds"] - two["main_cpu_start_seconds"]) / notes
    main_cap = 1 / main_cpu if main_cpu > 0 else float("inf")
    print(
        "projection assumptions: one worker per core; each worker at the measured 1-worker rate "
        f"({per_worker:.1f} notes/s, pipeline loading and screening included) times the measured 2-worker "
        f"efficiency ({median / 2:.2f}), the same at any number of workers; the main process's CPU per note "
        f"({1000 * main_cpu:.3f} ms) caps the run at {main_cap:,.0f} notes/s; notes like these (mean {words:.0f} "
        "words); storage and the network keep up (not measured here)"
    )
    for cores in PROJECTED_CORES:
        rate = min(per_worker * cores * median / 2, main_cap)
        hours = PROJECTED_NOTES / rate / 3600
        size_gb = two["output_bytes"] / notes * PROJECTED_NOTES / 2**30
        print(
            f"projection, {PROJECTED_NOTES:,} notes on {cores} cores: {rate:,.0f} notes/s = {hours:.2f} h; "
            f"output {size_gb:.0f} GB"
        )


if __name__ == "__main__":
    raise SystemExit(main())
