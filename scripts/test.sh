#!/usr/bin/env bash
# Run the test suite; installs the project into .venv first when it is not there yet.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/extractor ]; then
  python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
  .venv/bin/python -m pip install --quiet -e ".[dev]"
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
