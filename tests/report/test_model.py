"""Report material: criteria linked to exact spans, facts with their qualifier badges."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_material import FACTS, NOTES, VERDICTS

from extractor.report.model import Material, badges, build_views, material_from_files, material_from_store
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
    assert (p001.patient_id, p001.overall, dict(p001.counts)) == ("P001", "ineligible", {"met": 3, "unknown": 1})
    [tb] = p001.criteria[2].evidence
    assert (tb.note_id, tb.anchor) == ("P001-N2", f"p0-n1-{tb.start}-{tb.end}")
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
    views = build_views(material_from_files(files["verdicts"], files["notes"], files["facts"], trial="demo"))
    shown = {f.concept for n in views[1].notes for f in n.facts}
    assert shown == {f["concept"] for f in FACTS if f["patient_id"] == "P002"}
