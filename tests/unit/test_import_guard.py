"""The rules pipeline never loads torch or NLTK (see extractor.imports), and both still work when used."""

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


NLTK_PROBE = """
import importlib.util
import sys
import extractor
import spacy
nlp = extractor.load()
nlp("No h/o TB.")
assert type(sys.modules["nltk"]).__name__ == "DeferredModule", "NLTK was imported"
assert "sklearn" not in sys.modules, "scikit-learn was imported (through NLTK)"
assert importlib.util.find_spec("nltk").name == "nltk"
assert "medspacy_quickumls" in spacy.registry.factories  # medSpaCy still registered QuickUMLS
import inspect
inspect.getmodule(sys._getframe())  # scans sys.modules for files: must not import NLTK for it
assert type(sys.modules["nltk"]).__name__ == "DeferredModule", "a scan of sys.modules imported NLTK"
import nltk
print(nltk.corpus.stopwords.__class__.__name__, type(sys.modules["nltk"]).__name__)
"""


@pytest.mark.skipif(importlib.util.find_spec("nltk") is None, reason="NLTK is not installed: nothing to defer")
def test_rules_pipeline_defers_nltk_and_nltk_still_works_when_used() -> None:
    done = subprocess.run([sys.executable, "-c", NLTK_PROBE], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["LazyCorpusLoader", "module"]


def test_deferred_module_imports_the_real_one_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    from extractor.imports import DeferredModule, defer

    monkeypatch.delitem(sys.modules, "json.tool", raising=False)
    defer("json.tool")
    stand_in = sys.modules["json.tool"]
    assert isinstance(stand_in, DeferredModule)
    assert stand_in.main.__module__ == "json.tool"  # a name used: the real module answers
    assert not isinstance(sys.modules["json.tool"], DeferredModule)
    defer("no_such_module_here")  # not installed: nothing deferred
    assert "no_such_module_here" not in sys.modules
