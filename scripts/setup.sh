#!/usr/bin/env bash
# Install the project into .venv (offline-safe: PyPI only) and run the main job on the bundled sample chart.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
mkdir -p out
.venv/bin/extractor screen corpora/sample/notes.jsonl --trial blinatumomab-sle -o out/verdicts.jsonl
echo "verdicts written to out/verdicts.jsonl"
.venv/bin/extractor extract corpora/sample/notes.jsonl -o out/facts.jsonl
echo "facts written to out/facts.jsonl"
