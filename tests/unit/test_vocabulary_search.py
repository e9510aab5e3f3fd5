"""``extractor.vocabulary``: search, show, suggest and expand over the bundled vocabulary."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from extractor import vocabulary
from extractor.cli.app import app
from extractor.resources import concepts_by_id, load_drug_classes


@pytest.mark.parametrize(
    ("query", "kind", "first"),
    [
        ("heart failure", None, "heart_failure"),
        ("chest pain", None, "chest_pain"),
        ("digoxin", None, "digoxin"),
        ("Lasix", "medication", "furosemide"),
        ("haematocrit", "lab", "hematocrit"),
        ("blood pressure", "vital", "blood_pressure"),
        ("calcium channel blockers", "class", "calcium_channel_blocker"),
        ("ECOG", None, "ecog"),
        ("lactating", None, "lactating"),
        ("radiation therapy", None, "radiotherapy"),
        ("Kawasaki", None, "kawasaki_disease"),
    ],
)
def test_search_ranks_the_named_concept_first(query: str, kind: str | None, first: str) -> None:
    results = vocabulary.search(query, kind=kind)
    assert results[0].id == first
    assert all(r.kind == kind for r in results) or kind is None


def test_search_results_are_typed_and_bounded() -> None:
    results = vocabulary.search("cancer", limit=5)
    assert len(results) == 5
    assert results[0].score >= results[-1].score
    assert {r.source for r in results} <= {v for v in vocabulary.vocabulary().source.values()} | {"drug_classes"}


def test_show_gives_codes_parents_children_and_classes() -> None:
    cardiomyopathy = vocabulary.show("cardiomyopathy")
    assert cardiomyopathy is not None
    assert ("ICD-10-CM", "I42") in {(c.system, c.code) for c in cardiomyopathy.codes}
    assert "dilated_cardiomyopathy" in cardiomyopathy.children
    assert vocabulary.show("dilated_cardiomyopathy").parents == ("cardiomyopathy",)  # type: ignore[union-attr]
    assert "beta_blocker" in vocabulary.show("metoprolol").classes  # type: ignore[union-attr]
    ccb = vocabulary.show("calcium_channel_blocker")
    assert ccb is not None and ccb.kind == "class" and "amlodipine" in ccb.members and "ATC C08" in ccb.class_source
    assert vocabulary.show("smoking").id == "tobacco_use"  # type: ignore[union-attr]
    assert vocabulary.show("no_such_thing") is None


def test_suggest_offers_close_ids_for_a_typo() -> None:
    assert vocabulary.vocabulary().suggest("seizur")[0] == "seizure"
    assert vocabulary.vocabulary().suggest("beta_blockers", classes=True)[0] == "beta_blocker"


def test_expand_walks_the_hierarchy_down_only() -> None:
    malignancy = vocabulary.expand(["malignancy"])
    assert {"breast_cancer", "lymphoma", "prostate_cancer", "multiple_myeloma"} <= malignancy
    assert "sle" not in malignancy
    assert "malignancy" not in vocabulary.expand(["breast_cancer"])


def test_parents_and_class_members_name_real_concepts() -> None:
    concepts = concepts_by_id()
    assert {p for c in concepts.values() for p in c.parents} - set(concepts) == set()
    assert {m for k in load_drug_classes().classes for m in k.members} - set(concepts) == set()
    aliases = vocabulary.vocabulary().aliases
    assert {a: t for a, t in aliases.items() if t not in concepts or a in concepts} == {}


def test_the_hierarchy_has_no_cycle() -> None:
    concepts = concepts_by_id()
    for concept in concepts.values():
        seen, stack = {concept.id}, list(concept.parents)
        while stack:
            parent = stack.pop()
            assert parent != concept.id, concept.id
            if parent not in seen:
                seen.add(parent)
                stack.extend(concepts[parent].parents)


def test_the_required_tables_are_covered() -> None:
    concepts = concepts_by_id()
    kinds = [c.kind.value for c in concepts.values()]
    assert kinds.count("lab") >= 150
    assert sum(1 for c in concepts.values() if c.attrs.get("category") in ("symptom", "finding")) >= 300
    assert {"temperature", "heart_rate", "respiratory_rate", "blood_pressure", "weight", "height", "bmi"} <= {
        c.id for c in concepts.values() if c.kind.value == "vital"
    }
    assert {"ecog", "karnofsky", "nyha_class", "asa_class", "gcs", "qtc", "fev1_percent_predicted",
            "child_pugh", "meld"} <= {c.id for c in concepts.values() if c.kind.value == "score"}
    classes = {k.id for k in load_drug_classes().classes}
    assert {"calcium_channel_blocker", "beta_blocker", "ace_inhibitor", "angiotensin_receptor_blocker",
            "anticoagulant", "antiplatelet", "beta_lactam", "tnf_inhibitor", "strong_cyp3a4_inhibitor",
            "strong_cyp3a4_inducer", "qt_prolonging", "cytotoxic_chemotherapy", "immune_checkpoint_inhibitor",
            "antiepileptic", "antipsychotic", "ssri", "insulin", "glp1_agonist", "proton_pump_inhibitor",
            "statin"} <= classes


def test_concepts_search_and_show_at_the_command_line() -> None:
    runner = CliRunner()
    found = runner.invoke(app, ["concepts", "search", "heart failure", "--limit", "3"])
    assert found.exit_code == 0
    assert found.output.splitlines()[0].split("\t")[:2] == ["heart_failure", "condition"]
    shown = runner.invoke(app, ["concepts", "show", "cardiomyopathy"])
    assert shown.exit_code == 0 and "children:" in shown.output and "I42" in shown.output
    missing = runner.invoke(app, ["concepts", "show", "seizur"])
    assert missing.exit_code == 1 and "Did you mean seizure" in missing.output


def test_counts_match_the_loaded_vocabulary() -> None:
    rows = {row.file: row for row in vocabulary.counts()}
    concepts = concepts_by_id()
    assert sum(row.concepts for name, row in rows.items() if name != "drug_classes.yaml") == len(concepts)
    assert rows["drug_classes.yaml"].concepts == len(load_drug_classes().classes)
    assert all(row.names >= row.concepts and row.coded <= row.concepts for row in rows.values() if row.concepts)


def test_concepts_count_at_the_command_line() -> None:
    result = CliRunner().invoke(app, ["concepts", "count", "--json"])
    assert result.exit_code == 0
    files = [json.loads(line)["file"] for line in result.output.splitlines()]
    assert files[0] == "conditions.yaml" and files[-1] == "drug_classes.yaml"
