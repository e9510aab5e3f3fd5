"""Benchmark: this checkout's pipeline against another checkout's, in turn, on the same notes.

This machine's speed drifts by 10-20% from one minute to the next (measured: two
``bench_extract.py`` pairs minutes apart gave 106 vs 109 and 102 vs 127 notes/s), so one run
of each code says little about a few percent. Here the two checkouts run in turn,
``--rounds`` times each, each run a process of its own with its checkout's interpreter, as
``bench_extract.py`` runs it (``prepare_process`` where the checkout has it, the pipeline
loaded, five notes to warm up, then every note through ``nlp.pipe``); the report gives each
run's notes/s and CPU milliseconds per note, the medians, and the ratio of the medians.

    .venv/bin/python scripts/compare_extract_speed.py --other ../wt/pre [--rounds 5] [--limit N]

``--other`` is a checkout with its own ``.venv`` (an older commit: ``git worktree add
--detach DIR COMMIT``, then a venv with that checkout installed in it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "mtsamples"

# one timed run, in the checkout's own interpreter; prints one JSON line
CHILD = """
import json, sys, time, warnings
from pathlib import Path
try:
    from extractor.imports import prepare_process
except ImportError:  # older code: importing extractor did this itself
    prepare_process = None
if prepare_process is not None:
    prepare_process()
import extractor
warnings.filterwarnings("ignore")
paths = sorted(Path(sys.argv[1]).glob("*.txt"))
limit = int(sys.argv[2])
texts = [p.read_text(encoding="utf-8", errors="replace") for p in (paths[:limit] if limit else paths)]
nlp = extractor.load()
for _ in nlp.pipe(texts[:5], batch_size=32):
    pass
wall, cpu = time.perf_counter(), time.process_time()
for _ in nlp.pipe(texts, batch_size=32):
    pass
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"notes": len(texts), "notes_per_s": len(texts) / wall, "cpu_ms_per_note": 1000 * cpu / len(texts)}))
"""


def run_once(checkout: Path, corpus: Path, limit: int) -> dict[str, float]:
    """One timed run of ``checkout``'s pipeline, in a fresh process of its own interpreter."""
    python = checkout / ".venv" / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", CHILD, str(corpus), str(limit)],
        cwd=checkout, capture_output=True, text=True, check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(other: Path, corpus: Path, rounds: int, limit: int) -> dict[str, list[dict[str, float]]]:
    """``rounds`` runs of each checkout, alternating, this one first."""
    runs: dict[str, list[dict[str, float]]] = {"this": [], "other": []}
    for _ in range(rounds):
        runs["this"].append(run_once(ROOT, corpus, limit))
        runs["other"].append(run_once(other, corpus, limit))
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=Path, required=True, help="another checkout, with its own .venv")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=0, help="at most this many notes (0: all)")
    args = parser.parse_args()
    if not (args.other / ".venv" / "bin" / "python").exists():
        print(f"{args.other} has no .venv/bin/python", file=sys.stderr)
        return 2
    runs = compare(args.other.resolve(), args.corpus, args.rounds, args.limit)
    medians = {}
    for name, label in (("this", str(ROOT)), ("other", str(args.other))):
        rates = [run["notes_per_s"] for run in runs[name]]
        cpu = [run["cpu_ms_per_note"] for run in runs[name]]
        medians[name] = (statistics.median(rates), statistics.median(cpu))
        print(f"{name:5} {label}: notes/s {', '.join(f'{r:.1f}' for r in rates)}; "
              f"CPU ms/note {', '.join(f'{c:.2f}' for c in cpu)}")
    notes = runs["this"][0]["notes"]
    print(f"notes per run: {notes:.0f}; rounds: {args.rounds}, alternating, this checkout first")
    print(f"median notes/s: this {medians['this'][0]:.1f}, other {medians['other'][0]:.1f} "
          f"(ratio {medians['this'][0] / medians['other'][0]:.3f})")
    print(f"median CPU ms/note: this {medians['this'][1]:.2f}, other {medians['other'][1]:.2f} "
          f"(ratio {medians['this'][1] / medians['other'][1]:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
