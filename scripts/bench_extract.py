"""Benchmark: our full pipeline against medspaCy's default pipeline, in one process.

Both run on the same notes (``../shared/corpora/mtsamples`` by default) with the same
target rules (our vocabularies, exported as medspaCy TargetRules for the baseline).
Prints notes/s for each, the ratio, and peak RSS after our pipeline ran (before the
baseline is loaded) and at the end.

    .venv/bin/python scripts/bench_extract.py [--corpus DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from extractor.modes import AssertionMode

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "mtsamples"


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_corpus(directory: Path, limit: int | None) -> list[str]:
    paths = sorted(directory.glob("*.txt"))[:limit]
    return [p.read_text(encoding="utf-8", errors="replace") for p in paths]


def time_pipe(nlp, docs_or_texts, batch_size: int = 32) -> float:
    start = time.perf_counter()
    for _ in nlp.pipe(docs_or_texts, batch_size=batch_size):
        pass
    return time.perf_counter() - start


def medspacy_baseline():
    """``medspacy.load()`` (PyRuSH sentences, TargetMatcher, ConText) with our target rules."""
    import medspacy
    from loguru import logger
    from medspacy.ner import TargetRule

    from extractor.resources import load_vocabularies

    logger.disable("PyRuSH")
    nlp = medspacy.load()
    rules = []
    for vocab in load_vocabularies():
        for concept in vocab.entries:
            for phrase in {concept.literal, *concept.synonyms}:
                rules.append(TargetRule(phrase, concept.kind.value.upper()))
            for phrase in concept.case_sensitive:
                rules.append(TargetRule(phrase, concept.kind.value.upper(), pattern=[{"TEXT": phrase}]))
    nlp.get_pipe("medspacy_target_matcher").add(rules)
    return nlp


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=None, help="at most this many notes")
    parser.add_argument("--assertion", default="rules", choices=[m.value for m in AssertionMode], help="assertion mode")
    args = parser.parse_args()
    texts = read_corpus(args.corpus, args.limit)
    if not texts:
        print(f"no .txt notes in {args.corpus}", file=sys.stderr)
        return 2
    words = sum(len(t.split()) for t in texts) / len(texts)

    import warnings

    from extractor.imports import prepare_process

    prepare_process()  # as the command line and the batch workers do, before spaCy is imported
    import extractor

    warnings.filterwarnings("ignore")
    ours = extractor.load(assertion=args.assertion)
    time_pipe(ours, texts[:5])  # warm-up
    ours_seconds = time_pipe(ours, texts)
    ours_rss = peak_rss_mb()

    baseline = medspacy_baseline()
    time_pipe(baseline, texts[:5])
    base_seconds = time_pipe(baseline, texts)

    n = len(texts)
    print(f"notes: {n} (mean {words:.0f} words) from {args.corpus}")
    print(f"assertion mode          : {args.assertion}")
    print(f"extractor full pipeline : {n / ours_seconds:8.1f} notes/s  ({ours_seconds:.1f} s)")
    print(f"medspaCy default        : {n / base_seconds:8.1f} notes/s  ({base_seconds:.1f} s)")
    print(f"speed-up                : {base_seconds / ours_seconds:8.1f}x")
    print(f"peak RSS after extractor: {ours_rss:8.0f} MB")
    print(f"peak RSS at end         : {peak_rss_mb():8.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
