"""Speed targets (the benchmark scripts) and the README blocks they render.

Run these only on an idle machine: ``scripts/figures.py run --speed``. ``--quick`` shrinks each
benchmark to a few notes to check the plumbing; its figures go to another directory, never to
``docs/figures``.
"""

from __future__ import annotations

import json
import re
import statistics
from typing import Any

from figurelib import core
from figurelib.core import Figure, Measurement, Options

MODES = ("rules", "hybrid", "model")


def _number(regex: str, text: str, what: str) -> float:
    match = re.search(regex, text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"benchmark output has no {what} (pattern {regex!r})")
    return float(match.group(1).replace(",", ""))


def _some(found: Any, failure: str) -> Any:
    """``found`` when it holds something; otherwise the run stops with ``failure``."""
    if not found:
        raise SystemExit(failure)
    return found


# ------------------------------------------------------------------ bench_extract.py
def parse_bench_extract(text: str) -> dict[str, float]:
    """``bench_extract.py``'s figures from its output."""
    return {
        "notes": _number(r"^notes: (\d+)", text, "note count"),
        "mean_words": _number(r"^notes: \d+ \(mean (\d+) words\)", text, "mean words"),
        "extractor_notes_per_s": _number(r"^extractor full pipeline\s*:\s*([\d.]+) notes/s", text, "extractor rate"),
        "medspacy_notes_per_s": _number(r"^medspaCy default\s*:\s*([\d.]+) notes/s", text, "medspaCy rate"),
        "speed_up": _number(r"^speed-up\s*:\s*([\d.]+)x", text, "speed-up"),
        "peak_rss_mb": _number(r"^peak RSS after extractor:\s*([\d.]+) MB", text, "peak RSS"),
    }


def _bench_extract(args: list[str], options: Options) -> tuple[str, dict[str, float]]:
    argv, command = core.script("bench_extract", [*args, *options.extra_args])
    return command, parse_bench_extract(core.run_text(argv))


def measure_assertion_speed(options: Options) -> Measurement:
    limit = "3" if options.quick else "60"
    commands, results = [], {}
    for mode in MODES:
        command, results[mode] = _bench_extract(["--limit", limit, "--assertion", mode], options)
        commands.append(command)
    return Measurement(commands, results)


def render_assertion_speed(figure: Figure) -> str:
    """Speed and memory of the three assertion modes."""
    results = figure["results"]

    def cells(key: str, digits: int, higher_is_better: bool) -> list[str]:
        values = [results[m][key] for m in MODES]
        marks = core.best_marks(values, digits, higher_is_better)
        return [core.bold(core.fmt(v, digits), mark) for v, mark in zip(values, marks, strict=True)]

    rows = [
        [f"`bench_extract.py` on {int(results['rules']['notes'])} notes: notes/s",
         *cells("extractor_notes_per_s", 1, True)],
        ["— medspaCy default in the same run, notes/s",
         *(core.fmt(results[m]["medspacy_notes_per_s"], 1) for m in MODES)],
        ["peak RSS after the extractor, MB", *cells("peak_rss_mb", 0, False)],
    ]
    rules = results["rules"]
    times = [rules["extractor_notes_per_s"] / results[m]["extractor_notes_per_s"] for m in MODES[1:]]
    memory = [results[m]["peak_rss_mb"] / rules["peak_rss_mb"] for m in MODES[1:]]
    over = [m for m in MODES if results[m]["peak_rss_mb"] > 400]
    lines = [
        *core.table(["measure", *MODES], rows),
        "",
        f"The learned modes take {min(times):.0f}-{max(times):.0f}x the rules' time and {min(memory):.1f}-"
        f"{max(memory):.1f}x their memory; over the 400 MB bound: {', '.join(over) or 'none'}.",
    ]
    return core.with_provenance(lines, figure)


def measure_extract_speed(options: Options) -> Measurement:
    command, results = _bench_extract(["--limit", "3"] if options.quick else [], options)
    return Measurement([command], results)


