"""Score `trial draft`'s reading of eligibility text against the Clinical-Trial-Parser material.

    .venv/bin/python scripts/score_fb_parser.py [--no-similar] [--unnamed] [--split dev|test|all]
        [--errors LABEL] [--dir DIR]

1. Phrase recognition on test_processed_medical_ner.tsv (4,482 annotated criteria lines):
   the concepts the compiler's reader finds (lexicon, then MiniLM similarity for the
   words left) labelled by kind (condition/infection -> chronic_disease, a malignancy ->
   cancer, medication/procedure/vaccine -> treatment, lab/score -> clinical_variable,
   pregnancy -> pregnancy; a condition a threshold compares, "hypercholesterolemia (> 240
   mg/dL)", -> clinical_variable) and its thresholds (">" -> lower_bound, "<" -> upper_bound),
   against the annotators' spans: precision, recall and F1 per label, exact spans and
   overlapping spans. "@NUMBER" is read as a 7-digit number (offsets unchanged).
2. Bounds on cfg_parsed_clinical_trials.tsv: for every numeric criterion that parser read,
   whether the reader's thresholds give the same bound (side, value, inclusive), turned
   into the eligible range as that file writes it (an exclusion "< 18" is lower >= 18).

The 4,482 lines are split once and for all by a hash of their text (``split_of``): the
reading rules are tuned on ``dev`` (``--errors LABEL`` prints its misses and spurious
spans, and refuses the test half); ``test`` is only measured. The table gives dev, test
and all unless ``--split`` picks one.

Default DIR: ../shared/criteria-dev/fb-clinical-trial-parser (from the repository root's
parent). Nothing here tunes anything: it only reads and counts.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from extractor.compiler import similarity_index
from extractor.compiler.lexicon import default_lexicon
from extractor.compiler.phrases import compared_at, phrase_extent
from extractor.compiler.reader import Reader
from extractor.compiler.rules import eligibility_rules
from extractor.facts import Kind
from extractor.resources import concepts_by_id

ROOT = Path(__file__).resolve().parents[1]
LABELS = ("chronic_disease", "cancer", "treatment", "clinical_variable", "pregnancy", "lower_bound", "upper_bound")
# The annotation scheme's labels; it has none for habits (smoking, alcohol: social),
# clinical studies, or contraception (its own label, contraception_consent, not scored).
_KIND_LABEL = {
    Kind.CONDITION: "chronic_disease", Kind.INFECTION: "chronic_disease",
    Kind.MEDICATION: "treatment", Kind.PROCEDURE: "treatment", Kind.VACCINE: "treatment",
    Kind.LAB: "clinical_variable", Kind.SCORE: "clinical_variable", Kind.VITAL: "clinical_variable",
}
_UNLABELLED_CATEGORIES = frozenset({"contraception", "trial"})


def _default_dir() -> Path:
    for base in (ROOT.parent, ROOT.parent.parent):
        candidate = base / "shared" / "criteria-dev" / "fb-clinical-trial-parser"
        if candidate.is_dir():
            return candidate
    return ROOT / "corpora" / "eligibility" / "fb-clinical-trial-parser"


def label_of(concept: str, kind: Kind) -> str | None:
    """The scheme's label of a concept: malignancies are cancer, pregnancy and the tests for
    it pregnancy, the rest by kind."""
    entry = concepts_by_id().get(concept)
    category = entry.attrs.get("category") if entry is not None else None
    if category == "malignancy":
        return "cancer"
    if category in _UNLABELLED_CATEGORIES:
        return None
    names = [entry.literal, *entry.synonyms] if entry is not None else []
    if any(name.lower() == "body mass index" for name in names):
        return "bmi"  # a label of its own, not scored here
    if category == "pregnancy" or (kind is Kind.LAB and any("pregnan" in name.lower() for name in names)):
        return "pregnancy"
    if entry is not None and entry.attrs.get("value_type") == "qualitative":
        return None  # a clinical_variable is a quantity; the scheme labels what a yes/no test is for
    return _KIND_LABEL.get(kind)


_PHRASE_LABEL = {"condition": "chronic_disease", "malignancy": "cancer", "treatment": "treatment",
                 "measure": "clinical_variable"}


def predicted(reader: Reader, text: str, unnamed: bool = False) -> set[tuple[int, int, str]]:
    """Spans (start, end, label) the reader recognises in one line: thresholds and concepts,
    and with ``unnamed`` the phrases no vocabulary names, labelled by their head word."""
    thresholds, hits, phrases = reader.recognise(text)
    spans = {(p.start, p.end, _PHRASE_LABEL[p.kind]) for p in phrases} if unnamed else set()
    compared = [t.start for t in thresholds if not t.age]
    for threshold in thresholds:
        side = "lower_bound" if threshold.compare.startswith(">") else "upper_bound"
        spans.add((threshold.start, threshold.end, side))
    for hit in hits:
        label = label_of(hit.term.concept, hit.term.kind)
        if label == "chronic_disease" and compared_at(text, hit.end, compared, reader.rules):
            label = "clinical_variable"  # "hypercholesterolemia (> 240 mg/dL)": a condition as a measure
        if label is not None:
            spans.add((*phrase_extent(text, hit.start, hit.end, reader.rules), label))
    return _merged(text, spans)


def _merged(text: str, spans: set[tuple[int, int, str]]) -> set[tuple[int, int, str]]:
    """Spans of one label that overlap or touch ("heart failure (CHF)") as one phrase."""
    out: list[tuple[int, int, str]] = []
    for start, end, label in sorted(spans):
        same = [i for i, (a, b, lab) in enumerate(out) if lab == label and start <= b and not text[b:start].strip()]
        if same:
            a, b, _ = out[same[-1]]
            out[same[-1]] = (a, max(b, end), label)
        else:
            out.append((start, end, label))
    return set(out)


def gold(spec: str) -> set[tuple[int, int, str]]:
    spans = set()
    for item in spec.split(","):
        if item.count(":") != 2:
            continue
        start, end, label = item.split(":")
        spans.add((int(start) - 1, int(end) - 1, label))
    return spans


def split_of(text: str) -> str:
    """'dev' or 'test' for one criteria line, fixed by the SHA-256 of its text (half each)."""
    return "dev" if hashlib.sha256(text.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def lines(path: Path, split: str) -> list[tuple[set[tuple[int, int, str]], str]]:
    """(gold spans, text) of the lines of one split ("all": every line); "@NUMBER" read as a
    7-digit number, offsets unchanged."""
    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            spec, _, text = line.rstrip("\n").partition("\t")
            if split != "all" and split_of(text) != split:
                continue
            out.append(({s for s in gold(spec) if s[2] in LABELS}, text.replace("@NUMBER", "1000000")))
    return out


def _overlaps(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    return a[2] == b[2] and a[0] < b[1] and b[0] < a[1]


def score_ner(reader: Reader, path: Path, split: str = "all", unnamed: bool = False) -> dict[str, dict[str, float]]:
    counts: dict[str, Counter[str]] = {label: Counter() for label in LABELS}
    for truth, text in lines(path, split):
        guess = predicted(reader, text, unnamed)
        for label in LABELS:
            t = {s for s in truth if s[2] == label}
            g = {s for s in guess if s[2] == label}
            counts[label]["gold"] += len(t)
            counts[label]["pred"] += len(g)
            counts[label]["exact"] += len(t & g)
            counts[label]["found"] += sum(any(_overlaps(x, y) for y in g) for x in t)
            counts[label]["right"] += sum(any(_overlaps(y, x) for x in t) for y in g)
    table = {}
    for label, c in counts.items():
        p_exact = c["exact"] / c["pred"] if c["pred"] else 0.0
        r_exact = c["exact"] / c["gold"] if c["gold"] else 0.0
        p_over = c["right"] / c["pred"] if c["pred"] else 0.0
        r_over = c["found"] / c["gold"] if c["gold"] else 0.0
        table[label] = {
            "gold": c["gold"], "pred": c["pred"],
            "p": p_exact, "r": r_exact, "f1": _f1(p_exact, r_exact),
            "p_overlap": p_over, "r_overlap": r_over, "f1_overlap": _f1(p_over, r_over),
        }
    return table


def errors(reader: Reader, path: Path, label: str, unnamed: bool) -> None:
    """The dev half's misses (gold spans nothing overlaps) and spurious spans of one label,
    most frequent first: what tuning looks at. Never the test half."""
    missed, spurious, boundary = Counter[str](), Counter[str](), Counter[str]()
    for truth, text in lines(path, "dev"):
        t = {s for s in truth if s[2] == label}
        g = {s for s in predicted(reader, text, unnamed) if s[2] == label}
        missed.update(text[a:b].lower() for a, b, lab in t if not any(_overlaps((a, b, lab), y) for y in g))
        spurious.update(text[a:b].lower() for a, b, lab in g if not any(_overlaps((a, b, lab), x) for x in t))
        boundary.update(
            f"{text[a:b].lower()} | {text[y[0]:y[1]].lower()}" for a, b, lab in t - g
            for y in g if _overlaps((a, b, lab), y)
        )
    print(f"dev {label}: {sum(missed.values())} gold spans missed (nothing overlaps), "
          f"{sum(spurious.values())} predicted spans spurious (no gold overlaps), "
          f"{sum(boundary.values())} gold spans found with other boundaries (gold | predicted)")
    for name, counter in (("missed", missed), ("spurious", spurious), ("boundary", boundary)):
        print(f"## {name} {label}: {sum(counter.values())}")
        for phrase, count in counter.most_common():
            print(f"{count}\t{phrase}")


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _eligible(op: str, value: float, exclusion: bool) -> tuple[str, float, bool]:
    """A threshold as the eligible range's bound: (side, value, inclusive)."""
    if exclusion:
        op = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}[op]
    side = "lower" if op.startswith(">") else "upper"
    return side, value, op.endswith("=")


