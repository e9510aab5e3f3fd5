"""Compare `trial draft`'s drafts of the bundled trials with the hand-written trials.

    .venv/bin/python scripts/compare_drafts.py [--write-drafts] [--markdown]

Drafts ../shared/trial/blinatumomab-sle-eligibility.txt and
../shared/trial/n2c2-2018-cohort-criteria.txt (lexicon only, no similarity; for n2c2, silence means
not met for inclusions, as the task's text says every criterion is judged met or not met),
pairs each hand-written criterion with the drafted one (the same id, else the most
overlapping text), and reports per criterion: the draft's form (rule / partial / person),
the concepts both name, and how many of the hand-written criterion's test charts
(tests/unit/screening/cases/<trial>.yaml: met, not met and unknown cases with exact
expected statuses) the draft judges the same. ``--write-drafts`` keeps the drafts in
corpora/trials/drafts/.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "screening"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from screening_chart import build_chart  # noqa: E402

from extractor.compiler import draft_trial  # noqa: E402
from extractor.compiler.check import walk  # noqa: E402
from extractor.screening import Trial, load_trial, screen_patient  # noqa: E402
from extractor.screening.engine import PredicateNode, UnexpressedNode  # noqa: E402
from extractor.screening.language import Criterion, SilencePolicy, load_trial_file  # noqa: E402
from extractor.screening.outcome import Status  # noqa: E402

BUNDLED = {
    "blinatumomab-sle": ("blinatumomab-sle-eligibility.txt", None),
    "n2c2-2018": ("n2c2-2018-cohort-criteria.txt", SilencePolicy(inclusion=Status.NOT_MET,
                  note="The n2c2 task judges every criterion met or not met: silence is not met.")),
}


def _shared_dir() -> Path:
    for candidate in (ROOT.parent / "shared" / "trial", ROOT.parent.parent / "shared" / "trial"):
        if candidate.is_dir():
            return candidate
    raise SystemExit("../shared/trial not found")


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


def pair(hand: Criterion, drafted: Trial) -> Criterion | None:
    """The drafted criterion for a hand-written one: same id, else most shared words."""
    for criterion in drafted.criteria:
        if criterion.id == hand.id:
            return criterion
    same_type = [c for c in drafted.criteria if c.type == hand.type]
    scored = [(len(_words(hand.text) & _words(c.text)) / max(1, len(_words(hand.text))), c) for c in same_type]
    best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
    return best[1] if best[0] >= 0.3 else None


def names(criterion: Criterion) -> set[str]:
    """Concept ids and classes a criterion's rule looks for."""
    if criterion.rule is None:
        return set()
    found: set[str] = set()
    for node in walk(criterion.rule):
        if isinstance(node, PredicateNode):
            for field in ("concept", "classes"):
                found |= set(getattr(node.params, field, ()) or ())
    return found


def form(criterion: Criterion | None) -> str:
    if criterion is None:
        return "missing"
    if criterion.rule is None:
        return "person"
    if any(isinstance(node, UnexpressedNode) for node in walk(criterion.rule)):
        return "partial"
    return "rule"


def cases(trial: str) -> list[dict[str, Any]]:
    path = ROOT / "tests" / "unit" / "screening" / "cases" / f"{trial}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def compare(name: str, write: bool) -> tuple[list[dict[str, Any]], dict[str, int]]:
    source, silence = BUNDLED[name]
    text = (_shared_dir() / source).read_text(encoding="utf-8")
    draft = draft_trial(text, name=f"{name}-draft", title=f"{name} (drafted)", source=f"Drafted from {source}",
                        silence=silence)
    out_dir = ROOT / "corpora" / "trials" / "drafts"
    path = out_dir / f"{name}.draft.yaml"
    if write:
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(draft.to_yaml(), encoding="utf-8")
    else:
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"{name}.draft.yaml"
        path.write_text(draft.to_yaml(), encoding="utf-8")
    drafted = load_trial_file(path)
    hand = load_trial(name)
    by_criterion: dict[str, list[dict[str, Any]]] = {}
    for case in cases(name):
        by_criterion.setdefault(case["criterion"], []).append(case)
    rows = []
    totals = {"cases": 0, "agree": 0, "swaps": 0}
    for criterion in hand.criteria:
        twin = pair(criterion, drafted)
        agree = swaps = 0
        own = by_criterion.get(criterion.id, [])
        for case in own:
            if twin is None:
                continue
            notes, facts = build_chart(case)
            single = Trial(drafted.name, "", "", 1, "", "", (twin,), drafted.path)
            status = screen_patient(notes, facts, single, case.get("screening")).criteria[0].status.value
            agree += status == case["expect"]
            swaps += {status, case["expect"]} == {"met", "not_met"}
        totals["cases"] += len(own)
        totals["agree"] += agree
        totals["swaps"] += swaps
        shared = names(criterion) & names(twin) if twin else set()
        rows.append({
            "hand": criterion.id, "draft": twin.id if twin else "-", "form": form(twin),
            "concepts": f"{len(shared)}/{len(names(criterion))}",
            "cases": f"{agree}/{len(own)}", "swaps": swaps,
        })
    return rows, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-drafts", action="store_true", help="keep the drafts in corpora/trials/drafts/")
    parser.add_argument("--markdown", action="store_true", help="print the per-criterion tables as Markdown")
    args = parser.parse_args()
    for name in BUNDLED:
        rows, totals = compare(name, args.write_drafts)
        forms = {f: sum(r["form"] == f for r in rows) for f in ("rule", "partial", "person", "missing")}
        share = totals["agree"] / totals["cases"] if totals["cases"] else 0.0
        print(f"\n{name}: {len(rows)} hand-written criteria; draft forms {forms}; "
              f"test charts judged as the hand-written trial expects: {totals['agree']}/{totals['cases']} "
              f"({share:.3f}); met<->not_met swaps: {totals['swaps']}")
        if args.markdown:
            print("\n| hand-written | drafted | form | concepts shared | charts agreeing | swaps |")
            print("| --- | --- | --- | --- | --- | --- |")
            for r in rows:
                print(f"| {r['hand']} | {r['draft']} | {r['form']} | {r['concepts']} | {r['cases']} | {r['swaps']} |")


if __name__ == "__main__":
    main()
