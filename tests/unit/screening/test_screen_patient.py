"""A patient's chart: copy-forward counted once, screening date, what is cited."""

from __future__ import annotations

import datetime as dt

from screening_chart import build_chart

from extractor.facts import TimeRef
from extractor.screening.patient import PatientRecord
from extractor.screening.timeline import Span

D = dt.date


def record(spec: dict, screening: dt.date | None = None) -> PatientRecord:
    notes, facts = build_chart(spec)
    return PatientRecord(notes, facts, screening)


def test_copied_line_is_one_mention_cited_at_its_latest_copy_dated_from_its_first() -> None:
    patient = record({
        "notes": {"N1": "2024-06-01", "N2": "2025-01-10", "N3": "2025-03-01"},
        "facts": [
            {"note": n, "kind": "condition", "concept": "seizure", "text": "seizure last week",
             "span": "seizure", "date": d}
            for n, d in (("N1", "2024-05-25"), ("N2", "2025-01-03"), ("N3", "2025-02-22"))
        ],
    })
    (mention,) = patient.mentions
    assert (mention.copies, mention.fact.evidence.note_id) == (3, "N3")
    assert (mention.first_written, mention.written) == (D(2024, 6, 1), D(2025, 3, 1))
    assert mention.span == Span.point(D(2024, 5, 25))


def test_same_words_in_different_sentences_are_different_mentions() -> None:
    patient = record({
        "notes": {"N1": "2025-01-10", "N2": "2025-03-01"},
        "facts": [
            {"note": "N1", "kind": "condition", "concept": "seizure", "text": "seizure in clinic", "span": "seizure"},
            {"note": "N2", "kind": "condition", "concept": "seizure", "text": "seizure at home", "span": "seizure"},
        ],
    })
    assert len(patient.mentions) == 2


def test_negated_copy_is_not_merged_with_an_affirmed_one() -> None:
    patient = record({
        "notes": {"N1": "2025-01-10", "N2": "2025-03-01"},
        "facts": [
            {"note": "N1", "kind": "condition", "concept": "seizure", "text": "seizure"},
            {"note": "N2", "kind": "condition", "concept": "seizure", "text": "seizure", "assertion": "absent"},
        ],
    })
    assert len(patient.mentions) == 2


def test_screening_date_defaults_to_the_latest_note_and_later_notes_are_not_read() -> None:
    spec = {
        "notes": {"N1": "2025-01-10", "N2": "2025-03-01"},
        "facts": [
            {"note": "N1", "kind": "condition", "concept": "seizure", "text": "seizure"},
            {"note": "N2", "kind": "condition", "concept": "stroke", "text": "stroke"},
        ],
    }
    assert record(spec).screening_date == D(2025, 3, 1)
    early = record(spec, D(2025, 2, 1))
    assert [m.fact.concept for m in early.mentions] == ["seizure"]
    assert early.latest_note_date == D(2025, 1, 10)


def test_statement_spans() -> None:
    patient = record({
        "notes": {"N1": "2025-03-01"},
        "facts": [
            {"kind": "condition", "concept": "sle", "text": "SLE"},
            {"kind": "condition", "concept": "stroke", "text": "history of stroke", "temporality": "historical"},
            {"kind": "condition", "concept": "myocardial_infarction", "text": "MI 2023",
             "date": "2023-01-01..2023-12-31", "temporality": "historical"},
        ],
    })
    spans = {m.fact.concept: (m.span, m.ongoing) for m in patient.mentions}
    assert spans["sle"] == (Span.point(D(2025, 3, 1)), True)
    assert spans["stroke"] == (Span(None, D(2025, 3, 1)), False)
    assert spans["myocardial_infarction"] == (Span(D(2023, 1, 1), D(2023, 12, 31)), False)


def test_a_lab_is_cited_from_its_name_through_value_and_unit() -> None:
    patient = record({
        "facts": [{"kind": "lab", "concept": "hemoglobin", "text": "Hgb   9.6 g/dL today", "span": "Hgb",
                   "value": 9.6, "unit": "g/dL", "value_text": "9.6"}],
    })
    cited = patient.cite(patient.mentions[0])
    assert (cited.text, cited.char_start, cited.char_end) == ("Hgb   9.6 g/dL", 0, 14)


def cited_text(note_text: str, phrase: str, span: str) -> str:
    patient = record({
        "notes": {"N1": {"date": "2025-03-01", "text": note_text}},
        "facts": [{"kind": "condition", "concept": "sle", "text": phrase, "span": span}],
    })
    return patient.cite(patient.mentions[0]).text


def test_a_fact_is_cited_with_its_clause() -> None:
    # the clause ends at a semicolon, a full stop or a table's column gap; a line ends it too
    text = "HPI: 14 yo F.  SLE dx 10/2021; on HCQ\nno seizures since 2020   Labs: none"
    assert cited_text(text, "SLE dx 10/2021", "SLE") == "SLE dx 10/2021"
    assert cited_text(text, "no seizures", "seizures") == "no seizures since 2020"


def test_a_long_clause_is_not_cited_whole() -> None:
    text = "SLE " + "with arthritis, rash and serositis " * 6 + "and more\n"
    assert cited_text(text, "SLE", "SLE") == "SLE"


