"""The MTSamples gold (``corpora/mtsamples``): check it, and derive sentence-level assertion test sets.

The brat gold is the one source of truth; the assertion TSV (``../shared/formats/assertion-tsv.md``,
read by ``extractor evaluate assertion --tsv``) is derived from it, so a correction to a
``.ann`` file reaches both. Sentences are cut by a deliberately simple, rule-independent
splitter (line breaks, sentence punctuation before a capital, an upper-case heading with a
colon): the test set must not depend on the pipeline it measures.

    python scripts/mtsamples_gold.py check
    python scripts/mtsamples_gold.py tsv --split dev -o corpora/assertion/mtsamples_dev.tsv
    python scripts/mtsamples_gold.py tsv --split test -o corpora/assertion/mtsamples_test.tsv
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "corpora" / "mtsamples"
# the kinds a sentence-level assertion kit is about (conditions and what happens to the patient)
TSV_KINDS = ("condition", "infection", "procedure", "social")
HEADER = "line number\tCondition\tsentence\tnegation_status\ttemporality\texperiencer"
_BOUNDARY = re.compile(
    r"\n+"  # line breaks
    r"|(?<=[.!?])\s+(?=[A-Z0-9])"  # sentence punctuation, space, a capital or digit
    r"|(?:\s{2,}|(?<=[.!?]))(?=[A-Z][A-Z /&,-]{2,}:)"  # an upper-case heading with a colon
    r"|(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])"  # run-on sentences: "word.Next"
)


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, white space trimmed; every character is in at most one."""
    bounds, start = [], 0
    for match in _BOUNDARY.finditer(text):
        bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(text)))
    trimmed = []
    for begin, end in bounds:
        piece = text[begin:end]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            trimmed.append((begin + left, begin + right))
    return trimmed


def tsv_labels(attributes: dict[str, str]) -> tuple[str, str, str]:
    """(negation, temporality, experiencer) in the kit's words for one entity's attributes."""
    assertion = attributes.get("Assertion", "present")
    negation = {"absent": "Negated", "possible": "Possible"}.get(assertion, "Affirmed")
    if assertion == "hypothetical":
        temporality = "Hypothetical"
    elif attributes.get("Temporality") == "historical":
        temporality = "Historical"
    else:
        temporality = "Recent"
    experiencer = {"family": "Family member", "other": "Other"}.get(attributes.get("Experiencer", ""), "Patient")
    return negation, temporality, experiencer


def tsv_rows(split: str, root: Path = ROOT) -> Iterator[str]:
    """One TSV row per gold mention of ``TSV_KINDS`` in the split's notes, in note and text order."""
    sys.path.insert(0, str(REPO))
    from extractor.evaluation.gold import read_gold_dir, read_split

    line = 0
    for note in read_gold_dir(root, read_split(root, split)):
        bounds = sentence_bounds(note.text)
        for entity in sorted(note.entities, key=lambda e: e.start):
            if entity.kind.value not in TSV_KINDS:
                continue
            sentence = next(((s, e) for s, e in bounds if s <= entity.start and entity.end <= e), None)
            if sentence is None:  # a mention across a line break: not a sentence-level case
                continue
            line += 1
            flat = " ".join(note.text[sentence[0] : sentence[1]].split())
            mention = " ".join(entity.text.split())
            yield "\t".join((str(line), mention, flat, *tsv_labels(entity.attributes)))


def check(root: Path = ROOT) -> list[str]:
    """Problems in the gold: texts that differ from the manifest, unreadable or missing .ann files."""
    import yaml

    sys.path.insert(0, str(REPO))
    from extractor.evaluation.errors import GoldError
    from extractor.evaluation.gold import read_gold_dir

    problems = []
    manifest = yaml.safe_load((root / "manifest.yaml").read_text(encoding="utf-8"))
    for entry in manifest["notes"]:
        txt = root / "notes" / f"{entry['note_id']}.txt"
        if hashlib.sha256(txt.read_bytes()).hexdigest() != entry["sha256"]:
            problems.append(f"{txt.name}: text differs from the manifest's digest")
        if not txt.with_suffix(".ann").is_file():
            problems.append(f"{txt.name}: no .ann yet")
    try:
        read_gold_dir(root, {p.stem for p in (root / "notes").glob("*.ann")})
    except GoldError as exc:
        problems.append(str(exc))
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check")
    tsv = sub.add_parser("tsv")
    tsv.add_argument("--split", choices=("dev", "test"), required=True)
    tsv.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "check":
        problems = check()
        print("\n".join(problems) or "ok")
        return 1 if problems else 0
    rows = list(tsv_rows(args.split))
    args.output.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    print(f"{len(rows)} rows written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
