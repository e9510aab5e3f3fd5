"""The concept vocabularies of ``patterns/``: schema, fixed concept ids, real codes, no clashes.

Every id other components and gold annotations use must exist in the file its kind
names; every ICD-10-CM code must be a real code whose official title is the display
written; no phrase may name two concepts; attributes downstream rules read must take
only their allowed values. Phrase cases in ``data/vocabulary_phrases.yaml`` pin what the
vocabularies find in real chart wording, through the concept matcher alone.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import simple_icd_10_cm as cm
import spacy
import yaml
from spacy.language import Language
from spacy.matcher import Matcher

from extractor.facts import Kind
from extractor.pipeline.concepts import ConceptMatcher
from extractor.resources import (
    Concept,
    VocabularyFile,
    load_drug_classes,
    load_steroid_equivalence,
    load_vocabularies,
)
from extractor.units import converter

DATA = Path(__file__).parent / "data"
PHRASE_CASES = DATA / "vocabulary_phrases.yaml"
EXPECT: dict[str, Any] = yaml.safe_load((DATA / "vocabulary_expectations.yaml").read_text(encoding="utf-8"))

FILE_KIND = {
    "conditions": Kind.CONDITION,
    "symptoms": Kind.CONDITION,
    "infections": Kind.INFECTION,
    "medications": Kind.MEDICATION,
    "labs": Kind.LAB,
    "vitals": Kind.VITAL,
    "scores": Kind.SCORE,
    "vaccines": Kind.VACCINE,
    "procedures": Kind.PROCEDURE,
    "social": Kind.SOCIAL,
    "study": Kind.STUDY,
    "conditions_icd10cm": Kind.CONDITION,
    "infections_icd10cm": Kind.INFECTION,
    "medications_lexicon": Kind.MEDICATION,
}
SCORES = {"sledai"}
CODE_FORMATS = {
    "RxNorm": re.compile(r"^\d+$"),
    "LOINC": re.compile(r"^\d{1,7}-\d$"),
    "CVX": re.compile(r"^\d{2,3}$"),
}


@pytest.fixture(scope="module")
def vocabularies() -> dict[str, VocabularyFile]:
    return {vocab.name: vocab for vocab in load_vocabularies()}


@pytest.fixture(scope="module")
def concepts(vocabularies: dict[str, VocabularyFile]) -> dict[str, Concept]:
    return {c.id: c for vocab in vocabularies.values() for c in vocab.entries}


@pytest.fixture(scope="module")
def blank_nlp() -> Language:
    return spacy.blank("en")


def _of_kind(concepts: dict[str, Concept], kind: Kind) -> list[Concept]:
    return [c for c in concepts.values() if c.kind is kind]


def _all_codes() -> list[tuple[str, str, str, str]]:
    return [
        (concept.id, code.system, code.code, code.display)
        for vocab in load_vocabularies()
        for concept in vocab.entries
        for code in concept.codes
    ]


@pytest.mark.parametrize("file_name", sorted(EXPECT["concept_ids"]))
def test_every_fixed_id_is_in_its_file(vocabularies: dict[str, VocabularyFile], file_name: str) -> None:
    ids = {c.id for c in vocabularies[file_name].entries}
    assert set(EXPECT["concept_ids"][file_name]) - ids == set()


@pytest.mark.parametrize("file_name", sorted(FILE_KIND))
def test_entries_have_their_file_kind(vocabularies: dict[str, VocabularyFile], file_name: str) -> None:
    wrong = {
        c.id: c.kind
        for c in vocabularies[file_name].entries
        if c.kind is not (Kind.SCORE if c.id in SCORES else FILE_KIND[file_name])
    }
    assert wrong == {}


@pytest.mark.parametrize(
    ("concept", "code", "display"),
    [(c, code, d) for c, system, code, d in _all_codes() if system == "ICD-10-CM"],
)
def test_icd10cm_code_is_real_and_titled_as_written(concept: str, code: str, display: str) -> None:
    assert cm.is_valid_item(code), f"{concept}: {code} is not an ICD-10-CM code"
    assert cm.get_description(code) == display


def test_other_codes_have_their_system_format() -> None:
    malformed = [
        (c, system, code)
        for c, system, code, _ in _all_codes()
        if system in CODE_FORMATS and not CODE_FORMATS[system].match(code)
    ]
    assert malformed == []


def _phrase_owners(
    concepts: dict[str, Concept], nlp: Language
) -> tuple[dict[tuple[str, ...], set[str]], dict[str, set[str]]]:
    """Token sequences (lower case) and exact-case forms, each with the concepts naming it."""
    lower: dict[tuple[str, ...], set[str]] = defaultdict(set)
    exact: dict[str, set[str]] = defaultdict(set)
    for concept in concepts.values():
        for phrase in {concept.literal, *concept.synonyms} - set(concept.case_sensitive):
            lower[tuple(t.lower_ for t in nlp.make_doc(phrase))].add(concept.id)
        for form in concept.case_sensitive:
            exact[form].add(concept.id)
    return lower, exact


def test_no_phrase_names_two_concepts(concepts: dict[str, Concept], blank_nlp: Language) -> None:
    lower, exact = _phrase_owners(concepts, blank_nlp)
    shared = {" ".join(k): v for k, v in lower.items() if len(v) > 1}
    shared.update({k: v for k, v in exact.items() if len(v) > 1})
    assert shared == {}


def test_case_sensitive_forms_are_not_also_case_insensitive(concepts: dict[str, Concept], blank_nlp: Language) -> None:
    """An exact-case abbreviation also listed as a synonym would match in any case."""
    lower, exact = _phrase_owners(concepts, blank_nlp)
    shadowed = {
        form: sorted(lower[key])
        for form in exact
        if (key := tuple(t.lower_ for t in blank_nlp.make_doc(form))) in lower
    }
    assert shadowed == {}


def test_no_synonym_repeated_within_a_concept(concepts: dict[str, Concept]) -> None:
    repeated = {
        c.id: sorted({s for s in c.synonyms if [x.lower() for x in c.synonyms].count(s.lower()) > 1})
        for c in concepts.values()
    }
    assert {k: v for k, v in repeated.items() if v} == {}


def test_no_synonym_swallows_a_qualifier(concepts: dict[str, Concept], blank_nlp: Language) -> None:
    """Spans name the concept only: "lupus" in "lupus flare", "alcohol" in "alcohol use"."""
    swallowing = []
    for concept in concepts.values():
        forms = {tuple(t.lower_ for t in blank_nlp.make_doc(s)) for s in (concept.literal, *concept.synonyms)}
        for form in forms:
            if len(form) > 1 and (
                (form[0] in EXPECT["qualifiers_before"] and form[1:] in forms)
                or (form[-1] in EXPECT["qualifiers_after"] and form[:-1] in forms)
            ):
                swallowing.append((concept.id, " ".join(form)))
    assert swallowing == []


def test_token_patterns_are_valid_spacy_patterns(concepts: dict[str, Concept], blank_nlp: Language) -> None:
    matcher = Matcher(blank_nlp.vocab, validate=True)
    for concept in concepts.values():
        if concept.pattern:
            matcher.add(concept.id, [list(p) for p in concept.pattern])
    assert len(matcher) == sum(1 for c in concepts.values() if c.pattern)


def test_condition_and_procedure_categories(concepts: dict[str, Concept]) -> None:
    bad = {
        c.id: c.attrs.get("category")
        for c in concepts.values()
        if (c.kind is Kind.CONDITION and c.attrs.get("category") not in EXPECT["condition_categories"])
        or (c.kind is Kind.PROCEDURE and c.attrs.get("category") not in EXPECT["procedure_categories"])
    }
    assert bad == {}


def test_lupus_manifestations_and_long_term_immunosuppression(concepts: dict[str, Concept]) -> None:
    lupus = {c.id for c in concepts.values() if c.attrs.get("lupus_related")}
    assert {"sle", "cutaneous_lupus", "lupus_nephritis", "neuropsychiatric_lupus"} <= lupus
    long_term = {c.id for c in concepts.values() if c.attrs.get("long_term_immunosuppression")}
    assert {
        "rheumatoid_arthritis",
        "inflammatory_bowel_disease",
        "vasculitis",
        "autoimmune_hepatitis",
        "multiple_sclerosis",
        "sarcoidosis",
    } <= long_term
    assert not long_term & lupus


def test_medication_classes_and_ingredients(
    concepts: dict[str, Concept], vocabularies: dict[str, VocabularyFile]
) -> None:
    """Hand-written medications name their classes; every medication names its ingredient."""
    hand = {c.id for c in vocabularies["medications"].entries}
    assert [c.id for c in _of_kind(concepts, Kind.MEDICATION) if not c.attrs.get("ingredient") and
            not c.attrs.get("class_only")] == []
    medications = [c for c in _of_kind(concepts, Kind.MEDICATION) if c.id in hand]
    known = set(EXPECT["medication_classes"]) | {c.id for c in load_drug_classes().classes}
    unknown = {c.id: set(c.attrs.get("classes", ())) - known for c in medications}
    assert {k: v for k, v in unknown.items() if v} == {}
    assert [c.id for c in medications if not c.attrs.get("classes")] == []
    assert [c.id for c in medications if not c.attrs.get("class_only") and not c.attrs.get("ingredient")] == []
    assert [c.id for c in medications if c.attrs.get("oral") and "ocs" not in c.attrs["classes"]] == []


@pytest.mark.parametrize(
    ("concept", "classes"),
    [
        ("rituximab", {"biologic", "anti_cd20", "monoclonal_antibody"}),
        ("inebilizumab", {"biologic", "anti_cd19", "monoclonal_antibody"}),
        ("etanercept", {"biologic"}),
        ("hydroxychloroquine", {"antimalarial"}),
        ("voclosporin", {"conventional_immunosuppressant"}),
        ("deucravacitinib", {"tyk2_inhibitor"}),
        ("fenebrutinib", {"btk_inhibitor", "investigational"}),
        ("cholecalciferol", {"dietary_supplement", "vitamin_d"}),
        ("fish_oil", {"dietary_supplement"}),
        ("aspirin", {"antiplatelet", "cad_medication"}),
    ],
)
def test_medication_class_membership(concepts: dict[str, Concept], concept: str, classes: set[str]) -> None:
    assert set(concepts[concept].attrs["classes"]) == classes


def test_lab_attributes(concepts: dict[str, Concept]) -> None:
    labs = [c for c in concepts.values() if c.kind in (Kind.LAB, Kind.SCORE, Kind.VITAL)]
    assert {
        c.id: c.attrs.get("value_type") for c in labs if c.attrs.get("value_type") not in EXPECT["value_types"]
    } == {}
    assert {
        c.id: c.attrs["canonical_unit"]
        for c in labs
        if "canonical_unit" in c.attrs and c.attrs["canonical_unit"] not in EXPECT["canonical_units"]
    } == {}
    assert [c.id for c in labs if c.attrs["value_type"] == "percent" and c.attrs.get("canonical_unit") != "%"] == []
    infection_pathogens = {c.attrs.get("pathogen") for c in _of_kind(concepts, Kind.INFECTION)}
    assert {c.id for c in labs if c.attrs.get("pathogen") not in infection_pathogens | {None}} == set()


@pytest.mark.parametrize(
    "lab",
    [c.id for v in load_vocabularies() for c in v.entries if c.attrs.get("infer_unit")],
)
def test_inferred_unit_ranges_are_disjoint_and_convert(concepts: dict[str, Concept], lab: str) -> None:
    attrs: dict[str, Any] = concepts[lab].attrs
    ranges = sorted(attrs["infer_unit"], key=lambda r: r["low"])
    assert all(r["low"] < r["high"] for r in ranges)
    assert all(a["high"] < b["low"] for a, b in itertools.pairwise(ranges))
    for r in ranges:
        value = converter().convert(r["high"], r["unit"], attrs["canonical_unit"], attrs.get("molar_mass_g_per_mol"))
        assert value is not None, f"{lab}: {r['unit']} does not convert to {attrs['canonical_unit']}"


@pytest.mark.parametrize(
    ("lab", "value", "unit", "canonical"),
    [
        ("hemoglobin", 9.6, "g/dL", 96.0),
        ("platelets", 150, "K/uL", 150.0),
        ("alc", 800, "/uL", 0.8),
        ("creatinine", 1.0, "mg/dL", 88.4),
        ("total_bilirubin", 1.0, "mg/dL", 17.1),
        ("igg", 450, "mg/dL", 4.5),
        ("c3", 62, "mg/dL", 0.62),
    ],
)
def test_written_units_convert_to_the_canonical_unit(
    concepts: dict[str, Concept], lab: str, value: float, unit: str, canonical: float
) -> None:
    attrs = concepts[lab].attrs
    converted = converter().convert(value, unit, attrs["canonical_unit"], attrs.get("molar_mass_g_per_mol"))
    assert converted == pytest.approx(canonical, rel=2e-3)


def test_vaccines_say_whether_live(concepts: dict[str, Concept]) -> None:
    vaccines = {c.id: c.attrs.get("live") for c in _of_kind(concepts, Kind.VACCINE)}
    assert {k for k, v in vaccines.items() if v is True} >= set(EXPECT["live_vaccines"])
    # a bare "vaccine" and a "flu vaccine" of unknown type do not say
    assert {k for k, v in vaccines.items() if not isinstance(v, bool)} == {"vaccine", "influenza_vaccine"}
    assert vaccines["zoster_recombinant_vaccine"] is False


def test_steroid_equivalence_covers_every_glucocorticoid(concepts: dict[str, Concept]) -> None:
    table = {e.ingredient: e.mg_equivalent_to_prednisone_5mg for e in load_steroid_equivalence().entries}
    assert len(table) == len(load_steroid_equivalence().entries)
    assert table["prednisone"] == 5
    assert table["methylprednisolone"] == 4
    assert table["dexamethasone"] == 0.75
    assert table["hydrocortisone"] == 20
    ocs = {
        c.attrs["ingredient"]
        for c in _of_kind(concepts, Kind.MEDICATION)
        if "ocs" in c.attrs.get("classes", ()) and not c.attrs.get("class_only")
    }
    assert ocs - set(table) == set()


def _phrase_cases() -> list[Any]:
    cases = yaml.safe_load(PHRASE_CASES.read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["text"][:50]) for case in cases]


@pytest.fixture(scope="module")
def concept_matcher(blank_nlp: Language) -> ConceptMatcher:
    return ConceptMatcher(blank_nlp)


@pytest.mark.parametrize("case", _phrase_cases())
def test_phrase_finds_its_concepts(blank_nlp: Language, concept_matcher: ConceptMatcher, case: dict[str, Any]) -> None:
    doc = concept_matcher(blank_nlp.make_doc(case["text"]))
    found = {ent._.concept for ent in doc.ents}
    assert set(case.get("concepts", ())) - found == set()
    assert set(case.get("not", ())) & found == set()
