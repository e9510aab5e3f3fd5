"""Numbered messages of the trial language: each names the file, line and criterion."""

from __future__ import annotations

from extractor.errors import ResourceError


class TrialError(ResourceError):
    """A trial definition is missing or malformed."""


class TrialErrors:
    T001 = "[T001] {path}, line {line}: not valid YAML ({problem}). Fix the syntax."
    T002 = "[T002] {path}, line {line}: {problem}"
    T003 = "[T003] {path}, line {line}, criterion {criterion!r}: {problem}"
    T004 = (
        "[T004] No bundled trial {name!r}. Bundled trials: {available}. "
        "Or give the path to a trial YAML file."
    )
    T005 = "[T005] {path}: cannot read the file ({problem})."
    T006 = "[T006] {path}, line {line}: key {key!r} appears twice in one mapping."
    T007 = "[T007] {path}: the file is {size} bytes; a trial file may be at most {limit}. Is this a trial file?"
    T008 = "[T008] {path}, line {line}: nested more than {limit} levels deep. Flatten the rule (all/any take lists)."
    T009 = (
        "[T009] {path}, line {line}: {problem}. Aliases (*name) may be used at most {aliases} times and "
        "expand to at most {nodes} YAML nodes; write the rules out instead."
    )
    T010 = "[T010] {path}, line {line}: {problem}"
    T011 = (
        "[T011] {path}, line {line}, criterion {criterion!r}: unknown {what} {name!r}.{hint} "
        "Find ids with `extractor concepts search`."
    )
