"""Report material: criteria linked to exact spans, facts with their qualifier badges."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_material import FACTS, NOTES, TRIAL, VERDICTS

from extractor.report.model import Material, badges, build_views, material_from_files, material_from_store, slug
from extractor.store import Store


@pytest.mark.parametrize(
    ("qualifiers", "expected"),
    [
        ({}, ()),
        ({"assertion": "absent"}, ("negated",)),
        ({"assertion": "possible"}, ("possible",)),
        ({"assertion": "hypothetical", "temporality": "historical"}, ("hypothetical", "historical")),
        ({"experiencer": "family"}, ("family",)),
        ({"experiencer": "other"}, ("other person",)),
    ],
)
def test_badges_name_every_qualifier(qualifiers: dict[str, str], expected: tuple[str, ...]) -> None:
    assert badges(qualifiers) == expected


def test_files_and_store_give_the_same_pages(files: dict[str, Path], store_path: Path) -> None:
    from_files = build_views(material_from_files(files["verdicts"], files["notes"], files["facts"]))
    with Store.open(store_path, read_only=True) as store:
        from_store = build_views(material_from_store(store))
    assert from_files == from_store
    p001 = from_files[0]
    assert (p001.patient_id, p001.overall) == ("P001", "ineligible")
    assert [c.id for c in p001.excluded_by] == ["exc-tuberculosis"]
    assert [c.id for c in p001.to_check] == ["exc-cns-lupus"]
    assert p001.criteria[1].text == "Hemoglobin >= 80 g/L."  # the protocol's words, from the trial file
    [tb] = p001.criteria[2].evidence
    assert (tb.note_id, tb.anchor) == ("P001-N2", f"p-P001--blinatumomab-sle-n-P001-N2-{tb.start}-{tb.end}")
    assert f'id="{tb.anchor}"' in str(p001.notes[1].html)
    family = next(f for n in p001.notes for f in n.facts if f.concept == "lupus_nephritis")
    assert family.badges == ("family",)


def test_a_span_that_is_not_the_note_text_is_flagged_not_highlighted() -> None:
    verdict = {**VERDICTS[1], "criteria": [dict(VERDICTS[1]["criteria"][1])]}
    wrong = {**verdict["criteria"][0]["evidence"][0], "start": 0, "end": 13}  # right words, wrong place
    verdict["criteria"][0]["evidence"] = [wrong]
    material = Material([verdict], {"P002": [n for n in NOTES if n["patient_id"] == "P002"]}, {})
    [view] = build_views(material)
    [link] = view.criteria[0].evidence
    assert link.anchor is None
    assert "<mark" not in str(view.notes[0].html)


def test_facts_of_other_patients_are_not_shown(files: dict[str, Path]) -> None:
    views = build_views(material_from_files(files["verdicts"], files["notes"], files["facts"], trial=TRIAL))
    shown = {f.concept for n in views[1].notes for f in n.facts}
    assert shown == {f["concept"] for f in FACTS if f["patient_id"] == "P002"}


def test_facts_show_values_doses_dates_and_their_cues() -> None:
    material = Material([VERDICTS[0]], {"P001": [n for n in NOTES if n["patient_id"] == "P001"]}, {})
    material.facts["P001"] = [f for f in FACTS if f["patient_id"] == "P001"]
    [view] = build_views(material)
    by_words = {f.link.text: f for f in view.facts}
    assert by_words["Hgb 9.6"].details == ("9.6 g/dL", "= 96 g/L", "dated 2025-02-14")
    assert (by_words["Hgb 9.6"].lab_value, by_words["Hgb 9.6"].lab_unit) == (96.0, "g/L")
    assert by_words["prednisone"].details == (
        "10 mg",
        "daily",
        "10 mg/day prednisone-equivalent",
        "since 2025-01-10",
        "dated 2025-02-14",
    )
    [negation] = by_words["fever"].cues
    assert (negation.text, negation.name) == ("No", "negation")
    [family] = by_words["lupus nephritis"].cues
    assert (family.text, family.name) == ("Mother", "family")
    html = str(view.notes[0].html)
    assert '<mark class="cue" data-keys="' in html
    assert 'title="negation cue for fever"' in html
    assert 'data-criteria="p-P001--blinatumomab-sle-c-inc-sle-diagnosis" tabindex="0"' in html
    assert 'data-tag="inc-sle-diagnosis"' in html


@pytest.mark.parametrize(
    ("patient_id", "expected"),
    [("P001", "P001"), ("a/b c", "a~2f~b~20~c"), ("a~2f~b", "a~7e~2f~7e~b"), ("x.y-z_1", "x.y-z_1")],
)
def test_slugs_are_stable_and_never_collide(patient_id: str, expected: str) -> None:
    assert slug(patient_id) == expected
