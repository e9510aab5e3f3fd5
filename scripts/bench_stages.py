"""Benchmark: CPU seconds per pipeline stage, and the facts the stages produce.

Runs the tokenizer and each component one after the other on every note and adds up the
process CPU time each takes (CPU time, not wall time, so a busy machine disturbs it less;
still measure on an idle one for the README). Prints one line per stage, slowest first,
and the number of tokens and facts, so a slower stage can be told apart from one that
simply has more entities to read. To compare with an older checkout, run this file with that
checkout's interpreter (``OLD/.venv/bin/python scripts/bench_stages.py``).

    .venv/bin/python scripts/bench_stages.py [--corpus DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "mtsamples"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=300, help="at most this many notes (default 300)")
    args = parser.parse_args()
    paths = sorted(args.corpus.glob("*.txt"))[: args.limit]
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in paths]
    if not texts:
        print(f"no .txt notes in {args.corpus}", file=sys.stderr)
        return 2

    try:
        from extractor.imports import prepare_process
    except ImportError:  # an older checkout, run with its own interpreter: it guards its imports itself
        pass
    else:
        prepare_process()
    import extractor

    warnings.filterwarnings("ignore")
    nlp = extractor.load()
    for _ in nlp.pipe(texts[:5]):  # warm-up
        pass
    seconds: dict[str, float] = defaultdict(float)
    tokens = facts = 0
    for text in texts:
        start = time.process_time()
        doc = nlp.make_doc(text)
        seconds["tokenizer"] += time.process_time() - start
        for name, component in nlp.pipeline:
            start = time.process_time()
            doc = component(doc)
            seconds[name] += time.process_time() - start
        tokens += len(doc)
        facts += len(doc._.fact_records)
    total = sum(seconds.values())
    print(f"notes: {len(texts)} from {args.corpus}; tokens {tokens:,}; facts {facts:,}")
    for name, value in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"{name:26s} {value:7.3f} s  {100 * value / total:5.1f}%")
    print(f"{'total':26s} {total:7.3f} s  ({len(texts) / total:.1f} notes per CPU second)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
