"""Medications: dose, route, frequency, status, response and timeline around a drug's name.

Read from the text after the name (dose, route, frequency, "x2" courses) and from cue
phrases in its sentence (status: current / past / planned / held / stopped; response:
inadequate response / failure / refractory / intolerance / allergy), with the section's
default status (a medication list means current). Corticosteroid doses get their
prednisone-equivalent daily dose from the equivalence table in ``patterns/``.
"""

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from spacy.language import Language
from spacy.tokens import Doc, Span

from extractor.extensions import register_extensions
from extractor.facts import Assertion, MedResponse, MedStatus, TimeRole
from extractor.payloads import MedicationPayload, TimePayload, context_of, get_payload, set_payload
from extractor.pipeline.note_text import note_text
from extractor.pipeline.rule_files import RuleFileComponent, rules_directory
from extractor.pipeline.sections import load_sections
from extractor.pipeline.sentence_index import SentenceBounds, SentenceIndex
from extractor.resources import (
    VOCABULARY_FILES,
    Concept,
    Header,
    concepts_by_id,
    load_model,
    load_steroid_equivalence,
)

PAST_AFTER = dt.timedelta(days=90)  # a dated course this old, with no word that it goes on, is past
MASS_TO_MG = {"mg": 1.0, "g": 1000.0, "gm": 1000.0, "gram": 1000.0, "grams": 1000.0, "mcg": 0.001, "µg": 0.001}


class MedicationDetailsFile(Header):
    schema_: Literal["medication-details/v1"] = Field(alias="schema")
    max_chars_after: int
    dose: str
    route: str
    frequency: str
    course: str
    taper: str
    frequencies: dict[str, float]
    status_cues: dict[MedStatus, tuple[str, ...]]
    response_cues: dict[MedResponse, tuple[str, ...]]
    time_roles: dict[TimeRole, tuple[str, ...]]


def _cue_regex(phrases: tuple[str, ...]) -> re.Pattern[str]:
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<![\w/])(?:" + "|".join(re.escape(p) for p in ordered) + r")(?![\w/])", re.IGNORECASE)