def test_the_patients_introduction_is_cited_for_age_and_sex() -> None:
    from extractor.screening.predicates.demographics import introduction

    patient = record({
        "notes": {"N1": {"date": "2025-01-10", "text": "Re: clinic\n16 y/o male with SLE"},
                  "N2": {"date": "2025-03-01", "text": "16yo M, follow-up"}},
        "facts": [
            {"note": "N1", "kind": "demographic", "concept": "age", "text": "16 y/o", "years": 16},
            {"note": "N1", "kind": "demographic", "concept": "sex", "text": "male", "sex": "M"},
            {"note": "N2", "kind": "demographic", "concept": "age", "text": "16yo", "years": 16},
        ],
    })
    intro = introduction(patient)
    assert intro is not None and (intro.note_id, intro.text) == ("N1", "16 y/o male")


def test_an_introduction_a_family_cue_only_follows_is_the_patients() -> None:
    # "mom" later in the sentence makes the pipeline read the words as the mother's; a
    # relative's age is written after the relative is named, so these introduce the patient
    from extractor.screening.predicates.demographics import introduction

    text = "HPI: 14 yo F with SLE, mom asking about the study\nSocial: mother, 38 yo F, well"
    cue = [{"category": "FAMILY", "text": "mom", "char_start": text.find("mom"), "char_end": text.find("mom") + 3}]
    late = [{"category": "FAMILY", "text": "mother", "char_start": text.find("mother"),
             "char_end": text.find("mother") + 6}]
    patient = record({
        "notes": {"N1": {"date": "2025-01-10", "text": text}},
        "facts": [
            {"kind": "demographic", "concept": "age", "text": "14 yo", "years": 14, "experiencer": "family",
             "attrs": {"context_cues": cue}},
            {"kind": "demographic", "concept": "sex", "text": "F", "sex": "F", "experiencer": "family",
             "attrs": {"context_cues": cue}},
            {"kind": "demographic", "concept": "age", "text": "38 yo", "years": 38, "experiencer": "family",
             "attrs": {"context_cues": late}},
        ],
    })
    intro = introduction(patient)
    assert intro is not None and intro.text == "14 yo F"
    mother_only = record({
        "notes": {"N1": {"date": "2025-01-10", "text": text}},
        "facts": [
            {"kind": "demographic", "concept": "age", "text": "38 yo", "years": 38, "experiencer": "family",
             "attrs": {"context_cues": late}},
            {"kind": "demographic", "concept": "sex", "text": "F", "sex": "F", "nth": 2, "experiencer": "family",
             "attrs": {"context_cues": late}},
        ],
    })
    assert introduction(mother_only) is None


def test_abuse_is_found_by_a_criterion_on_use() -> None:
    """Alcohol and drug abuse are use (``parents`` in conditions.yaml): "current alcohol use
    over the limits" must count a chart that says only "alcohol abuse"."""
    patient = record({
        "notes": {"N1": "2025-01-10"},
        "facts": [
            {"note": "N1", "kind": "condition", "concept": "alcohol_abuse", "text": "alcohol abuse"},
            {"note": "N1", "kind": "condition", "concept": "drug_abuse", "text": "cocaine abuse"},
        ],
    })
    assert [m.fact.concept for m in patient.find(concepts=["alcohol_use"])] == ["alcohol_abuse"]
    assert [m.fact.concept for m in patient.find(concepts=["drug_use"])] == ["drug_abuse"]
    assert patient.find(concepts=["alcohol_abuse"], kinds=["social"]) == []


def test_a_stable_dose_is_cited_with_its_stable_since_date_wherever_the_line_puts_it() -> None:
    text = "- prednisone since dx, tapers, flares below 10 mg; currently 7.5 mg daily, unchanged since 01/10/2025\n"
    at = text.index("01/10/2025")
    since = TimeRef(date=D(2025, 1, 10), precision="day", source="text", text="01/10/2025", char_start=at,
                    char_end=at + 10)
    notes, facts = build_chart({
        "notes": {"N1": {"date": "2025-03-01", "text": text}},
        "facts": [{"kind": "medication", "concept": "prednisone", "text": "prednisone", "classes": ["ocs"]}],
    })
    details = facts[0].medication
    assert details is not None
    fact = facts[0].model_copy(update={"medication": details.model_copy(update={"stable_since": since})})
    patient = PatientRecord(notes, [fact])
    # the date sits more than a clause away, after a semicolon: still cited with its drug
    assert patient.cite(patient.mentions[0]).text == text.strip()


def test_a_drug_in_a_long_list_is_cited_as_its_own_item() -> None:
    text = ("Home meds: prednisone 10 mg PO daily (since 08/2025), hydroxychloroquine 200 mg PO daily, "
            "mycophenolate mofetil 750 mg PO BID (since 03/2024, dose per nephrology), cholecalciferol 1000 IU daily\n")

    def cited(phrase: str) -> str:
        patient = record({
            "notes": {"N1": {"date": "2025-03-01", "text": text}},
            "facts": [{"kind": "medication", "concept": "x", "text": phrase, "classes": []}],
        })
        return patient.cite(patient.mentions[0]).text

    assert cited("prednisone") == "prednisone 10 mg PO daily (since 08/2025)"
    assert cited("hydroxychloroquine") == "hydroxychloroquine 200 mg PO daily"
    # a comma inside the item's brackets does not end it
    assert cited("mycophenolate mofetil") == "mycophenolate mofetil 750 mg PO BID (since 03/2024, dose per nephrology)"
    # cited words that open a bracket ("... (since 03/2024") end where it closes
    assert cited("mycophenolate mofetil 750 mg PO BID (since 03/2024") == (
        "mycophenolate mofetil 750 mg PO BID (since 03/2024, dose per nephrology)"
    )
