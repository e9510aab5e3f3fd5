"""Rule-file models: one header model for all, and closed sets that refuse a typo at load."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

import extractor
from extractor.errors import ResourceError
from extractor.pipeline.context import ContextFile
from extractor.pipeline.demographics import DemographicsFile
from extractor.pipeline.labs import LabValuesFile
from extractor.pipeline.medications import MedicationDetailsFile
from extractor.pipeline.sections import SectionsFile
from extractor.pipeline.temporal import TimeFile
from extractor.resources import Header, VocabularyFile, load_model, patterns_dir


def _models_with_a_schema() -> list[type[BaseModel]]:
    found = []
    for info in pkgutil.walk_packages(extractor.__path__, "extractor."):
        if any(part in info.name for part in (".service", ".report", ".evaluation")):
            continue  # HTTP and HTML models, and gold-corpus manifests: no rule files there
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseModel) and cls.__module__ == module.__name__ and "schema_" in cls.model_fields:
                found.append(cls)
    return found


def test_every_rule_file_model_subclasses_the_header_model() -> None:
    models = _models_with_a_schema()
    assert len(models) >= 12
    assert [m.__name__ for m in models if not issubclass(m, Header)] == []
    # each narrows the schema to its own literal, so a file of one kind never loads as another
    assert [m.__name__ for m in models if m is not Header and m.model_fields["schema_"].annotation is str] == []


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value

    return change


def _rename_key(path: tuple[Any, ...], old: str, new: str) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        for key in path:
            data = data[key]
        data[new] = data.pop(old)

    return change


TYPOS = [
    pytest.param(SectionsFile, "sections.yaml", _set(("sections", 0, "experiencer"), "famly"), id="section-who"),
    pytest.param(SectionsFile, "sections.yaml", _set(("sections", 0, "temporality"), "histrical"), id="section-time"),
    pytest.param(SectionsFile, "sections.yaml", _set(("sections", 0, "med_status"), "curent"), id="section-status"),
    pytest.param(ContextFile, "context.yaml", _set(("rules", 0, "category"), "NEGATED_EXISTANCE"), id="context-cat"),
    pytest.param(ContextFile, "context.yaml", _set(("rules", 0, "direction"), "FOWARD"), id="context-direction"),
    pytest.param(ContextFile, "context.yaml", _set(("schema",), "context/v2"), id="schema"),
    pytest.param(TimeFile, "time.yaml", _set(("rules", 0, "resolve"), "agoo"), id="time-resolver"),
    pytest.param(
        MedicationDetailsFile, "medication_details.yaml", _rename_key(("status_cues",), "held", "hold"), id="med-status"
    ),
    pytest.param(
        MedicationDetailsFile,
        "medication_details.yaml",
        _rename_key(("response_cues",), "allergy", "allergic"),
        id="med-response",
    ),
    pytest.param(LabValuesFile, "lab_values.yaml", _set(("comparators", "<"), "lt"), id="lab-comparator"),
    pytest.param(DemographicsFile, "demographics.yaml", _set(("sex_words", "girl"), "Female"), id="sex-word"),
    pytest.param(VocabularyFile, "conditions.yaml", _set(("entries", 0, "kind"), "conditon"), id="concept-kind"),
    pytest.param(VocabularyFile, "conditions.yaml", _set(("license",), ""), id="empty-header"),
]


@pytest.mark.parametrize(("model", "file_name", "typo"), TYPOS)
def test_a_typo_in_a_closed_set_fails_at_load_naming_the_file(
    model: type[BaseModel], file_name: str, typo: Callable[[Any], None], tmp_path: Path
) -> None:
    data = yaml.safe_load((patterns_dir() / file_name).read_text(encoding="utf-8"))
    load_model(model, patterns_dir() / file_name)  # the bundled file loads
    typo(data)
    broken = tmp_path / file_name
    broken.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ResourceError, match=file_name):
        load_model(model, broken)
