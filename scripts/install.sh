#!/usr/bin/env bash
# Install the project and everything its tests need into .venv (PyPI and this machine's disk only).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
# torch first, pinned: 2.13.0 is the CPU wheel on this machine's disk (a bare "torch" pulls a
# CUDA build of several GB). It serves only the optional assertion model.
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev,model]"
