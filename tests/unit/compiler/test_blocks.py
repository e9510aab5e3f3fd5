"""Eligibility blocks → sections and nested bullets."""

from __future__ import annotations

from extractor.compiler.blocks import lead_in, parse_blocks

REGISTRY = """
        Inclusion Criteria:

          -  age > 18 years

          -  Presence of acute respiratory distress syndrome with arterial partial pressure of
             oxygen between 200 and 300 mm/Hg

          -  Presence of exaggerated inflammatory response defined by at least 1 of
             the following criteria:

               -  Serum CRP greater than or equal to 10 mg/dl;

               -  CRP increase of at least twice the basal value

        Exclusion Criteria:

          -  Pregnant or breastfeeding patient
"""


def test_wrapped_lines_join_and_nested_bullets_attach() -> None:
    bullets = parse_blocks(REGISTRY)
    assert [b.section for b in bullets] == ["inclusion", "inclusion", "inclusion", "exclusion"]
    assert bullets[1].text.endswith("arterial partial pressure of oxygen between 200 and 300 mm/Hg")
    assert [c.text for c in bullets[2].children] == [
        "Serum CRP greater than or equal to 10 mg/dl;",
        "CRP increase of at least twice the basal value",
    ]


def test_unmarked_lines_after_a_lead_in_stop_at_a_new_heading() -> None:
    text = (
        "Inclusion Criteria:\nPositive Antibody: at least one of the following:\nANA >= 1:80.\n"
        "Anti-Sm above the ULN.\nSLEDAI-2000 Score: >= 6.\n"
    )
    bullets = parse_blocks(text)
    assert [b.text for b in bullets] == [
        "Positive Antibody: at least one of the following:", "SLEDAI-2000 Score: >= 6."
    ]
    assert len(bullets[0].children) == 2


def test_id_table_keeps_ids_and_continuations() -> None:
    text = "Preamble line.\n\nABC-1        First criterion,\n             continued.\nXYZ          Second.\n"
    bullets = parse_blocks(text)
    assert [(b.given_id, b.text) for b in bullets] == [("ABC-1", "First criterion, continued."), ("XYZ", "Second.")]


def test_lead_in_logic() -> None:
    assert lead_in("Inadequate response to at least three of the following:") == ("at_least", 3)
    assert lead_in("At least one of the following antibodies positive:") == ("any", 1)
    assert lead_in("Laboratory Parameters:") == ("group", 0)
    assert lead_in("Age >= 18 years") is None
