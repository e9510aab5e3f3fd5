"""Fuzzing the service's request schemas: any JSON body validates to usable notes or fails
with field problems that never quote the note text."""

from __future__ import annotations

from typing import Any

from fuzz_inputs import FUZZ, JSON_VALUES, MARKER, note_records
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from extractor.notes import EARLIEST_DATE, LATEST_DATE
from extractor.service.app import _problem
from extractor.service.schemas import ExtractRequest, ScreenRequest

BODIES = st.one_of(
    st.fixed_dictionaries({"notes": st.lists(note_records(), max_size=3)}),
    st.fixed_dictionaries({
        "trial": st.one_of(st.sampled_from(["blinatumomab-sle", "n2c2-2018"]), JSON_VALUES),
        "screening_date": st.one_of(st.sampled_from(["2025-03-01", "0001-01-01", "9999-12-31", "2025-03-01x"]),
                                    JSON_VALUES),
        "notes": st.lists(note_records(), max_size=3),
    }),
    JSON_VALUES,
)


@FUZZ
@given(BODIES)
def test_bodies_validate_or_name_their_faults_without_the_text(body: Any) -> None:
    for schema in (ExtractRequest, ScreenRequest):
        try:
            request = schema.model_validate(body)
        except ValidationError as exc:
            for error in exc.errors():
                field, message = _problem({**error, "loc": ("body", *error["loc"])})
                assert MARKER not in field and MARKER not in message
            continue
        for note in request.notes:
            converted = note.to_note()
            converted.text.encode("utf-8")
            for day in (converted.date, converted.birth_date):
                assert day is None or EARLIEST_DATE <= day <= LATEST_DATE
        screening_date = getattr(request, "screening_date", None)
        assert screening_date is None or EARLIEST_DATE <= screening_date <= LATEST_DATE
