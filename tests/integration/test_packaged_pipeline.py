"""A packaged pipeline carries its rules: ``spacy.load(DIR)`` runs DIR's rule files.

Every rule-reading component writes the files it was built from in ``to_disk`` and
rebuilds itself from them in ``from_disk`` (spaCy's EntityRuler does the same with its
patterns), so editing a saved pipeline's rules changes what it finds, and a broken rule
file in it fails at load with the file named.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
import yaml
from spacy.language import Language
from typer.testing import CliRunner

from extractor.cli.app import app
from extractor.errors import ResourceError
from extractor.pipeline.rule_files import RuleFileComponent
from extractor.resources import patterns_dir

runner = CliRunner()


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("packaged") / "extractor_pipeline"
    result = runner.invoke(app, ["package", "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target


def _edit_yaml(path: Path, change: object) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_every_rule_reading_component_writes_the_files_it_read(packaged: Path, nlp: Language) -> None:
    components = [(name, pipe) for name, pipe in nlp.pipeline if isinstance(pipe, RuleFileComponent)]
    assert {name for name, _ in components} >= {
        "extractor_sentences", "extractor_sections", "extractor_concepts", "extractor_demographics",
        "extractor_context", "extractor_time", "extractor_labs", "extractor_medications", "extractor_facts",
    }
    for name, pipe in components:
        for file_name in pipe.rule_files:
            saved = packaged / name / file_name
            assert saved.read_bytes() == (patterns_dir() / file_name).read_bytes(), f"{name}/{file_name}"


def test_meta_carries_licence_labels_and_rule_sources(packaged: Path) -> None:
    meta = json.loads((packaged / "meta.json").read_text(encoding="utf-8"))
    assert meta["license"] == "Apache-2.0"
    assert {"CONDITION", "MEDICATION", "LAB", "INFECTION"} <= set(meta["labels"]["extractor_concepts"])
    assert meta["labels"]["extractor_demographics"] == ["DEMOGRAPHIC"]
    context = {s["file"]: s for s in meta["sources"] if s["component"] == "extractor_context"}
    assert set(context) == {"context.yaml", "sections.yaml"}
    assert context["context.yaml"]["license"] == "Apache-2.0"
    assert len(context["context.yaml"]["sha256"]) == 64
    assert all(s["source"] and s["name"] for s in meta["sources"])


def test_a_synonym_added_in_the_package_is_found_by_spacy_load(packaged: Path, tmp_path: Path, nlp: Language) -> None:
    text = "History of zzwolfdisease, no h/o TB."
    assert "sle" not in {f.concept for f in nlp(text)._.facts}
    copy = tmp_path / "edited"
    spacy.load(packaged).to_disk(copy)  # a saved pipeline saves again, rules included

    def add_synonym(data: dict) -> None:
        entry = next(e for e in data["entries"] if e["id"] == "sle")
        entry["synonyms"].append("zzwolfdisease")

    # the concept stage finds it; the facts stage must know the concept from the same file
    for component in ("extractor_concepts", "extractor_time", "extractor_labs", "extractor_medications",
                      "extractor_facts"):
        _edit_yaml(copy / component / "conditions.yaml", add_synonym)
    facts = {f.concept: f for f in spacy.load(copy)(text)._.facts}
    assert facts["sle"].evidence.text == "zzwolfdisease"
    assert facts["sle"].temporality.value == "historical"
    assert facts["tuberculosis"].assertion.value == "absent"


def test_a_context_rule_changed_in_the_package_changes_the_assertion(packaged: Path, tmp_path: Path) -> None:
    copy = tmp_path / "edited"
    spacy.load(packaged).to_disk(copy)
    text = "Zzdenies lupus."
    assert spacy.load(copy)(text)._.facts[0].assertion.value == "present"

    def add_trigger(data: dict) -> None:
        data["rules"].append({"category": "NEGATED_EXISTENCE", "direction": "FORWARD", "literals": ["zzdenies"]})

    _edit_yaml(copy / "extractor_context" / "context.yaml", add_trigger)
    assert spacy.load(copy)(text)._.facts[0].assertion.value == "absent"


def test_a_broken_rule_file_in_the_package_fails_at_load_naming_it(packaged: Path, tmp_path: Path) -> None:
    copy = tmp_path / "broken"
    spacy.load(packaged).to_disk(copy)

    def typo(data: dict) -> None:
        data["rules"][0]["directoin"] = data["rules"][0].pop("direction")

    _edit_yaml(copy / "extractor_context" / "context.yaml", typo)
    with pytest.raises(ResourceError, match=r"extractor_context/context\.yaml"):
        spacy.load(copy)


def test_saving_a_loaded_pipeline_over_itself_keeps_its_rules(packaged: Path, tmp_path: Path) -> None:
    copy = tmp_path / "again"
    spacy.load(packaged).to_disk(copy)
    loaded = spacy.load(copy)
    loaded.to_disk(copy)
    assert (copy / "extractor_context" / "context.yaml").read_bytes() == (patterns_dir() / "context.yaml").read_bytes()