def render_extract_speed(figure: Figure) -> str:
    """The extraction benchmark against medspaCy's default pipeline, with the recorded older code beside it."""
    now = figure["results"]
    date = figure["measured"]["date"][:10]
    label = f"all {core.thousands(now['notes'])} notes (mean {now['mean_words']:.0f} words), {date}"
    rows = [[label,
             f"{now['extractor_notes_per_s']:.1f} notes/s", f"{now['medspacy_notes_per_s']:.1f} notes/s",
             core.bold(f"{now['speed_up']:.1f}x"), core.bold(f"{now['peak_rss_mb']:.0f} MB")]]
    comparisons = []
    for baseline in figure.get("baselines", {}).values():
        old = baseline["results"]
        rows.append([baseline["label"], f"{old['extractor_notes_per_s']:.1f} notes/s",
                     f"{old['medspacy_notes_per_s']:.1f} notes/s", f"{old['speed_up']:.1f}x",
                     f"{old['peak_rss_mb']:.0f} MB"])
        change = now["extractor_notes_per_s"] / old["extractor_notes_per_s"] - 1
        comparisons.append(
            f"against {baseline['short']}, {abs(change):.0%} {'faster' if change >= 0 else 'slower'} "
            f"({old['extractor_notes_per_s']:.1f} -> {now['extractor_notes_per_s']:.1f} notes/s)"
        )
    met = {True: "met", False: "not met"}
    lines = [
        *core.table(["run", "extractor, full pipeline (rules assertion)",
                "medspaCy default (PyRuSH + TargetMatcher + ConText, same target rules)", "ratio",
                "peak RSS after the extractor"], rows),
        "",
        f"Goals: at least 10x medspaCy's default ({now['speed_up']:.1f}x: {met[now['speed_up'] >= 10]}), at most "
        f"400 MB ({now['peak_rss_mb']:.0f} MB: {met[now['peak_rss_mb'] <= 400]})"
        + "".join(f"; {c}" for c in comparisons) + ".",
    ]
    return core.with_provenance(lines, figure)


# ------------------------------------------------------------------ bench_batch.py
BATCH_RUN = re.compile(
    r"^(?:round (?P<round>\d+): )?(?P<workers>\d+) worker\(s\):\s+(?P<rate>[\d.]+) notes/s end to end = "
    r"(?P<per_worker>[\d.]+) per worker \((?P<ratio>[\d.]+)x medspaCy\); (?P<seconds>\d+) s = extract "
    r"(?P<extract>\d+) s \+ screen (?P<screen>\d+) s; (?P<patients>\d+) patients; peak RSS per worker "
    r"(?P<worker_rss>\d+) MB, main process (?P<main_rss>\d+) MB; main process CPU (?P<main_ms>[\d.]+) ms a note "
    r"(?:\(after its (?P<setup>[\d.]+) s set-up\)|\([^)]*\)); output (?P<output_mb>[\d.]+) MB per 1,000 notes$",
    re.MULTILINE,
)
PROJECTION = re.compile(r"^projection, [\d,]+ notes on (?P<cores>\d+) cores: [\d,]+ notes/s = (?P<hours>[\d.]+) h",
                        re.MULTILINE)


def parse_bench_batch(text: str) -> dict[str, Any]:
    """``bench_batch.py``'s figures: every round's runs, the median 2-worker speed-up, the projections."""
    rounds: dict[int, dict[str, Any]] = {}
    for match in BATCH_RUN.finditer(text):
        run = {k: (None if v is None else float(v)) for k, v in match.groupdict().items() if k not in ("round",
                                                                                                      "workers")}
        rounds.setdefault(int(match["round"] or 1), {})[match["workers"]] = run
    _some(rounds, "bench_batch.py printed no worker run")
    return {
        "notes": _number(r"^archive: (\d+) notes", text, "archive size"),
        "distinct": _number(r"^archive: \d+ notes, (\d+) distinct", text, "distinct texts"),
        "medspacy_notes_per_s": _number(r"^medspaCy default pipeline:\s+([\d.]+) notes/s", text, "medspaCy rate"),
        "rounds": [rounds[k] for k in sorted(rounds)],
        "speed_up": _number(r"^2-worker speed-up: ([\d.]+)x", text, "speed-up") if "2-worker" in text else None,
        "projected_hours": {m["cores"]: float(m["hours"]) for m in PROJECTION.finditer(text)},
    }


def measure_batch_speed(options: Options) -> Measurement:
    size = ["--notes", "40", "--baseline-notes", "5"] if options.quick else ["--notes", "8000"]
    argv, command = core.script("bench_batch", [*size, "--repeat", "1", *options.extra_args])
    return Measurement([command], parse_bench_batch(core.run_text(argv)))


def _median_round(results: dict[str, Any]) -> dict[str, Any]:
    """The round whose 2-worker speed-up is nearest the median, as the script projects from."""
    rounds = results["rounds"]
    paired = [r for r in rounds if "1" in r and "2" in r]
    if not paired:
        return rounds[0]
    ups = [r["2"]["rate"] / r["1"]["rate"] for r in paired]
    median = statistics.median(ups)
    return paired[min(range(len(paired)), key=lambda i: abs(ups[i] - median))]