class MedicationReader(RuleFileComponent):
    """Fills ``span._.medication`` for every medication mention."""

    rule_files = ("medication_details.yaml", "steroid_equivalence.yaml", "sections.yaml", *VOCABULARY_FILES)

    def __init__(self, nlp: Language, name: str = "extractor_medications", patterns: str = "") -> None:
        register_extensions()
        self.name = name
        self.load_rules(rules_directory(patterns))

    def load_rules(self, directory: Path) -> None:
        self.rules_dir = directory
        self.rules: MedicationDetailsFile = load_model(MedicationDetailsFile, directory / "medication_details.yaml")
        r = self.rules
        self._dose = re.compile(r.dose, re.IGNORECASE)
        self._route = re.compile(r.route, re.IGNORECASE)
        self._frequency = re.compile(r.frequency, re.IGNORECASE)
        self._course = re.compile(r.course, re.IGNORECASE)
        self._taper = re.compile(r.taper, re.IGNORECASE)
        self._status = {k: _cue_regex(v) for k, v in r.status_cues.items()}
        self._response = {k: _cue_regex(v) for k, v in r.response_cues.items()}
        self._roles = {k: _cue_regex(v) for k, v in r.time_roles.items()}
        self._frequencies = {k.replace(".", "").replace(" ", ""): v for k, v in r.frequencies.items()}
        self.concepts: dict[str, Concept] = concepts_by_id(directory)
        equivalence = load_steroid_equivalence(directory).entries
        self.equivalence = {e.ingredient: e.mg_equivalent_to_prednisone_5mg for e in equivalence}
        self.sections = {s.category: s for s in load_sections(directory).sections}

    def __call__(self, doc: Doc) -> Doc:
        ents = list(doc.ents)
        sentences = SentenceIndex(doc)
        text = note_text(doc)
        for index, ent in enumerate(ents):
            if ent.label_ != "MEDICATION":
                continue
            following = next((e for e in ents[index + 1 :] if e.label_ == "MEDICATION"), None)
            details = self.read(doc, text, ent, following, sentences.sent(ent))
            set_payload(ent, MedicationPayload.model_validate(details))
        return doc

    def read(
        self, doc: Doc, text: str, ent: Span, following: Span | None, sent: SentenceBounds
    ) -> dict[str, Any]:
        """Everything the text around ``ent`` says about the medication."""
        concept = self.concepts.get(ent._.concept or "")
        attrs = concept.attrs if concept else {}
        ingredient = attrs.get("ingredient", ent._.concept)
        line_end = text.find("\n", ent.end_char)
        limit = min(
            len(text) if line_end == -1 else line_end,
            sent.end_char,
            ent.end_char + self.rules.max_chars_after,
            following.start_char if following is not None else len(text),
        )
        window_start = ent.end_char
        details: dict[str, Any] = {"ingredient": ingredient, "classes": list(attrs.get("classes", []))}
        dose = self._dose.search(text, window_start, limit)
        if dose:
            details["dose"] = float(dose.group("dose"))
            details["dose_unit"] = dose.group("dose_unit").lower()
        route = self._route.search(text, window_start, limit)
        if route:
            details["route"] = route.group("route").lower()
        frequency = self._frequency.search(text, window_start, limit)
        if frequency:
            details["frequency"] = frequency.group("frequency").lower()
        course = self._course.search(text, window_start, limit)
        if course:
            details["course_count"] = int(course.group("count"))
        self._daily_dose(details)
        self._status_and_response(text, ent, details, sent)
        self._dose_changes(text, sent, details)
        self._time(doc, text, ent, details, sent)
        return details

    def _daily_dose(self, details: dict[str, Any]) -> None:
        unit = details.get("dose_unit")
        if "dose" not in details or unit not in MASS_TO_MG:
            return
        key = (details.get("frequency") or "").replace(".", "").replace(" ", "")
        per_day = self._frequencies.get(key)
        if per_day is None:
            return
        mg_per_day = details["dose"] * MASS_TO_MG[unit] * per_day
        details["daily_dose"] = round(mg_per_day, 4)
        details["daily_dose_unit"] = "mg/day"
        equivalent = self.equivalence.get(details["ingredient"])
        if equivalent and "ocs" in details["classes"]:
            details["prednisone_equivalent_mg_day"] = round(mg_per_day * 5.0 / equivalent, 3)

    def _status_and_response(self, text: str, ent: Span, details: dict[str, Any], sent: SentenceBounds) -> None:
        section = self.sections.get(ent._.note_section or "")
        status = (section.med_status if section else None) or "current"
        best: tuple[int, str] | None = None
        for name, regex in self._status.items():
            for match in regex.finditer(text, sent.start_char, sent.end_char):
                if ent.start_char <= match.start() < ent.end_char:
                    continue
                distance = _gap(ent, match)
                if best is None or distance < best[0]:
                    best = (distance, name)
        if best is not None:
            status = best[1]
        else:
            details["_status_from_default"] = True
        if context_of(ent).assertion is Assertion.HYPOTHETICAL and status == "current":
            status = "planned"
        details["status"] = status
        responses = [
            name
            for name, regex in self._response.items()
            if regex.search(text, sent.start_char, sent.end_char)
        ]
        if section is not None and section.med_response and section.med_response not in responses:
            responses.append(section.med_response)
        details["response"] = responses

    def _dose_changes(self, text: str, sent: SentenceBounds, details: dict[str, Any]) -> None:
        changes = []
        for match in self._taper.finditer(text, sent.start_char, sent.end_char):
            raw_from = match.group("from") or match.group("from2")
            raw_to = match.group("to") or match.group("to2")
            changes.append({
                "from_dose": float(raw_from),
                "to_dose": float(raw_to),
                "unit": (match.group("unit") or match.group("unit2") or details.get("dose_unit")),
                "text": match.group(0),
            })
        if changes:
            details["dose_changes"] = changes

    def _time(self, doc: Doc, text: str, ent: Span, details: dict[str, Any], sent: SentenceBounds) -> None:
        time = get_payload(ent, TimePayload)
        if time is None:
            details.pop("_status_from_default", None)
            return
        best: tuple[int, int, str] | None = None
        for role, regex in self._roles.items():
            for match in regex.finditer(text, sent.start_char, sent.end_char):
                # the cue nearest the time wins; of cues ending together, the longest
                # ("unchanged since" over "since")
                key = (abs(match.end() - (time.char_start or 0)), -(match.end() - match.start()))
                if best is None or key < best[:2]:
                    best = (*key, role)
        role = best[2] if best is not None else None
        if role is not None:
            details[role] = time
        from_default = details.pop("_status_from_default", False)
        latest = time.end or time.date
        note_date = doc._.note_date
        if (
            from_default
            and details["status"] == "current"
            and role not in ("start", "stable_since")
            and latest is not None
            and note_date is not None
            and latest < dt.date.fromisoformat(note_date) - PAST_AFTER
        ):
            # "rituximab x2 in 2023" with nothing saying it goes on: a past course
            details["status"] = "past"


def _gap(ent: Span, match: re.Match[str]) -> int:
    if match.start() >= ent.end_char:
        return match.start() - ent.end_char
    return max(0, ent.start_char - match.end())


@Language.factory("extractor_medications", default_config={"patterns": ""}, assigns=["span._.medication"])
def make_medications(nlp: Language, name: str, patterns: str) -> MedicationReader:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return MedicationReader(nlp, name, patterns)
