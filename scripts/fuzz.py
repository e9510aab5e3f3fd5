"""Fuzz for a while: the properties of ``tests/fuzz`` with many more examples, a new seed per round.

    .venv/bin/python scripts/fuzz.py --minutes 30

CI runs the same properties with a bounded, fixed set of examples (under a minute);
this is the scheduled-size run. Each round runs pytest on ``tests/fuzz`` with the
``fuzz-long`` hypothesis profile and a fresh random seed; the first failure stops the
run and prints the command that replays it. Exit status: 0 when every round passed, 1
on a failure.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, required=True, help="how long to fuzz (rounds start until then)")
    parser.add_argument("--examples", type=int, default=5_000, help="examples per property per round")
    args = parser.parse_args()
    stop_at = time.monotonic() + args.minutes * 60
    rounds = 0
    while time.monotonic() < stop_at:
        seed = random.SystemRandom().randrange(2**32)
        command = [sys.executable, "-m", "pytest", "tests/fuzz", "-x", "-q", "-p", "no:cacheprovider",
                   f"--hypothesis-seed={seed}"]
        env = {**os.environ, "HYPOTHESIS_PROFILE": "fuzz-long", "FUZZ_EXAMPLES": str(args.examples)}
        result = subprocess.run(command, cwd=ROOT, env=env, check=False)
        rounds += 1
        if result.returncode != 0:
            print(f"round {rounds} failed; replay: HYPOTHESIS_PROFILE=fuzz-long {' '.join(command[2:])}")
            return 1
    print(f"{rounds} round(s) passed in {args.minutes:g} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