def score_bounds(reader: Reader, path: Path) -> dict[str, int]:
    totals = Counter[str]()
    with path.open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t")]
    for row in rows:
        relation = json.loads(row["relation"])
        wanted = set()
        for side in ("lower", "upper"):
            if side in relation:
                value = float(relation[side]["value"].replace(",", "."))
                wanted.add((side, value, bool(relation[side]["incl"])))
        got = set()
        for threshold in reader.recognise(row["criterion"])[0]:
            op, _, rest = threshold.compare.partition(" ")
            number = rest.split(" ")[0].rstrip("%")
            try:
                value = float(number)
            except ValueError:
                continue
            got.add(_eligible(op, value, row["eligibility_type"] == "exclusion"))
        totals["criteria"] += 1
        totals["exact"] += wanted <= got
        totals["value_only"] += {(s, v) for s, v, _ in wanted} <= {(s, v) for s, v, _ in got}
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="the fb-clinical-trial-parser directory")
    parser.add_argument("--no-similar", action="store_true", help="lexicon only, no MiniLM similarity")
    parser.add_argument("--split", choices=("dev", "test", "all"), default=None, help="one half (default: each)")
    parser.add_argument("--unnamed", action="store_true",
                        help="also the phrases no vocabulary names, known by their head word")
    parser.add_argument("--errors", choices=LABELS, default=None, help="print the dev half's errors of a label")
    args = parser.parse_args()
    directory = args.dir or _default_dir()
    similarity = None if args.no_similar else similarity_index()
    reader = Reader(eligibility_rules(), default_lexicon(), similarity)
    ner = directory / "test_processed_medical_ner.tsv"
    if args.errors:
        errors(reader, ner, args.errors, args.unnamed)
        return
    for split in [args.split] if args.split else ["dev", "test", "all"]:
        table = score_ner(reader, ner, split, args.unnamed)
        print(f"\n{split}{' (concepts and unnamed phrases)' if args.unnamed else ' (concepts)'}:\n")
        print("| label | gold | predicted | P | R | F1 | P overlap | R overlap | F1 overlap |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for label, row in table.items():
            print(f"| {label} | {row['gold']} | {row['pred']} | {row['p']:.3f} | {row['r']:.3f} | {row['f1']:.3f} | "
                  f"{row['p_overlap']:.3f} | {row['r_overlap']:.3f} | {row['f1_overlap']:.3f} |")
    bounds = score_bounds(reader, directory / "cfg_parsed_clinical_trials.tsv")
    print(f"\nbounds: {bounds['exact']}/{bounds['criteria']} numeric criteria read exactly "
          f"({bounds['exact'] / bounds['criteria']:.3f}); same values, any inclusiveness: "
          f"{bounds['value_only']}/{bounds['criteria']}")


if __name__ == "__main__":
    main()
