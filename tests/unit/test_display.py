"""displaCy shows each fact with its qualifiers and value, at the fact's own offsets."""

from __future__ import annotations

import datetime as dt

from spacy.language import Language

import extractor
from extractor.display import KIND_COLOURS, colours, displacy_data, render
from extractor.facts import Kind

TEXT = "No h/o SLE. Mother with lupus. Creatinine 1.2 mg/dL. Takes prednisone 10 mg daily. PMH: TB in 2010."


def test_labels_carry_qualifiers_and_values(nlp: Language) -> None:
    doc = nlp(extractor.make_doc(nlp, TEXT, "N1", dt.date(2025, 1, 1)))
    data = displacy_data(TEXT, doc._.facts)
    shown = {TEXT[e["start"] : e["end"]]: e["label"] for e in data["ents"]}
    assert shown["SLE"] == "CONDITION · negated"
    assert shown["lupus"] == "CONDITION · family"
    assert shown["Creatinine"] == "LAB = 1.2 mg/dL"
    assert shown["prednisone"] == "MEDICATION = 10 mg daily"
    assert shown["TB"].endswith("historical")


def test_qualified_facts_are_paler_and_the_html_names_them(nlp: Language) -> None:
    doc = nlp(extractor.make_doc(nlp, TEXT, "N1", dt.date(2025, 1, 1)))
    chosen = colours(doc._.facts)
    affirmed, qualified = KIND_COLOURS[Kind.CONDITION]
    assert chosen["CONDITION · negated"] == chosen["CONDITION · family"] == qualified
    assert chosen["LAB = 1.2 mg/dL"] == KIND_COLOURS[Kind.LAB][0]
    assert affirmed != qualified
    html = render(doc)
    assert "CONDITION · negated" in html and "LAB = 1.2 mg/dL" in html
    assert "N1" in html  # the note id as the title