def render_batch_speed(figure: Figure) -> str:
    """The batch benchmark: end-to-end and per-worker rates, speed-up, main-process cost, memory, projections."""
    results = figure["results"]
    middle = _median_round(results)
    one, two = middle.get("1"), middle.get("2")
    runs = [one, two]
    met = {True: "met", False: "not met"}

    def each(render: Any, strong: bool = False) -> list[str]:
        return [("" if run is None else core.bold(render(run), strong and run is two)) for run in runs]

    speed_up, hours = results["speed_up"], results["projected_hours"]
    setup = (two or one)["setup"]
    rows = [
        [f"end to end (extract + screen, {core.thousands((one or two)['patients'])} patients)",
         *each(lambda r: f"{r['rate']:.1f} notes/s ({r['seconds']:.0f} s = {r['extract']:.0f} + "
               f"{r['screen']:.0f})"), ""],
        [f"per worker, against medspaCy's default ({results['medspacy_notes_per_s']:.1f} notes/s, same vocabulary)",
         *each(lambda r: f"{r['per_worker']:.1f} ({r['ratio']:.1f}x)"), ""],
        ["2-worker speed-up", "", core.bold(f"{speed_up:.2f}x") if speed_up else "",
         f">= 1.9x: {met[bool(speed_up) and speed_up >= 1.9]}"],
        ["main process CPU per note" + (f" (after its {setup:.1f} s set-up)" if setup is not None else ""),
         *each(lambda r: f"{r['main_ms']:.3f} ms", strong=True), f"<= 0.1 ms: {met[(two or one)['main_ms'] <= 0.1]}"],
        ["peak RSS: main process / largest worker",
         *[("" if r is None else f"{r['main_rss']:.0f} MB / " + core.bold(f"{r['worker_rss']:.0f} MB", r is two))
           for r in runs],
         f"main <= 300 MB: {met[(two or one)['main_rss'] <= 300]}; worker <= 400 MB: "
         f"{met[(two or one)['worker_rss'] <= 400]}"],
        ["output per 1,000 notes", *each(lambda r: f"{r['output_mb']:.1f} MB"), ""],
    ]
    if "64" in hours:
        rows.append(["projected 10M notes on 64 cores (assumptions printed by the script)", "",
                     core.bold(f"{hours['64']:.2f} h") + (f" (16 cores: {hours['16']:.2f} h)" if "16" in hours else ""),
                     f"< 1 h: {met[hours['64'] < 1]}"])
    lines = [
        f"Archive: {core.thousands(results['notes'])} notes, {core.thousands(results['distinct'])} distinct texts; "
        f"{len(results['rounds'])} round(s); command `{figure['commands'][0]}`.",
        "",
        *core.table(["", "1 worker", "2 workers", "goal"], rows),
    ]
    return core.with_provenance(lines, figure)


# ------------------------------------------------------------------ bench_sentences.py
SPLITTER = re.compile(
    r"^\s+(?P<name>.+?)\s+exact (?P<exact>\d+)/(?P<cases>\d+)\s+starts P (?P<p>[\d.]+) R (?P<r>[\d.]+) "
    r"F1 (?P<f1>[\d.]+)\s+speed\s+(?P<rate>[\d.]+) notes/s$",
    re.MULTILINE,
)
SPLITTER_LABELS = {
    "extractor_sentences": "`extractor_sentences` (regex rules, `patterns/sentences.yaml`)",
    "PyRuSH (medspaCy default)": "PyRuSH (medspaCy default)",
}


def parse_bench_sentences(text: str) -> dict[str, Any]:
    splitters = [
        {"name": m["name"], "exact": int(m["exact"]), "cases": int(m["cases"]), "precision": float(m["p"]),
         "recall": float(m["r"]), "f1": float(m["f1"]), "notes_per_s": float(m["rate"])}
        for m in SPLITTER.finditer(text)
    ]
    if not splitters:
        raise SystemExit("bench_sentences.py printed no splitter line")
    return {"notes": _number(r"^speed: (\d+) notes", text, "notes timed"), "splitters": splitters}


def measure_sentence_split(options: Options) -> Measurement:
    argv, command = core.script("bench_sentences", [*(["--limit", "5"] if options.quick else []), *options.extra_args])
    return Measurement([command], parse_bench_sentences(core.run_text(argv)))


def render_sentence_split(figure: Figure) -> str:
    """Our sentence splitter against PyRuSH: the sentence phrase cases and the speed of splitting alone."""
    splitters = figure["results"]["splitters"]

    def marked(values: list[float], text: list[str]) -> list[str]:
        return [core.bold(t, m) for t, m in zip(text, core.best_marks(values, 3), strict=True)]

    exact = marked([s["exact"] for s in splitters], [f"{s['exact']} / {s['cases']}" for s in splitters])
    starts = marked([s["f1"] for s in splitters],
                    [f"{s['precision']:.3f} / {s['recall']:.3f} / {s['f1']:.3f}" for s in splitters])
    rates = marked([s["notes_per_s"] for s in splitters],
                   [core.thousands(s["notes_per_s"]) if s["notes_per_s"] >= 100 else f"{s['notes_per_s']:.1f}"
                    for s in splitters])
    rows = [[SPLITTER_LABELS.get(s["name"], s["name"]), exact[i], starts[i], rates[i]] for i, s in enumerate(splitters)]
    lines = [
        *core.table(["splitter", "cases exactly right", "sentence starts P / R / F1",
                f"notes/s (splitting alone, {int(figure['results']['notes'])} notes)"], rows),
    ]
    return core.with_provenance(lines, figure)


