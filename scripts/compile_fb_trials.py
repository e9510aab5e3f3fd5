"""Draft trial files from the 20 FB eligibility blocks, and diff drafts against corrections.

    .venv/bin/python scripts/compile_fb_trials.py --out DIR [--ids NCT04346355 ...]
    .venv/bin/python scripts/compile_fb_trials.py --diff

The first form drafts (MiniLM similarity on; the names' embeddings come from the user's
cache after the first run, see extractor.compiler.similarity) the trials of
corpora/eligibility/fb-clinical-trial-parser/clinical_trials.csv into DIR/<id>.draft.yaml.
The second writes, for every draft in corpora/trials/drafts/ with a reviewed correction
beside it (corpora/trials/<id>.yaml, "Reviewed correction of the draft"), the hand corrections as
corpora/trials/drafts/<id>.diff (unified diff, draft -> corrected).
"""

from __future__ import annotations

import argparse
import csv
import difflib
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from extractor.compiler import draft_trial

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "corpora" / "eligibility" / "fb-clinical-trial-parser" / "clinical_trials.csv"
DRAFTS = ROOT / "corpora" / "trials" / "drafts"


def rows() -> list[dict[str, str]]:
    with CSV.open(encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["#nct_id"].startswith("NCT")]


def draft(out: Path, ids: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for row in rows():
        if ids and row["#nct_id"] not in ids:
            continue
        name = row["#nct_id"].lower()
        drafted = draft_trial(
            row["eligibility_criteria"], name=name, title=row["title"], similar=True,
            source=(f"Drafted from the eligibility text of {row['#nct_id']} on ClinicalTrials.gov, as copied "
                    "in Clinical-Trial-Parser (Apache-2.0), corpora/eligibility/fb-clinical-trial-parser."),
        )
        (out / f"{name}.draft.yaml").write_text(drafted.to_yaml(), encoding="utf-8")
        person = sum(c.rule is None for c in drafted.criteria)
        print(f"{row['#nct_id']}\t{len(drafted.criteria)} criteria\t{person} person_only")


def diffs() -> None:
    for path in sorted(DRAFTS.glob("*.draft.yaml")):
        name = path.name.removesuffix(".draft.yaml")
        corrected = ROOT / "corpora" / "trials" / f"{name}.yaml"
        if not corrected.is_file() or "Reviewed correction of the draft" not in corrected.read_text(encoding="utf-8"):
            continue  # the hand-written bundled trials were not corrected from their drafts
        lines = difflib.unified_diff(
            path.read_text(encoding="utf-8").splitlines(keepends=True),
            corrected.read_text(encoding="utf-8").splitlines(keepends=True),
            fromfile=f"drafts/{path.name}", tofile=f"{name}.yaml",
        )
        target = DRAFTS / f"{name}.diff"
        target.write_text("".join(lines), encoding="utf-8")
        print(f"{target.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="directory for the drafts")
    parser.add_argument("--ids", nargs="*", default=[], help="only these NCT ids")
    parser.add_argument("--diff", action="store_true", help="write draft -> corrected diffs")
    args = parser.parse_args()
    if args.out:
        draft(args.out, args.ids)
    if args.diff:
        diffs()


if __name__ == "__main__":
    main()
