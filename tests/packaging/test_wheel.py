"""The wheel works on its own: built, installed in a clean virtualenv, it runs the quick start's main job.

The source tree is copied and built into a wheel (``pip wheel``, no network needed: setuptools
comes from the test's own environment), installed into a new virtualenv without system site
packages (its dependencies come from PyPI or pip's cache), and the quick start's main job
(``extractor screen`` on the sample chart, then ``extractor extract``) runs from a directory
outside the checkout with no ``PYTHONPATH``. Its output must equal the checkout's own.

It takes about a minute, so it runs in CI (``CI`` set, as ``.ci/run`` is run) or when
``EXTRACTOR_WHEEL_TEST=1``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "corpora" / "sample" / "notes.jsonl"
TRIAL = "blinatumomab-sle"
IGNORED = shutil.ignore_patterns(".venv", ".git", "build", "out", "*.egg-info", "__pycache__", ".*_cache")

pytestmark = pytest.mark.skipif(
    not (os.environ.get("CI") or os.environ.get("EXTRACTOR_WHEEL_TEST")),
    reason="about a minute: runs in CI, or with EXTRACTOR_WHEEL_TEST=1",
)


def _run(args: list[str | Path], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args[:3]}: {done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean virtualenv with only the wheel (and its dependencies) installed; its bin/."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "-w", work / "dist", source], cwd=work)
    (wheel,) = (work / "dist").glob("extractor-*.whl")
    _run([sys.executable, "-m", "venv", work / "venv"], cwd=work)
    _run([work / "venv" / "bin" / "python", "-m", "pip", "install", "--quiet", wheel], cwd=work)
    return work / "venv" / "bin"


def test_the_wheel_runs_the_quick_start_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    shutil.copy(SAMPLE, tmp_path / "notes.jsonl")
    where = _run([installed / "python", "-c", "import extractor.api; print(extractor.api.__file__)"], cwd=tmp_path)
    assert str(installed.parent) in where.stdout and str(ROOT) not in where.stdout
    _run([installed / "extractor", "screen", "notes.jsonl", "--trial", TRIAL, "-o", "verdicts.jsonl"], cwd=tmp_path)
    _run([installed / "extractor", "extract", "notes.jsonl", "-o", "facts.jsonl"], cwd=tmp_path)

    runner = CliRunner()
    for args, name in (
        (["screen", str(SAMPLE), "--trial", TRIAL, "-o", str(tmp_path / "ours.verdicts.jsonl")], "verdicts.jsonl"),
        (["extract", str(SAMPLE), "-o", str(tmp_path / "ours.facts.jsonl")], "facts.jsonl"),
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        from_wheel = [json.loads(line) for line in (tmp_path / name).read_text(encoding="utf-8").splitlines()]
        from_checkout = [json.loads(line) for line in (tmp_path / f"ours.{name}").read_text().splitlines()]
        assert from_wheel and from_wheel == from_checkout, name


def test_the_wheel_carries_its_data_files(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import json\n"
        "from importlib.resources import files\n"
        "print(json.dumps(sorted(p.name for p in files('extractor.assertion_head').iterdir())))\n"
        "print(files('extractor').joinpath('py.typed').is_file())\n"
        "print(files('extractor.report.static').joinpath('report.css').is_file())\n"
        "from extractor.resources import patterns_dir, trials_dir\n"
        "print(len(list(patterns_dir().glob('*.yaml'))), len(list(trials_dir().glob('*.yaml'))))\n"
    )
    lines = _run([installed / "python", "-c", probe], cwd=tmp_path).stdout.splitlines()
    assert {"head.safetensors", "head.json"} <= set(json.loads(lines[0]))
    assert lines[1:3] == ["True", "True"]
    patterns, trials = map(int, lines[3].split())
    assert patterns == len(list((ROOT / "patterns").glob("*.yaml")))
    assert trials == len(list((ROOT / "corpora" / "trials").glob("*.yaml")))
