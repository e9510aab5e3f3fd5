"""What a batch worker process imports: a screening worker never loads spaCy, and no worker
(nor the command line) loads pandas, which pyarrow would import to look for its types."""

from __future__ import annotations

import subprocess
import sys


def _run(script: str) -> str:
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_a_screening_task_imports_no_spacy() -> None:
    # what a fresh screening worker imports: the worker set-up and the task's module
    script = (
        "import sys\n"
        "import extractor.batch.executors, extractor.batch.work, extractor.batch.sharded, extractor.batch.views\n"
        "print(sorted(name for name in ('spacy', 'medspacy', 'thinc.api', 'pandas') if name in sys.modules))\n"
    )
    assert _run(script) == "[]"


def test_pyarrow_checks_for_pandas_once_with_pandas_hidden() -> None:
    script = (
        "import datetime, sys\n"
        "from extractor.imports import hide_pandas_from_pyarrow\n"
        "hide_pandas_from_pyarrow()\n"
        "import pyarrow as pa\n"
        "dates = pa.array([datetime.date(2026, 12, 6), None])\n"
        "print('pandas' in sys.modules, dates.to_pylist())\n"
        "try:\n"  # still importable for whoever asks, where it is installed (the project does not need it)
        "    import pandas\n"
        "except ModuleNotFoundError:\n"
        "    print('not installed')\n"
        "else:\n"
        "    print(pandas.__name__)\n"
    )
    first, second = _run(script).splitlines()
    assert first == "False [datetime.date(2026, 12, 6), None]"
    assert second in ("pandas", "not installed")
