"""The rules pipeline never loads torch, though thinc would import it whenever it is installed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

PROBE = """
import sys
import extractor
nlp = extractor.load()
nlp("No h/o TB.")
assert "torch" not in sys.modules, "torch was imported"
import thinc.compat
print(thinc.compat.has_torch)
"""


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed: nothing to hide")
def test_rules_pipeline_leaves_torch_unloaded_and_model_can_still_use_it() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
    # and torch imports normally afterwards (the assertion model needs it)
    later = PROBE.replace('print(thinc.compat.has_torch)', 'import torch\nprint(torch.tensor([1]).sum().item())')
    done = subprocess.run([sys.executable, "-c", later], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "1"
