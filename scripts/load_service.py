"""A bounded load test of POST /v1/screen on loopback: requests/s and p50/p95 latency.

Starts ``extractor serve`` on 127.0.0.1 (a free port, a random bearer token) in a child
process, waits for /healthz, sends a few warm-up requests, then screens one typical
5-note patient over and over from ``--concurrency`` clients until ``--requests`` are
done or ``--max-seconds`` have passed, whichever comes first, and stops the server.
Only 127.0.0.1 is ever contacted; every count and time is capped.

    .venv/bin/python scripts/load_service.py                  # 200 requests, 4 clients, <= 60 s
    .venv/bin/python scripts/load_service.py --requests 50 --concurrency 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

HOST = "127.0.0.1"  # never anything else
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NOTES = ROOT / "tests" / "service" / "data" / "five_notes.jsonl"
MAX_REQUESTS = 5_000
MAX_CONCURRENCY = 16
MAX_SECONDS = 600.0
STARTUP_SECONDS = 180.0
WARM_UP = 3


def _bounded(kind: Callable[[str], float], low: float, high: float) -> Callable[[str], float]:
    """An argparse type: ``kind(raw)`` within [low, high]."""

    def parse(raw: str) -> float:
        value = kind(raw)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_server(port: int, token: str, pipelines: int) -> subprocess.Popen[bytes]:
    """``extractor serve`` in a child process, bound to loopback, its log discarded."""
    command = [
        sys.executable, "-c", "from extractor.cli.app import main; main()",
        "serve", "--host", HOST, "--port", str(port), "--pipelines", str(pipelines), "--log-level", "warning",
    ]
    env = {**os.environ, "EXTRACTOR_SERVICE_TOKEN": token}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until_healthy(base: str, server: subprocess.Popen[bytes]) -> float:
    """Seconds until /healthz answered (the pipeline is loaded); fails past STARTUP_SECONDS."""
    started = time.perf_counter()
    while time.perf_counter() - started < STARTUP_SECONDS:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode} before it was ready")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server was not ready within {STARTUP_SECONDS:.0f} s")


async def run_load(
    base: str, token: str, body: dict[str, object], requests: int, concurrency: int, max_seconds: float
) -> tuple[list[float], int, float]:
    """Latencies (s) of the successful requests, the error count, and the elapsed time."""
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    errors = 0
    issued = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        for _ in range(WARM_UP):
            (await client.post("/v1/screen", json=body)).raise_for_status()
        started = time.perf_counter()
        deadline = started + max_seconds

        async def worker() -> None:
            nonlocal errors, issued
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                sent = time.perf_counter()
                response = await client.post("/v1/screen", json=body)
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - sent)
                else:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, errors, time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=_bounded(int, 1, MAX_REQUESTS), default=200)
    parser.add_argument("--concurrency", type=_bounded(int, 1, MAX_CONCURRENCY), default=4)
    parser.add_argument("--max-seconds", type=_bounded(float, 1, MAX_SECONDS), default=60.0)
    parser.add_argument("--pipelines", type=_bounded(int, 1, 4), default=1)
    parser.add_argument("--trial", default="blinatumomab-sle")
    parser.add_argument("--notes", type=Path, default=DEFAULT_NOTES, help="one patient's notes, CONTRACT JSONL")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()

    notes = [json.loads(line) for line in args.notes.read_text(encoding="utf-8").splitlines() if line.strip()]
    body = {"trial": args.trial, "notes": notes}
    token = secrets.token_urlsafe(24)
    port = free_port()
    base = f"http://{HOST}:{port}"
    server = start_server(port, token, args.pipelines)
    try:
        startup = wait_until_healthy(base, server)
        latencies, errors, elapsed = asyncio.run(
            run_load(base, token, body, args.requests, args.concurrency, args.max_seconds)
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    if not latencies:
        raise SystemExit(f"no request succeeded ({errors} errors)")
    figures = {
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "notes_per_request": len(notes),
        "text_chars_per_request": sum(len(note["text"]) for note in notes),
        "concurrency": args.concurrency,
        "pipelines": args.pipelines,
        "startup_s": round(startup, 1),
        "requests": len(latencies),
        "errors": errors,
        "elapsed_s": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }
    if args.json:
        print(json.dumps(figures))
        return
    for name, value in figures.items():
        print(f"{name:>24}  {value}")


if __name__ == "__main__":
    main()
