"""Accuracy targets (evaluate commands and the trial-compiler scorers) and the README blocks they render.

These run on a loaded machine as well as an idle one: their figures do not depend on speed.
"""

from __future__ import annotations

from typing import Any

from figurelib.core import (
    Block,
    Figure,
    Measurement,
    Options,
    Target,
    best_marks,
    bold,
    extractor_json,
    fmt,
    shown,
    table,
    thousands,
    with_provenance,
)

HELD_BACK_PATIENTS = "P04,P08,P12,P16,P20,P24,P28,P32"
MODES = ("rules", "hybrid", "model")
TRIALS = ("blinatumomab-sle", "n2c2-2018")
OVERALL = "Overall verdict: gold (rows) x predicted"
KINDS_TABLE = "Spans per kind"


def _get(metrics: dict[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    return None if value is None else float(value)


def _evaluate(args: list[str], commands: list[str]) -> dict[str, Any]:
    commands.append(shown(args))
    return extractor_json(args)


# ------------------------------------------------------------------ dev corpus: verdicts and facts
def _candidates(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Gold candidates found (and how many were called needs_review instead); gold candidates and
    needs_review patients called ineligible, the costliest error."""
    by_gold = {r["gold"]: r for r in rows}
    candidate = by_gold.get("candidate", {})
    kept = [by_gold[g] for g in ("candidate", "needs_review") if g in by_gold]
    return {
        "found": int(candidate.get("candidate", 0)),
        "of": int(candidate.get("total", 0)),
        "needs_review": int(candidate.get("needs_review", 0)),
        "called_ineligible": sum(int(r["ineligible"]) for r in kept),
        "kept_of": sum(int(r["total"]) for r in kept),
    }


def measure_dev_corpus(options: Options) -> Measurement:
    commands: list[str] = []
    results: dict[str, Any] = {"screen": {}}
    for trial in TRIALS:
        report = _evaluate(["evaluate", "screen", "--gold", f"corpora/dev/verdicts.{trial}.jsonl",
                            "--notes", "corpora/dev/notes.jsonl"], commands)
        metrics = {k: v for k, v in report["metrics"].items() if not k.startswith("criterion.")}
        judged = len(report["metrics"]) - len(metrics)  # one accuracy per criterion
        results["screen"][trial] = {"metrics": metrics, "candidates": _candidates(report["tables"][OVERALL]),
                                    "criteria": judged * int(metrics.get("patients", 0))}
    results["facts"] = _evaluate(["evaluate", "facts", "--gold", "corpora/dev"], commands)["metrics"]
    results["facts_all"] = _evaluate(["evaluate", "facts", "--gold", "corpora/dev", "--score-all"], commands)["metrics"]
    return Measurement(commands, results)


DEV_FACTS_SHOWN = (
    ("overlap F1", "overlap.all.f1"), ("exact F1", "exact.all.f1"),
    ("assertion accuracy", "attribute.assertion.accuracy"),
    ("canonical value", "attribute.canonical_value.accuracy"), ("unit", "attribute.unit.accuracy"),
    ("date", "attribute.date.accuracy"), ("experiencer", "attribute.experiencer.accuracy"),
    ("medication status", "attribute.med_status.accuracy"), ("response", "attribute.response.accuracy"),
)


DEV_COLUMNS = (  # recorded, in order
    ("before_issue_14", "before issue 14"), ("first_pass", "first pass"), ("second_pass", "second pass"),
)


def render_dev_verdicts(dev: Figure) -> str:
    """Issue 14's verdict table (the recorded earlier code, now, the target) and the n2c2 and facts figures."""
    labels = [label for name, label in DEV_COLUMNS if name in dev["baselines"]] + ["now"]
    runs = [dev["baselines"][name]["results"] for name, _ in DEV_COLUMNS if name in dev["baselines"]]
    runs.append(dev["results"])
    blin = [run["screen"]["blinatumomab-sle"] for run in runs]
    now = blin[-1]

    def evidence(metrics: dict[str, Any]) -> str:
        return " / ".join(fmt(_get(metrics, f"evidence_{m}")) for m in ("precision", "recall", "f1"))

    def found(c: dict[str, int]) -> str:
        return f"{c['found']} of {c['of']}" + (f" ({c['needs_review']} needs_review)" if c.get("needs_review") else "")

    nm = now["metrics"]
    reached = {
        "criterion accuracy": nm["criterion_accuracy"] >= 0.97,
        "overall-verdict accuracy": nm["overall_accuracy"] >= 0.93,
        "evidence F1": nm["evidence_f1"] >= 0.85,
        "every gold candidate found": now["candidates"]["found"] == now["candidates"]["of"],
        "no candidate or needs_review patient called ineligible": now["candidates"]["called_ineligible"] == 0,
    }
    lines = table(
        ["blinatumomab-sle, dev", *labels, "target"],
        [
            ["criterion accuracy", *(fmt(b["metrics"]["criterion_accuracy"]) for b in blin), ">= 0.97"],
            ["overall-verdict accuracy", *(fmt(b["metrics"]["overall_accuracy"]) for b in blin), ">= 0.93"],
            ["evidence precision / recall / F1", *(evidence(b["metrics"]) for b in blin), "F1 >= 0.85"],
            ["gold candidates found", *(found(b["candidates"]) for b in blin), "all"],
            ["candidates and needs_review called ineligible",
             *(f"{b['candidates']['called_ineligible']} of {b['candidates']['kept_of']}" for b in blin), "0"],
        ],
    )

    def chain(label: str, values: list[float | None]) -> str:
        """``label a -> b -> c`` over the values recorded; one value alone when it never changed."""
        shown = [fmt(v) for v in values if v is not None]
        shown = [v for k, v in enumerate(shown) if k == 0 or v != shown[k - 1]]
        return f"{label} {' -> '.join(shown)}" + (" (unchanged)" if len(shown) == 1 and len(values) > 1 else "")

    n2c2 = [run["screen"]["n2c2-2018"]["metrics"] for run in runs]
    facts = [run["facts"] for run in runs]
    errors = now.get("criteria")
    lines += [
        "",
        "n2c2-2018 (dev): " + ", ".join(
            chain(label, [_get(m, key) for m in n2c2])
            for label, key in (("criterion", "criterion_accuracy"), ("overall", "overall_accuracy"),
                               ("evidence precision", "evidence_precision"), ("recall", "evidence_recall"))
        ) + ". Facts (dev, `evaluate facts`): " + ", ".join(
            chain(label, [_get(f, key) for f in facts]) for label, key in DEV_FACTS_SHOWN
        ) + ".",
        "",
        "Targets reached: " + (", ".join(k for k, ok in reached.items() if ok) or "none")
        + "; not reached: " + (", ".join(k for k, ok in reached.items() if not ok) or "none")
        + (f". Criterion errors left on blinatumomab-sle: {round((1 - nm['criterion_accuracy']) * errors)}"
           if errors else "") + ".",
    ]
    return with_provenance(lines, dev)


# ------------------------------------------------------------------ MTSamples gold
MTS_KINDS = ("condition", "infection", "medication", "lab", "vital", "procedure", "demographic", "social", "score",
             "vaccine")
MTS_ATTRIBUTES = (
    ("concept", "concept"), ("assertion", "assertion"), ("experiencer", "experiencer"),
    ("temporality", "temporality"), ("infection state", "infection_state"), ("medication status", "med_status"),
    ("medication response", "response"), ("value", "value"), ("value_high (ranges)", "value_high"),
    ("canonical value", "canonical_value"), ("unit", "unit"), ("canonical unit", "canonical_unit"), ("date", "date"),
)
SPLITS = ("dev", "test")


def measure_mtsamples(options: Options) -> Measurement:
    commands: list[str] = []
    facts = {split: _evaluate(["evaluate", "facts", "--gold", "corpora/mtsamples", "--split", split], commands)
             for split in SPLITS}
    assertion = {
        split: _evaluate(["evaluate", "assertion", "--tsv", f"corpora/assertion/mtsamples_{split}.tsv"], commands)[
            "metrics"]
        for split in SPLITS
    }
    kinds = {
        split: {r["kind"]: {"gold": r["gold"], "predicted": r["predicted"]}
                for r in facts[split]["tables"][KINDS_TABLE]}
        for split in SPLITS
    }
    return Measurement(commands, {"facts": {s: facts[s]["metrics"] for s in SPLITS}, "kinds": kinds,
                                  "assertion": assertion})


def _prf(metrics: dict[str, Any], kind: str, span: str = "overlap") -> str:
    return " / ".join(fmt(_get(metrics, f"{span}.{kind}.{m}")) for m in ("precision", "recall", "f1"))


def render_mtsamples_gold_counts(mts: Figure) -> str:
    """Gold facts per kind and split, from the evaluator's gold counts."""
    kinds = {s: {k: v for k, v in mts["results"]["kinds"][s].items() if not k.startswith("all")} for s in SPLITS}
    totals = {k: sum(int(kinds[s].get(k, {}).get("gold", 0)) for s in SPLITS) for k in kinds["dev"] | kinds["test"]}
    order = sorted((k for k, n in totals.items() if n), key=lambda k: (-totals[k], k))
    rows = [[k, *(thousands(kinds[s].get(k, {}).get("gold", 0)) for s in SPLITS), thousands(totals[k])] for k in order]
    rows.append(["all", *(thousands(sum(int(v["gold"]) for v in kinds[s].values())) for s in SPLITS),
                 thousands(sum(totals.values()))])
    return with_provenance(table(["kind", "dev", "test", "total"], rows, ["---", "---:", "---:", "---:"]), mts)


def _baseline(figure: Figure, name: str) -> dict[str, Any]:
    return figure["baselines"][name]["results"]


def render_mtsamples_kinds(mts: Figure) -> str:
    """Overlap P / R / F1 per kind, before the accuracy work and now, on both splits."""
    before, now = _baseline(mts, "gold_landed_e5d2bf1")["facts"], mts["results"]["facts"]
    header = ["kind"] + [f"{s} {when} P / R / F1" for s in SPLITS for when in ("before", "now")]
    rows = [[kind] + [_prf(run[s], kind) for s in SPLITS for run in (before, now)] for kind in MTS_KINDS]
    rows.append(["**all (micro)**"] + [_prf(run[s], "all") for s in SPLITS for run in (before, now)])
    rows.append(["all, exact spans F1"] + [fmt(_get(run[s], "exact.all.f1")) for s in SPLITS for run in (before, now)])
    recall = ", ".join(
        f"{kind}s {' / '.join(fmt(_get(now[s], f'overlap.{kind}.recall')) for s in SPLITS)}"
        for kind in ("condition", "procedure")
    )
    lines = [*table(header, rows), "", f"Overlap recall now (dev / test): {recall}."]
    return with_provenance(lines, mts)


def render_mtsamples_attributes(mts: Figure) -> str:
    """Attribute accuracy of the overlap-matched facts (facts scored in brackets)."""
    before, now = _baseline(mts, "gold_landed_e5d2bf1")["facts"], mts["results"]["facts"]

    def cell(metrics: dict[str, Any], attribute: str) -> str:
        scored = _get(metrics, f"attribute.{attribute}.scored")
        return f"{fmt(_get(metrics, f'attribute.{attribute}.accuracy'))} ({int(scored or 0)})"

    header = ["attribute"] + [f"{s} {when}" for s in SPLITS for when in ("before", "now")]
    rows = [[label] + [cell(run[s], key) for s in SPLITS for run in (before, now)] for label, key in MTS_ATTRIBUTES]
    return with_provenance(table(header, rows), mts)


TSV_ACCURACY = ("negation.accuracy", "temporality.accuracy", "experiencer.accuracy")
TSV_F1 = ("negation.negated.f1", "temporality.historical.f1", "temporality.hypothetical.f1",
          "experiencer.non_patient.f1")


def tsv_cell(metrics: dict[str, Any], marks: dict[str, bool] | None = None) -> str:
    """Accuracy of negation / temporality / experiencer; F1 of Negated / Historical / Hypothetical / non-patient."""
    marks = marks or {}

    def part(keys: tuple[str, ...]) -> str:
        return " / ".join(bold(fmt(_get(metrics, k)), marks.get(k, False)) for k in keys)

    return f"{part(TSV_ACCURACY)}; {part(TSV_F1)}"


def render_mtsamples_assertion_tsv(mts: Figure) -> str:
    """Sentence-level assertion on the TSVs derived from the gold, rules, before and now."""
    before, now = _baseline(mts, "gold_landed_e5d2bf1")["assertion"], mts["results"]["assertion"]
    rows = [[f"mtsamples_{s} ({int(now[s]['mentions'])} rows)", tsv_cell(before[s]), tsv_cell(now[s])] for s in SPLITS]
    return with_provenance(table(["TSV", "before (`e5d2bf1`)", "now"], rows), mts)


VOCABULARY_KINDS = ("all", "condition", "infection", "medication", "lab", "vital", "procedure")


def render_vocabulary_effect(mts: Figure, dev: Figure) -> str:
    """Issue 15's table on MTSamples dev (the vocabulary of 300 concepts, the large vocabulary, now: precision /
    recall per kind), F1 and concept accuracy across the three, and the dev-corpus figures scoped to its gold ids."""
    runs = [mts["baselines"][name]["results"]["facts"]["dev"] for name in ("vocabulary_8e760c5",
                                                                           "large_vocabulary_d891565")]
    runs.append(mts["results"]["facts"]["dev"])

    def across(key: str) -> str:
        return " → ".join(fmt(_get(run, key), missing="-") for run in runs)

    rows = [[kind] + [" / ".join(fmt(_get(run, f"overlap.{kind}.{m}"), missing="-") for m in ("precision", "recall"))
                      for run in runs] for kind in VOCABULARY_KINDS]
    study = int(mts["results"]["kinds"]["dev"].get("study", {}).get("predicted", 0))
    facts, facts_all = dev["results"]["facts"], dev["results"]["facts_all"]
    scored = " → ".join(thousands(_get(run, "attribute.concept.scored") or 0) if _get(run, "attribute.concept.scored")
                        else "-" for run in runs)
    lines = [
        *table(["MTSamples dev, P / R", "300 concepts", "large vocabulary", "now"], rows),
        "",
        f"F1 all {across('overlap.all.f1')} (exact spans {across('exact.all.f1')}); concept accuracy on matched "
        f"facts {across('attribute.concept.accuracy')} (over {scored} matched facts). "
        f"Study statements predicted on the dev split (not annotated in that gold: false positives there): {study}. "
        f"On `corpora/dev`, scoped to its ids: overlap precision {fmt(_get(facts, 'overlap.all.precision'))}, "
        f"recall {fmt(_get(facts, 'overlap.all.recall'))}, concept accuracy "
        f"{fmt(_get(facts, 'attribute.concept.accuracy'))} ({thousands(_get(facts, 'outside_gold') or 0)} facts of "
        f"concepts outside that gold set aside); with `--score-all` overlap precision is "
        f"{fmt(_get(facts_all, 'overlap.all.precision'))}.",
    ]
    return with_provenance(lines, mts, dev)


# ------------------------------------------------------------------ learned assertion
def assertion_commands(mode: str) -> dict[str, list[str]]:
    """The learned-assertion table's commands, in one mode."""
    return {
        "mtsamples_test_facts": ["evaluate", "facts", "--gold", "corpora/mtsamples", "--split", "test"],
        "mtsamples_test_tsv": ["evaluate", "assertion", "--tsv", "corpora/assertion/mtsamples_test.tsv"],
        "dev_facts": ["evaluate", "facts", "--gold", "corpora/dev", "--patients", HELD_BACK_PATIENTS],
        "dev_tsv": ["evaluate", "assertion", "--tsv", "corpora/assertion/dev_heldback.tsv"],
        "phrase_tsv": ["evaluate", "assertion", "--tsv", "corpora/assertion/phrase_heldback.tsv"],
    }


def measure_learned_assertion(options: Options) -> Measurement:
    commands: list[str] = []
    results: dict[str, Any] = {}
    for mode in MODES:
        results[mode] = {key: _evaluate([*args, "--assertion", mode], commands)["metrics"]
                         for key, args in assertion_commands(mode).items()}
    return Measurement(commands, results)


FACT_ATTRIBUTES = ("attribute.assertion.accuracy", "attribute.temporality.accuracy", "attribute.experiencer.accuracy")
LEARNED_ROWS = (
    ("mtsamples_test_facts", "**MTSamples test**, facts attributes on {scored} matched facts: assertion / temporality "
     "/ experiencer accuracy (`evaluate facts --gold corpora/mtsamples --split test`)"),
    ("mtsamples_test_tsv", "**MTSamples test**, {mentions} TSV rows (`evaluate assertion --tsv "
     "corpora/assertion/mtsamples_test.tsv`)"),
    ("dev_facts", "held-back dev, facts attributes on {scored} matched facts (`evaluate facts --gold corpora/dev "
     f"--patients {HELD_BACK_PATIENTS}`)"),
    ("dev_tsv", "held-back dev, {mentions} TSV rows (`evaluate assertion --tsv corpora/assertion/dev_heldback.tsv`)"),
    ("phrase_tsv", "held-back phrase cases, {mentions} TSV rows (`evaluate assertion --tsv "
     "corpora/assertion/phrase_heldback.tsv`)"),
)
COMPARED = (  # the MTSamples test figures the verdict sentence weighs, hybrid against rules
    ("mtsamples_test_facts", "attribute.assertion.accuracy", "fact assertion accuracy"),
    ("mtsamples_test_facts", "attribute.temporality.accuracy", "fact temporality accuracy"),
    ("mtsamples_test_facts", "attribute.experiencer.accuracy", "fact experiencer accuracy"),
    ("mtsamples_test_tsv", "negation.accuracy", "TSV negation accuracy"),
    ("mtsamples_test_tsv", "negation.negated.f1", "Negated F1"),
    ("mtsamples_test_tsv", "temporality.historical.f1", "Historical F1"),
    ("mtsamples_test_tsv", "temporality.hypothetical.f1", "Hypothetical F1"),
    ("mtsamples_test_tsv", "experiencer.non_patient.f1", "non-patient F1"),
)


def _marks(results: dict[str, Any], key: str, metrics: tuple[str, ...]) -> dict[str, dict[str, bool]]:
    """Per mode, which metrics of one row are the best of the three modes."""
    marks: dict[str, dict[str, bool]] = {mode: {} for mode in MODES}
    for metric in metrics:
        for mode, mark in zip(MODES, best_marks([_get(results[m][key], metric) for m in MODES]), strict=True):
            marks[mode][metric] = mark
    return marks


def render_learned_assertion(figure: Figure) -> str:
    """The three assertion modes on the held-back sets, best of each figure in bold, and hybrid against rules."""
    results = figure["results"]
    rows = []
    for key, label in LEARNED_ROWS:
        rules = results["rules"][key]
        text = label.format(scored=int(_get(rules, "attribute.assertion.scored") or 0),
                            mentions=int(_get(rules, "mentions") or 0))
        if key.endswith("_facts"):
            marks = _marks(results, key, FACT_ATTRIBUTES)
            cells = [" / ".join(bold(fmt(_get(results[m][key], a)), marks[m][a]) for a in FACT_ATTRIBUTES)
                     for m in MODES]
        else:
            marks = _marks(results, key, TSV_ACCURACY + TSV_F1)
            cells = [tsv_cell(results[m][key], marks[m]) for m in MODES]
        rows.append([text, *cells])
    higher, lower, equal = [], [], []
    for key, metric, label in COMPARED:
        hybrid, rules = (round(_get(results[m][key], metric) or 0.0, 3) for m in ("hybrid", "rules"))
        pair = f"{label} {hybrid:.3f} vs {rules:.3f}"
        (higher if hybrid > rules else lower if hybrid < rules else equal).append(pair)
    lines = [
        *table(["measure (command)", *MODES], rows),
        "",
        "On the MTSamples test split, hybrid against rules: higher on " + (", ".join(higher) or "nothing")
        + "; lower on " + (", ".join(lower) or "nothing") + "; equal on " + (", ".join(equal) or "nothing") + ".",
    ]
    return with_provenance(lines, figure)


TARGETS = (
    Target("dev_corpus", "accuracy", True, "verdicts and facts on corpora/dev (evaluate screen, evaluate facts)",
           measure_dev_corpus),
    Target("mtsamples", "accuracy", True, "facts and sentence-level assertion on the MTSamples gold, both splits",
           measure_mtsamples),
    Target("learned_assertion", "accuracy", False,
           "the three assertion modes on the held-back sets (needs the model extra; minutes)",
           measure_learned_assertion),
)
BLOCKS = (
    Block("dev_verdicts", ("dev_corpus",), render_dev_verdicts),
    Block("vocabulary_effect", ("mtsamples", "dev_corpus"), render_vocabulary_effect),
    Block("mtsamples_gold_counts", ("mtsamples",), render_mtsamples_gold_counts),
    Block("mtsamples_kinds", ("mtsamples",), render_mtsamples_kinds),
    Block("mtsamples_attributes", ("mtsamples",), render_mtsamples_attributes),
    Block("mtsamples_assertion_tsv", ("mtsamples",), render_mtsamples_assertion_tsv),
    Block("learned_assertion", ("learned_assertion",), render_learned_assertion),
)
