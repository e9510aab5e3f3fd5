"""Sentence splitting: ours (``extractor_sentences``) against medspaCy's default, PyRuSH.

Two measures, both splitters on the same tokens (our tokenizer), in one process:
- **boundaries** on the sentence phrase cases (``tests/regression/cases/sentences.yaml``:
  abbreviations, decimals, lists, bullets, lab rows, run-in headers, wrapped dictation):
  the cases each splitter gets exactly right, and precision/recall/F1 of sentence starts
  (character offsets of each sentence's first non-space character);
- **speed** on ``../shared/corpora/mtsamples`` notes: notes/s of the splitting stage alone
  (tokenisation excluded), and the ratio.

    .venv/bin/python scripts/bench_sentences.py [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from bench_extract import DEFAULT_CORPUS, read_corpus  # noqa: E402

CASES = ROOT / "tests" / "regression" / "cases" / "sentences.yaml"


def starts(doc) -> list[int]:
    """Character offset of each sentence's first non-space character."""
    found = []
    for sent in doc.sents:
        stripped = sent.text.lstrip()
        if stripped.strip():
            found.append(sent.start_char + len(sent.text) - len(stripped))
    return found


def expected_starts(text: str, sentences: list[str]) -> list[int]:
    """Where each expected sentence begins in ``text`` (searched in order)."""
    found, position = [], 0
    for sentence in sentences:
        position = text.index(sentence, position)
        found.append(position)
        position += len(sentence)
    return found


def score(split, cases: list[dict]) -> tuple[int, float, float, float]:
    """Cases exactly right, and sentence-start precision, recall and F1."""
    exact = tp = predicted = gold = 0
    for case in cases:
        got = starts(split(case["text"]))
        want = expected_starts(case["text"], case["expect"]["sentences"])
        exact += got == want
        tp += len(set(got) & set(want))
        predicted += len(got)
        gold += len(want)
    precision, recall = tp / max(predicted, 1), tp / max(gold, 1)
    return exact, precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=300, help="notes timed")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import medspacy
    from loguru import logger

    import extractor

    logger.disable("PyRuSH")
    nlp = extractor.load()
    ours = nlp.get_pipe("extractor_sentences")
    pyrush = medspacy.load(medspacy_enable=["medspacy_pyrush"]).get_pipe("medspacy_pyrush")
    splitters = {"extractor_sentences": ours, "PyRuSH (medspaCy default)": pyrush}

    cases = [c for c in yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"] if c.get("api") == "sentences"]
    texts = read_corpus(args.corpus, args.limit)
    print(f"boundaries: {len(cases)} sentence cases from {CASES.relative_to(ROOT)}")
    rates = {}
    for name, component in splitters.items():
        exact, precision, recall, f1 = score(lambda text, c=component: c(nlp.make_doc(text)), cases)
        docs = [nlp.make_doc(text) for text in texts]
        component(nlp.make_doc(texts[0]))  # warm-up
        started = time.perf_counter()
        for doc in docs:
            component(doc)
        rates[name] = len(docs) / (time.perf_counter() - started)
        print(
            f"  {name:28s} exact {exact}/{len(cases)}  starts P {precision:.3f} R {recall:.3f} F1 {f1:.3f}  "
            f"speed {rates[name]:8.1f} notes/s"
        )
    ratio = rates["extractor_sentences"] / rates["PyRuSH (medspaCy default)"]
    print(f"speed: {len(texts)} notes from {args.corpus}; ours is {ratio:.1f}x PyRuSH")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
