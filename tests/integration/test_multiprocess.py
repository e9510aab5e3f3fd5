"""``nlp.pipe(n_process=2)`` works: every stage leaves the Doc serialisable."""

from __future__ import annotations

import datetime as dt

import extractor
from extractor.notes import Note


def test_two_processes_give_the_same_facts() -> None:
    nlp = extractor.load()
    notes = [
        Note(patient_id="P", note_id=f"N{i}", date=dt.date(2025, 1, 1), text=text)
        for i, text in enumerate([
            "14 yo F with SLE. No h/o TB. Hgb 9.6 g/dL.",
            "Family History: mother with SLE.\nMeds:\n1. prednisone 10 mg PO daily",
            "r/o PE. Last rituximab infusion 2 weeks ago.",
            "",
        ])
    ]
    single = [(n.note_id, [f.to_json_dict() for f in fs]) for n, fs in extractor.extract_notes(notes, nlp)]
    double = [
        (n.note_id, [f.to_json_dict() for f in fs])
        for n, fs in extractor.extract_notes(notes, nlp, batch_size=1, n_process=2)
    ]
    assert double == single
    assert any(facts for _, facts in single)
