#!/usr/bin/env bash
# Install the project into .venv (offline-safe: PyPI only) and run the main job on the bundled sample chart.
set -euo pipefail
cd "$(dirname "$0")/.."
python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet -e ".[dev]"
mkdir -p out
if .venv/bin/extractor --help | grep -q " screen "; then
  .venv/bin/extractor screen corpora/sample/notes.jsonl --trial blinatumomab-sle -o out/verdicts.jsonl
  echo "verdicts written to out/verdicts.jsonl"
fi
.venv/bin/extractor extract corpora/sample/notes.jsonl -o out/facts.jsonl
echo "facts written to out/facts.jsonl"
