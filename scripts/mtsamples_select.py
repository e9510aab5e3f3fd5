"""Choose the MTSamples notes the team annotates, and split them into dev and test, by a fixed hash.

Why a hash: the choice and the split must not depend on anyone's reading of the notes (or of
the pipeline's output on them), and must be reproducible on any machine. A note is eligible
when its report body has 150-900 words (long enough to hold facts, short enough to annotate
exhaustively); the 80 eligible notes with the smallest SHA-256 of their file name are taken,
and the 40 of those with the smallest SHA-256 of ``"split:" + file name`` are dev, the rest test.

    python scripts/mtsamples_select.py [--source ../shared/corpora/mtsamples] [--count 80]

writes ``corpora/mtsamples/manifest.yaml`` and copies each chosen note's text, byte for byte,
to ``corpora/mtsamples/notes/<note_id>.txt`` (the split is in the manifest) (80 of the 1,269 CC0
reports; the rest stay in ``../shared``).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "corpora" / "mtsamples"
TARGET = REPO / "corpora" / "mtsamples"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def choose(source: Path, count: int) -> list[dict[str, str]]:
    """The chosen notes, each with its note id, source file name, split and text digest."""
    eligible = []
    for path in sorted(source.glob("*.txt")):
        words = len(path.read_text(encoding="utf-8").split())
        if 150 <= words <= 900:
            eligible.append(path)
    chosen = sorted(eligible, key=lambda p: _digest(p.name))[:count]
    dev = set(sorted(chosen, key=lambda p: _digest("split:" + p.name))[: count // 2])
    rows = []
    for path in sorted(chosen, key=lambda p: _digest(p.name)):
        text = path.read_text(encoding="utf-8")
        rows.append({
            "note_id": "MT-" + _digest(path.name)[:8],
            "source_file": path.name,
            "split": "dev" if path in dev else "test",
            "sha256": _digest(text),
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--count", type=int, default=80)
    args = parser.parse_args()
    rows = choose(args.source, args.count)
    for row in rows:
        out = TARGET / "notes" / f"{row['note_id']}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes((args.source / row["source_file"]).read_bytes())
    header = {
        "schema": "mtsamples-manifest/v1",
        "name": "mtsamples-gold",
        "description": "MTSamples reports annotated by the team: which file, which split (fixed hash)",
        "source": "MTSamples transcribed reports (../shared/corpora/mtsamples), chosen by scripts/mtsamples_select.py",
        "license": "CC0-1.0",
        "notes": rows,
    }
    (TARGET / "manifest.yaml").write_text(yaml.safe_dump(header, sort_keys=False), encoding="utf-8")
    dev = sum(r["split"] == "dev" for r in rows)
    test = sum(r["split"] == "test" for r in rows)
    print(f"{len(rows)} notes: {dev} dev, {test} test")


if __name__ == "__main__":
    main()
