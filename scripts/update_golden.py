"""Rewrite the golden fact files of tests/golden/ from the current pipeline.

    .venv/bin/python scripts/update_golden.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))


def main() -> int:
    from test_golden_notes import CHARTS, facts_of, golden_path

    import extractor

    nlp = extractor.load()
    for chart in CHARTS:
        target = golden_path(chart)
        facts = facts_of(chart, nlp)
        target.write_text(json.dumps(facts, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{target.relative_to(ROOT)}: {len(facts)} facts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
