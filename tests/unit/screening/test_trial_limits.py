"""A trial file cannot exhaust memory, the stack or the calendar: every such file is a
numbered T-error naming the file and line, in well under a second."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from extractor.screening import TrialError, load_trial

HEADER = "schema: trial/v1\nname: t\ntitle: t\ndescription: d\nversion: 1\nsource: s\nlicense: l\n"


def criterion(rule: str) -> str:
    return f"criteria:\n  - id: c1\n    type: exclusion\n    text: t\n    absent: not_met\n    rule: {rule}\n"


ALIAS_BOMB = (
    HEADER + 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    + criterion("{present: seizure}")
)

CASES = [
    ("alias bomb", ALIAS_BOMB, "[T009]"),
    ("many aliases", HEADER + "x: &x 1\ny: [" + ", ".join(["*x"] * 101) + "]\n", "[T009]"),
    ("deep nesting", HEADER + criterion("{not: " * 3000 + "{present: seizure}" + "}" * 3000), "[T008]"),
    ("deep lists", HEADER + "x: " + "[" * 3000 + "]" * 3000 + "\n", "[T008]"),
    ("huge window", HEADER + criterion("{present: {concept: seizure, window: 99999999 years}}"), "[T003]"),
    ("window over 200 years", HEADER + criterion("{present: {concept: seizure, window: 300 years}}"), "[T003]"),
    ("huge threshold", HEADER + criterion("{lab: {concept: hemoglobin, compare: '>= 1e400 g/L'}}"), "[T010]"),
    ("window in digits", HEADER + criterion("{present: {concept: seizure, window: 9999999999 days}}"), "[T010]"),
    ("huge count", HEADER + criterion("{at_least: 10000000000, of: [{present: seizure}]}"), "[T010]"),
    ("infinity", HEADER + criterion("{at_least: .inf, of: [{present: seizure}]}"), "[T010]"),
    ("NUL byte", HEADER + "title2: a\x00b\n", "[T001]"),
    ("escape character", HEADER + "title2: a\x1bb\n", "[T001]"),
]


@pytest.mark.parametrize(("name", "text", "code"), CASES, ids=[c[0] for c in CASES])
def test_hostile_trial_files_are_numbered_errors(tmp_path: Path, name: str, text: str, code: str) -> None:
    path = tmp_path / "trial.yaml"
    path.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(TrialError) as caught:
        load_trial(path)
    assert str(caught.value).startswith(code), str(caught.value)
    assert str(path) in str(caught.value)
    if "window:" in text:
        assert "longer than 200 years" in str(caught.value) or "more than 9 digits" in str(caught.value)
    assert time.perf_counter() - started < 2


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "trial.yaml"
    path.write_text(HEADER + "# " + "x" * 1_100_000 + "\n", encoding="utf-8")
    with pytest.raises(TrialError, match=r"^\[T007\] .*trial.yaml: the file is 1100\d+ bytes"):
        load_trial(path)


@pytest.mark.parametrize("name", ["a\x00b", "x" * 5000])
def test_unusable_trial_names_are_numbered_errors(name: str) -> None:
    with pytest.raises(TrialError, match=r"^\[T00[45]\]"):
        load_trial(name)


def test_a_nul_byte_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "trial.yaml"
    path.write_text(HEADER + "title2: a\x00b\n", encoding="utf-8")
    with pytest.raises(TrialError, match=r"line 8: not valid YAML \(character '.x00' is not allowed in YAML\)"):
        load_trial(path)