# ------------------------------------------------------------------ load_service.py
def measure_service_load(options: Options) -> Measurement:
    size = ["--requests", "5", "--concurrency", "1"] if options.quick else []
    argv, command = core.script("load_service", [*size, "--json", *options.extra_args])
    return Measurement([command], json.loads(core.run_text(argv)))


def render_service_load(figure: Figure) -> str:
    """The service's bounded load test: throughput and latency with one pipeline."""
    r = figure["results"]
    lines = [
        f"{r['pipelines']} pipeline(s), {r['concurrency']} concurrent clients, {r['requests']} requests of "
        f"{r['notes_per_request']} notes, {r['errors']} errors: **{r['requests_per_s']:.1f} requests/s, p50 "
        f"{core.thousands(r['p50_ms'])} ms, p95 {core.thousands(r['p95_ms'])} ms** (each request waits behind the "
        f"others for the one pipeline). Start-up to a ready `/healthz`: {r['startup_s']:.0f} s.",
    ]
    return core.with_provenance(lines, figure)


# ------------------------------------------------------------------ bench_stages.py
def parse_bench_stages(text: str) -> dict[str, Any]:
    """``bench_stages.py``'s CPU seconds per stage, slowest first, with the token and fact counts."""
    lines = re.findall(r"^(\w+)\s+([\d.]+) s\s+[\d.]+%$", text, re.MULTILINE)
    return {
        "notes": _number(r"^notes: (\d+)", text, "note count"),
        "tokens": _number(r"tokens ([\d,]+);", text, "token count"),
        "facts": _number(r"facts ([\d,]+)$", text, "fact count"),
        "stages": [
            {"stage": name, "seconds": float(seconds)}
            for name, seconds in _some(lines, "bench_stages.py printed no stage line")
        ],
        "notes_per_cpu_s": _number(r"^total\s+[\d.]+ s\s+\(([\d.]+) notes per CPU second\)", text, "total"),
    }


def measure_stage_speed(options: Options) -> Measurement:
    argv, command = core.script("bench_stages", ["--limit", "5" if options.quick else "300", *options.extra_args])
    return Measurement([command], parse_bench_stages(core.run_text(argv)))


def render_stage_speed(figure: Figure) -> str:
    """CPU seconds per pipeline stage, so a slower stage shows which one it is."""
    r = figure["results"]
    total = sum(s["seconds"] for s in r["stages"])
    rows = [[f"`{s['stage']}`", f"{s['seconds']:.3f}", f"{100 * s['seconds'] / total:.0f}%"] for s in r["stages"]]
    lines = [
        *core.table(["stage", "CPU seconds", "share"], rows),
        "",
        f"{int(r['notes'])} notes, {core.thousands(r['tokens'])} tokens, {core.thousands(r['facts'])} facts: "
        f"{total:.2f} CPU seconds, {r['notes_per_cpu_s']:.1f} notes per CPU second.",
    ]
    return core.with_provenance(lines, figure)


TARGETS = tuple(  # none is cheap: each wants an idle machine
    core.Target(name, "speed", False, about, measure)
    for name, about, measure in (
        ("assertion_speed", "bench_extract.py on 60 notes in each assertion mode", measure_assertion_speed),
        ("extract_speed", "bench_extract.py on every MTSamples note, against medspaCy", measure_extract_speed),
        ("batch_speed", "bench_batch.py: extractor batch with 1 and 2 workers", measure_batch_speed),
        ("sentence_split", "bench_sentences.py: our splitter against PyRuSH", measure_sentence_split),
        ("service_load", "load_service.py: POST /v1/screen under 4 clients", measure_service_load),
        ("stage_speed", "bench_stages.py: CPU seconds per pipeline stage on 300 notes", measure_stage_speed),
    )
)
BLOCKS = (
    core.Block("assertion_speed", ("assertion_speed",), render_assertion_speed),
    core.Block("extract_speed", ("extract_speed",), render_extract_speed),
    core.Block("batch_speed", ("batch_speed",), render_batch_speed),
    core.Block("sentence_split", ("sentence_split",), render_sentence_split),
    core.Block("service_load", ("service_load",), render_service_load),
    core.Block("stage_speed", ("stage_speed",), render_stage_speed),
)
