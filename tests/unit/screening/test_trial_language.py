"""The trial language: bundled trials load and match the contract; bad files fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.resources import concepts_by_id
from extractor.screening import TrialError, bundled_trials, load_trial
from extractor.screening.engine import PredicateNode
from extractor.screening.outcome import Status

# shared/trial/criteria.yaml: id, type and absent of every criterion, in order.
SLE_CONTRACT = [
    ("inc-age", "inclusion", "unknown"), ("inc-sle-diagnosis", "inclusion", "unknown"),
    ("inc-autoantibody", "inclusion", "unknown"), ("inc-treatment-resistance", "inclusion", "unknown"),
    ("inc-sledai", "inclusion", "unknown"), ("inc-stable-treatment", "inclusion", "unknown"),
    ("inc-lymphocytes", "inclusion", "unknown"), ("inc-cd19", "inclusion", "unknown"),
    ("inc-neutrophils", "inclusion", "unknown"), ("inc-hemoglobin", "inclusion", "unknown"),
    ("inc-platelets", "inclusion", "unknown"), ("inc-cardiac-function", "inclusion", "unknown"),
    ("inc-egfr", "inclusion", "unknown"), ("inc-liver", "inclusion", "unknown"),
    ("inc-pulmonary", "inclusion", "unknown"), ("inc-contraception", "inclusion", "unknown"),
    ("inc-consent", "inclusion", "unknown"), ("exc-cns-lupus", "exclusion", "not_met"),
    ("exc-severe-nephritis", "exclusion", "not_met"), ("exc-antiphospholipid", "exclusion", "not_met"),
    ("exc-cardiac", "exclusion", "not_met"), ("exc-other-immunosuppressive-disease", "exclusion", "not_met"),
    ("exc-active-infection", "exclusion", "not_met"), ("exc-transplant", "exclusion", "not_met"),
    ("exc-recurrent-infection", "exclusion", "not_met"), ("exc-low-igg", "exclusion", "unknown"),
    ("exc-hbv", "exclusion", "not_met"), ("exc-hiv", "exclusion", "not_met"),
    ("exc-hcv", "exclusion", "not_met"), ("exc-cmv-ebv", "exclusion", "not_met"),
    ("exc-tuberculosis", "exclusion", "not_met"), ("exc-mas", "exclusion", "not_met"),
    ("exc-anti-cd19-cd20", "exclusion", "not_met"), ("exc-jak-btk-tyk2", "exclusion", "not_met"),
    ("exc-cyclophosphamide-biologic", "exclusion", "not_met"), ("exc-hypersensitivity", "exclusion", "not_met"),
    ("exc-live-vaccine", "exclusion", "not_met"), ("exc-pregnancy", "exclusion", "not_met"),
    ("exc-malignancy", "exclusion", "not_met"), ("exc-other-trial", "exclusion", "not_met"),
    ("exc-depression-suicidality", "exclusion", "not_met"), ("exc-investigator-judgement", "exclusion", "unknown"),
]
N2C2_IDS = [
    "ABDOMINAL", "ADVANCED-CAD", "ALCOHOL-ABUSE", "ASP-FOR-MI", "CREATININE", "DIETSUPP-2MOS",
    "DRUG-ABUSE", "ENGLISH", "HBA1C", "KETO-1YR", "MAJOR-DIABETES", "MAKES-DECISIONS", "MI-6MOS",
]

HEADER = """schema: trial/v1
name: tiny
title: A tiny trial
description: For tests.
version: 1
source: Written for tests.
license: Apache-2.0
criteria:
"""


def _tiny_trial(tmp_path: Path, criteria: str) -> Path:
    """A trial file of ``HEADER`` and the given criteria lines."""
    path = tmp_path / "tiny.yaml"
    path.write_text(HEADER + criteria, encoding="utf-8")
    return path


def test_bundled_trials_are_listed() -> None:
    assert bundled_trials() == ["blinatumomab-sle", "n2c2-2018", "nct04344444", "nct04344951", "nct04346355"]


def test_sle_trial_has_exactly_the_contract_ids_and_absent_semantics() -> None:
    trial = load_trial("blinatumomab-sle")
    assert [(c.id, c.type, c.absent.value) for c in trial.criteria] == SLE_CONTRACT
    person_only = {c.id for c in trial.criteria if c.person_only}
    assert person_only == {"inc-consent", "exc-investigator-judgement"}


def test_n2c2_trial_has_the_published_ids_all_inclusion() -> None:
    trial = load_trial("n2c2-2018")
    assert trial.id == "n2c2-2018"
    assert [c.id for c in trial.criteria] == N2C2_IDS
    assert {c.type for c in trial.criteria} == {"inclusion"}


def test_a_trial_loads_from_a_path(tmp_path: Path) -> None:
    path = _tiny_trial(
        tmp_path,
        "  - {id: c1, type: inclusion, text: t, absent: unknown, rule: {age: '>= 18 years'}}\n",
    )
    trial = load_trial(path)
    assert (trial.name, [c.id for c in trial.criteria], trial.criteria[0].absent) == (
        "tiny", ["c1"], Status.UNKNOWN
    )


def test_unknown_bundled_trial_names_the_bundled_ones() -> None:
    with pytest.raises(TrialError, match=r"\[T004\].*blinatumomab-sle, n2c2-2018"):
        load_trial("no-such-trial")


# Each body starts on line 9 of the file (after the 8 header lines).
BAD_FILES = [
    pytest.param(
        "  - id: c1\n    type: inclusion\n    text: t\n    absent: unknown\n    rule:\n"
        "      lab_value: {concept: hemoglobin}\n",
        r"line 14, criterion 'c1': unknown rule 'lab_value'",
        id="unknown-predicate",
    ),
    pytest.param(
        "  - id: c1\n    type: inclusion\n    text: t\n    absent: unknown\n    rule:\n"
        "      lab: {concept: hemoglobin, compare: '>= 80 grams'}\n",
        r"line 14, criterion 'c1': lab: .*unknown unit 'grams'",
        id="bad-threshold",
    ),
    pytest.param(
        "  - id: c1\n    type: inclusion\n    text: t\n    absent: unknown\n    rule:\n"
        "      lab: {concept: hemoglobin, compare: 'about 80 g/L'}\n",
        r"line 14, criterion 'c1': lab: compare: .*cannot read threshold 'about 80 g/L'",
        id="unreadable-threshold",
    ),
    pytest.param(
        "  - id: c1\n    type: inclusion\n    text: t\n    absent: unknown\n    rule:\n"
        "      lab: {concept: hemoglobin, compare: '>= 80 g/L', windw: 3 months}\n",
        r"line 14, criterion 'c1': lab: windw: Extra inputs are not permitted",
        id="misspelt-parameter",
    ),
    pytest.param(
        "  - id: c1\n    type: inclusion\n    text: t\n    absent: unknown\n    rule:\n"
        "      present: {concept: seizure, window: 3 moons}\n",
        r"line 14, criterion 'c1': present: window: .*cannot read duration '3 moons'",
        id="bad-window",
    ),
    pytest.param(
        "  - id: c1\n    type: inclusion\n    text: t\n    absent: unknown\n    rule:\n"
        "      any:\n        - age: '>= 5 years'\n        - at_least: 3\n          of: [{sex: F}, {sex: M}]\n",
        r"line 16, criterion 'c1': at_least must be a whole number from 1 to 2",
        id="at-least-too-many",
    ),
    pytest.param(
        "  - id: c1\n    type: inclusion\n    text: t\n    absent: maybe\n    rule: {sex: F}\n",
        r"line 12, criterion 'c1': absent: Input should be 'met', 'not_met' or 'unknown'",
        id="bad-absent",
    ),
    pytest.param(
        "  - id: c1\n    type: inclusion\n    text: t\n    absent: unknown\n    person_only: true\n"
        "    rule: {sex: F}\n",
        r"criterion 'c1': criterion: Value error, a person_only criterion has no rule",
        id="person-only-with-rule",
    ),
    pytest.param(
        "  - {id: c1, type: inclusion, text: t, absent: unknown, rule: {sex: F}}\n"
        "  - {id: c1, type: exclusion, text: t, absent: not_met, rule: {sex: M}}\n",
        r"line 10, criterion 'c1': id already used by the criterion on line 9",
        id="duplicate-id",
    ),
    pytest.param(
        "  - id: c1\n    type: inclusion\n    type: exclusion\n",
        r"\[T006\] .*line 11: key 'type' appears twice",
        id="duplicate-key",
    ),
    pytest.param(
        "  - id: c1\n    type: [inclusion\n",
        r"\[T001\] .*not valid YAML",
        id="yaml-syntax",
    ),
    pytest.param(
        "  - {id: c1, type: inclusion, text: t, absent: unknown, rule: {all: [], any: []}}\n",
        r"line 9, criterion 'c1': a rule has exactly one key",
        id="two-keys",
    ),
    pytest.param(
        "  - id: c1\n    type: exclusion\n    text: t\n    absent: not_met\n    rule: {present: {concept: seizure}}\n"
        "    negative_evidence:\n      - not: {present: {concept: seizur}}\n",
        r"line 15, criterion 'c1': unknown concept 'seizur'",
        id="negative-evidence-unknown-concept",
    ),
    pytest.param(
        "  - id: c1\n    type: exclusion\n    text: t\n    absent: not_met\n    rule: {present: {concept: seizure}}\n"
        "    negative_evidence:\n      - stated: no_such_statement\n",
        r"line 15, criterion 'c1': stated: statement: .*unknown statement 'no_such_statement'",
        id="negative-evidence-unknown-statement",
    ),
    pytest.param(
        "  - id: c1\n    type: inclusion\n    text: t\n    absent: unknown\n    person_only: true\n"
        "    negative_evidence: [{sex: M}]\n",
        r"criterion 'c1': criterion: Value error, a person_only criterion has no negative_evidence",
        id="person-only-with-negative-evidence",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD_FILES)
def test_bad_trial_files_name_line_and_criterion(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(HEADER + body, encoding="utf-8")
    with pytest.raises(TrialError, match=message):
        load_trial(path)


def test_missing_header_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    criterion = "  - {id: c1, type: inclusion, text: t, absent: unknown, rule: {sex: F}}\n"
    path.write_text(HEADER.replace("license: Apache-2.0\n", "") + criterion, encoding="utf-8")
    with pytest.raises(TrialError, match=r"\[T002\] .*license: Field required"):
        load_trial(path)


def test_shorthand_and_mapping_parameters_are_the_same(tmp_path: Path) -> None:
    path = _tiny_trial(
        tmp_path,
        "  - {id: a, type: inclusion, text: t, absent: unknown, rule: {sex: F}}\n"
        + "  - {id: b, type: inclusion, text: t, absent: unknown, rule: {sex: {sex: F}}}\n",
    )
    first, second = (c.rule for c in load_trial(path).criteria)
    assert first.params == second.params  # type: ignore[union-attr]


def _leaves(node: object) -> list[PredicateNode]:
    if isinstance(node, PredicateNode):
        return [node]
    children = list(getattr(node, "children", ())) + ([node.child] if hasattr(node, "child") else [])
    return [leaf for child in children for leaf in _leaves(child)]


@pytest.mark.parametrize("name", ["blinatumomab-sle", "n2c2-2018"])
def test_every_concept_and_class_a_trial_names_is_in_the_vocabularies(name: str) -> None:
    concepts = concepts_by_id()
    classes = {c for entry in concepts.values() for c in entry.attrs.get("classes", ())}
    for criterion in load_trial(name).criteria:
        for leaf in _leaves(criterion.rule):
            for concept in (*getattr(leaf.params, "concept", ()), *getattr(leaf.params, "exclude", ())):
                assert concept in concepts or concept in classes, (criterion.id, concept)
            for drug_class in getattr(leaf.params, "classes", ()):
                assert drug_class in classes, (criterion.id, drug_class)


def test_negative_evidence_compiles_to_rules_like_the_rule(tmp_path: Path) -> None:
    path = _tiny_trial(
        tmp_path,
        "  - id: c1\n    type: exclusion\n    text: t\n    absent: not_met\n    rule: {present: {concept: seizure}}\n"
        + "    negative_evidence:\n      - not: {present: {concept: seizure, when: current}}\n      - sex: M\n",
    )
    (criterion,) = load_trial(path).criteria
    assert [type(node).__name__ for node in criterion.negative_evidence] == ["NotNode", "PredicateNode"]
    assert [leaf.spec.name for node in criterion.negative_evidence for leaf in _leaves(node)] == ["present", "sex"]
