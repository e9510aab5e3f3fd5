"""Processes the extractor owns (the command line, batch workers) never load torch or NLTK for the
rules pipeline (see extractor.imports), both still work when used, and a plain ``import extractor``
changes nothing global."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import sys
import extractor.batch.work  # what a spawned batch worker imports first
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
import extractor.batch
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


CLI_PROBE = """
import sys
from pathlib import Path
from extractor.cli.app import app
note = Path(sys.argv[1])
note.write_text("No h/o TB. Takes prednisone 5 mg daily.", encoding="utf-8")
try:
    app(["extract", str(note), "-o", str(note.with_suffix(".jsonl"))])
except SystemExit as done:
    assert not done.code, done.code
assert "torch" not in sys.modules, "torch was imported"
assert type(sys.modules["nltk"]).__name__ == "DeferredModule", "NLTK was imported"
print(len(note.with_suffix(".jsonl").read_text(encoding="utf-8").splitlines()))
"""


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed: nothing to hide")
def test_the_command_line_opts_in_and_keeps_torch_and_nltk_out(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CLI_PROBE, str(tmp_path / "note.txt")],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "2"  # both facts extracted


PLAIN_IMPORT_PROBE = """
import sys
from loguru import logger
before = dict(sys.modules)
import extractor
import extractor.facts, extractor.resources, extractor.notes
added = set(sys.modules) - set(before)
assert not [m for m in sys.modules.values() if type(m).__name__ == "DeferredModule"], "a stand-in module"
assert not [m for m in sys.modules if sys.modules[m] is None and m not in before], "a blocked module"
assert "spacy" not in added and "medspacy" not in added, "the pipeline was imported"
heard = []
logger.add(heard.append, format="{message}")
exec("from loguru import logger; logger.info('from medspacy')", {"__name__": "medspacy.fake"})
exec("from loguru import logger; logger.info('from PyRuSH')", {"__name__": "PyRuSH.fake"})
assert len(heard) == 2, heard  # the host's logging is left as it was
nlp = extractor.load()  # the pipeline's names load on first use
print(type(nlp).__name__)
"""


def test_importing_the_package_changes_nothing_global() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PLAIN_IMPORT_PROBE], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "English"


def test_the_opt_in_silences_the_libraries_that_could_log_note_text() -> None:
    probe = PLAIN_IMPORT_PROBE.split("heard = []")[0].replace(
        "import extractor\n", "import extractor\nfrom extractor.imports import silence_libraries\n"
    )
    probe += """
heard = []
logger.add(heard.append, format="{message}")
silence_libraries()
exec("from loguru import logger; logger.info('from medspacy')", {"__name__": "medspacy.fake"})
exec("from loguru import logger; logger.info('from PyRuSH')", {"__name__": "PyRuSH.fake"})
exec("from loguru import logger; logger.info('ours')", {"__name__": "host"})
print(len(heard))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "1"
