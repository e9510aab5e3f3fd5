"""Medications: dose, route, frequency, status, response and timeline around a drug's name.

Read from the text after the name (dose, route, frequency, "x2" courses) and from cue
phrases in its sentence (status: current / past / planned / held / stopped; response:
inadequate response / failure / refractory / intolerance / allergy), with the section's
default status (a medication list means current). Corticosteroid doses get their
prednisone-equivalent daily dose from the equivalence table in ``patterns/``.
"""

import datetime as dt
import re
from bisect import bisect_left, bisect_right
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
    CONCEPT_FILES,
    Concept,
    Header,
    concepts_by_id,
    load_model,
    load_steroid_equivalence,
)

PAST_AFTER = dt.timedelta(days=90)  # a dated course this old, with no word that it goes on, is past
_ROLE_REACH = 40  # farthest a time-role cue ("since", "last dose") may end from the time it names
_ANCHOR_REACH = 20  # characters before a drug's name searched for "since before" and the like
_CUE_REACH = 30  # characters after a drug's name within which a response cue is that drug's
_TABLET_GAP = re.compile(r"[ \t]*(?:tabs?|tablets?|caps?|capsules?)?[ \t]*")  # "5 mg tab, 3 tabs"
MASS_TO_MG = {"mg": 1.0, "g": 1000.0, "gm": 1000.0, "gram": 1000.0, "grams": 1000.0, "mcg": 0.001, "µg": 0.001}


class MedicationDetailsFile(Header):
    schema_: Literal["medication-details/v1"] = Field(alias="schema")
    max_chars_after: int
    dose: str
    route: str
    frequency: str
    tablets: str
    tablet_counts: dict[str, float]
    local_routes: tuple[str, ...]
    course: str
    taper: str
    frequencies: dict[str, float]
    status_cues: dict[MedStatus, tuple[str, ...]]
    response_cues: dict[MedResponse, tuple[str, ...]]
    # words that carry a response cue to every drug of the list before them ("..., all with
    # inadequate response"), and clause starts that carry it to the clause before (": partial
    # response only" after "prednisone + MMF;")
    list_quantifiers: tuple[str, ...] = ()
    # words right before a drug that name it as a time anchor: "since before rituximab",
    # "post-rituximab", "after rituximab": the drug was given in the past, not taken now
    anchor_cues: tuple[str, ...] = ()
    # words before a dose that make it a ceiling reached, not the dose taken: "up to 1500 mg BID,
    # inadequate response; 1000 mg BID, same dose since 06/2024" is taken at 1000 mg BID
    dose_ceiling_cues: tuple[str, ...] = ()
    time_roles: dict[TimeRole, tuple[str, ...]]


class _CuePhrases:
    r"""Phrases found as whole words in any case ("d/c'd", "no longer on"), longest first.

    The plain regex, ``(?<![\w/])(?:...)(?![\w/])`` ignoring case, starts with a look-behind,
    so Python's engine tries it at every character of every sentence that names a drug.
    Matched case-sensitively on lower-case text and without the look-behind, the engine skips
    to the phrases' first letters; the look-behind is then checked here. The matches are the
    same where lower-casing changes nothing but ASCII capitals (``_SentenceMatches`` decides);
    elsewhere the plain regex runs.
    """

    def __init__(self, phrases: tuple[str, ...]) -> None:
        ordered = sorted(phrases, key=len, reverse=True)
        self.regex = re.compile(rf"(?<![\w/])(?:{'|'.join(re.escape(p) for p in ordered)})(?![\w/])", re.IGNORECASE)
        self._lower = (
            re.compile(rf"(?:{'|'.join(re.escape(p.lower()) for p in ordered)})(?![\w/])")
            if all(p.isascii() for p in phrases)
            else None
        )

    def finditer(self, text: str, lower: str | None, pos: int, endpos: int) -> list[re.Match[str]]:
        """The matches in ``text[pos:endpos]``; ``lower`` is ``text`` lower-cased, or None."""
        if lower is None or self._lower is None:
            return list(self.regex.finditer(text, pos, endpos))
        found = []
        while (match := self._lower.search(lower, pos, endpos)) is not None:
            start = match.start()
            if start and (lower[start - 1].isalnum() or lower[start - 1] in "_/"):  # the look-behind: \w or /
                pos = start + 1
                continue
            found.append(match)
            pos = match.end()
        return found


class MedicationReader(RuleFileComponent):
    """Fills ``span._.medication`` for every medication mention."""

    rule_files = ("medication_details.yaml", "steroid_equivalence.yaml", "sections.yaml", *CONCEPT_FILES)

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
        self._tablets = re.compile(r.tablets, re.IGNORECASE)
        self._taper = re.compile(r.taper, re.IGNORECASE)
        self._status = {k: _CuePhrases(v) for k, v in r.status_cues.items()}
        self._response = {k: _CuePhrases(v) for k, v in r.response_cues.items()}
        self._quantifier = _CuePhrases(r.list_quantifiers) if r.list_quantifiers else None
        self._anchor = _CuePhrases(r.anchor_cues) if r.anchor_cues else None
        ceilings = "|".join(re.escape(cue) for cue in sorted(r.dose_ceiling_cues, key=len, reverse=True))
        self._ceiling = re.compile(rf"(?<![\w/])(?:{ceilings})[ \t]*$", re.IGNORECASE) if ceilings else None
        self._roles = {k: _CuePhrases(v) for k, v in r.time_roles.items()}
        self._frequencies = {k.replace(".", "").replace(" ", ""): v for k, v in r.frequencies.items()}
        self.concepts: dict[str, Concept] = concepts_by_id(directory)
        equivalence = load_steroid_equivalence(directory).entries
        self.equivalence = {e.ingredient: e.mg_equivalent_to_prednisone_5mg for e in equivalence}
        self.sections = {s.category: s for s in load_sections(directory).sections}

    def __call__(self, doc: Doc) -> Doc:
        drugs = [(ent, ent._.concept) for ent in doc.ents if ent.label_ == "MEDICATION"]
        if not drugs:
            return doc
        sentences = SentenceIndex.of(doc)
        text = note_text(doc)
        cues = _SentenceMatches(text)
        drug_ends = [ent.end_char for ent, _ in drugs]
        following: Span | None = None  # the next drug of another concept, found walking back
        for index in range(len(drugs) - 1, -1, -1):
            ent, concept = drugs[index]
            details = self.read(doc, text, ent, following, sentences.sent(ent), cues, drug_ends)
            set_payload(ent, MedicationPayload.model_validate(details))
            if index and drugs[index - 1][1] != concept:
                following = ent
        return doc

    def read(
        self,
        doc: Doc,
        text: str,
        ent: Span,
        following: Span | None,
        sent: SentenceBounds,
        cues: "_SentenceMatches",
        drug_ends: list[int],
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
        if dose and self._ceiling is not None and self._ceiling.search(text, max(0, dose.start() - 20), dose.start()):
            # a ceiling reached ("up to 1500 mg BID"): the dose taken is a later one, if written
            dose = self._dose.search(text, dose.end(), limit) or dose
        if dose:
            details["dose"] = float(dose.group("dose"))
            details["dose_unit"] = dose.group("dose_unit").lower()
            tablets = self._tablets.search(text, dose.end(), limit)
            if tablets and _TABLET_GAP.fullmatch(text, dose.end(), tablets.start()):
                raw = tablets.group("count").lower()
                count = self.rules.tablet_counts.get(raw) or float(raw)
                details["dose"] = round(details["dose"] * count, 4)
        route = self._route.search(text, window_start, limit)
        if route:
            details["route"] = route.group("route").lower()
            if details["route"] in self.rules.local_routes:
                # "hydrocortisone 1% cream" is no oral corticosteroid
                details["classes"] = [c for c in details["classes"] if c != "ocs"]
        frequency = self._frequency.search(text, window_start, limit)
        if frequency:
            details["frequency"] = frequency.group("frequency").lower()
        course = self._course.search(text, window_start, limit)
        if course:
            details["course_count"] = int(course.group("count"))
        self._dose_changes(ent, sent, cues, details, limit)
        self._daily_dose(details)
        self._status_and_response(text, ent, details, sent, cues, following, drug_ends)
        self._item_dating(doc, text, ent, details, following, sent, cues)
        if details.get("_status_from_default"):
            # no word says whether it is taken: the status is the section's default
            ent._.detail = {**(ent._.detail or {}), "status_stated": False}
        self._time(doc, ent, details, sent, cues)
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

    def _status_and_response(
        self,
        text: str,
        ent: Span,
        details: dict[str, Any],
        sent: SentenceBounds,
        cues: "_SentenceMatches",
        following: Span | None,
        drug_ends: list[int],
    ) -> None:
        section = self.sections.get(ent._.note_section or "")
        status = (section.med_status if section else None) or "current"
        best: tuple[int, str] | None = None
        # cues stay in their clause: "MMF stopped 01/2024; belimumab started" stops only MMF
        clause_start = max(sent.start_char, text.rfind(";", sent.start_char, ent.start_char) + 1)
        clause_end = _clause_end(text, ent.end_char, sent.end_char)
        # a cue after the next drug's name is that drug's ("HCQ since 2016, MTX (stopped ...)")
        status_end = min(clause_end, following.start_char) if following is not None else clause_end
        for name, regex in self._status.items():
            for match in cues.within(regex, sent, clause_start, max(status_end, ent.end_char)):
                if ent.start_char <= match.start() < ent.end_char:
                    continue
                if match.end() <= ent.start_char and _closed_between(text, match.end(), ent.start_char):
                    continue  # "(... increased DNA binding) despite belimumab": the bracket's word
                distance = _gap(ent, match)
                if best is None or distance < best[0]:
                    best = (distance, name)
        if self._anchor is not None:
            near = cues.within(self._anchor, sent, max(clause_start, ent.start_char - _ANCHOR_REACH), ent.start_char)
            if near and not text[near[-1].end() : ent.start_char].strip(" -"):
                best = (0, "past")
        if best is not None:
            status = best[1]
        else:
            details["_status_from_default"] = True
        context = context_of(ent)
        hypothetical_before = any(
            cue.category == "HYPOTHETICAL" and cue.char_start < ent.start_char for cue in context.cues
        )
        if context.assertion is Assertion.HYPOTHETICAL and status == "current" and hypothetical_before:
            status = "planned"  # "will start X"; "X level pending" says nothing of the drug's status
        details["status"] = status
        shared = self._shared_cue_starts(text, ent, sent, cues, clause_end, drug_ends)
        responses = [
            name
            for name, regex in self._response.items()
            if any(
                (_response_is_own(match, ent, status_end, drug_ends) or match.start() in shared)
                and not (name == "refractory" and _for_indication(text, match.start()))
                for match in cues.within(regex, sent, clause_start, sent.end_char if shared else clause_end)
            )
        ]
        if section is not None and section.med_response and section.med_response not in responses:
            responses.append(section.med_response)
        details["response"] = responses

    def _shared_cue_starts(
        self,
        text: str,
        ent: Span,
        sent: SentenceBounds,
        cues: "_SentenceMatches",
        clause_end: int,
        drug_ends: list[int],
    ) -> set[int]:
        """Where a response cue that speaks of the whole list ``ent`` is in may start: right
        after a quantifier later in its clause ("HCQ, MMF and belimumab, all with inadequate
        response"), or opening the next clause when no drug is named there ("prednisone + MMF;
        partial response only")."""
        starts: set[int] = set()
        if self._quantifier is not None:
            for match in cues.within(self._quantifier, sent, ent.end_char, clause_end):
                starts.add(_skip_space(text, match.end(), clause_end))
        if clause_end < sent.end_char and text[clause_end] == ";":
            opening = _skip_space(text, clause_end + 1, sent.end_char)
            following = bisect_right(drug_ends, opening)  # the first drug ending after the opening
            if following >= len(drug_ends) or drug_ends[following] > _clause_end(text, opening, sent.end_char):
                starts.add(opening)
        return starts

    def _dose_changes(
        self, ent: Span, sent: SentenceBounds, cues: "_SentenceMatches", details: dict[str, Any], limit: int
    ) -> None:
        """Written changes ("increase prednisolone 5 mg -> 10 mg today"): the new dose is the
        dose taken from then on, dated by the mention's own day when it has one. A change
        naming only the old dose ("10 mg daily (increased from 7.5 mg on 09/15/2025)") is to the
        dose written before it, so only in the drug's own words (up to ``limit``, its window)."""
        time = get_payload(ent, TimePayload)
        changed_on = time.date if time is not None and time.precision == "day" else None
        changes = []
        for match in cues.within(self._taper, sent, sent.start_char, sent.end_char):
            raw_from = match.group("from") or match.group("from2") or match.group("from3")
            raw_to = match.group("to") or match.group("to2")
            if raw_to is None:
                if not (ent.end_char <= match.start() and match.end() <= limit) or "dose" not in details:
                    continue
                raw_to = str(details["dose"])
            changes.append({
                "from_dose": float(raw_from),
                "to_dose": float(raw_to),
                "unit": (match.group("unit") or match.group("unit2") or details.get("dose_unit")),
                "date": changed_on,
                "text": match.group(0),
            })
        if changes:
            details["dose_changes"] = changes
            last = changes[-1]
            if details.get("dose") == last["from_dose"]:
                details["dose"] = last["to_dose"]

    def _role(self, time: TimePayload, sent: SentenceBounds, cues: "_SentenceMatches") -> str | None:
        """What a time is to its drug (start, stop, last dose, stable since), by the role cue
        nearest it; of cues ending together, the longest ("unchanged since" over "since")."""
        best: tuple[int, int, str] | None = None
        for role, regex in self._roles.items():
            for match in cues.within(regex, sent, sent.start_char, sent.end_char):
                key = (abs(match.end() - (time.char_start or 0)), -(match.end() - match.start()))
                if key[0] > _ROLE_REACH:
                    continue  # "prednisone (since 2015), ..., belimumab 2019-2021": another drug's "since"
                if ")" in match.string[match.end() : time.char_start or 0]:
                    # "(since 1995, dose reduced 2023 to 200 mg), azathioprine 1995-2001": a
                    # bracket closed between the cue and the time
                    continue
                if best is None or key < best[:2]:
                    best = (*key, role)
        return best[2] if best is not None else None

    def _item_dating(
        self,
        doc: Doc,
        text: str,
        ent: Span,
        details: dict[str, Any],
        following: Span | None,
        sent: SentenceBounds,
        cues: "_SentenceMatches",
    ) -> None:
        """Dates of the drug's dose later in its own list item: a start or stable-since date in
        a bracket after the dose ("prednisone 10 mg PO daily (since 08/2025), hydroxychloroquine
        ...", "100 mg daily (stable dose since 07/2024)"), and the last dose after a course's
        span ("belimumab SC 200 mg weekly 11/2022 - 10/2024, inadequate response, last
        injection 10/20/2024"), and a stable-since in a later clause naming no other drug. Only
        the roles are set: the mention's own time stays what it was (a current drug is dated by
        its note), and a role already read is not replaced."""
        line_end = text.find("\n", ent.end_char)
        limit = min(len(text) if line_end == -1 else line_end, following.start_char if following else len(text))
        own = get_payload(ent, TimePayload)
        bracket_read = "stable_since" in details
        for expression in doc._.time_expressions or ():
            at = expression["char_start"]
            if not ent.end_char < at < limit or (own is not None and at == own.char_start):
                continue  # its own time ("since 05/2024, 100 mg daily (stable dose since 07/2024)") is read
            time = TimePayload.model_validate(expression)
            role = self._role(time, sent, cues)
            if ";" in text[ent.end_char : at]:
                # a clause naming no other drug goes on about this one ("up to 1500 mg BID,
                # inadequate response; 1000 mg BID, same dose since 06/2024"): only its stability
                if role == "stable_since" and "stable_since" not in details:
                    details[role] = time
                return
            if role == "last_dose" and "last_dose" not in details and own is not None and own.start is not None:
                details[role] = time
            elif not bracket_read and _in_own_bracket(text, ent.end_char, at):
                bracket_read = True  # the first dated bracket after the dose is the dose's
                if role == "stable_since" or (role == "start" and "start" not in details):
                    details[role] = time

    def _time(
        self, doc: Doc, ent: Span, details: dict[str, Any], sent: SentenceBounds, cues: "_SentenceMatches"
    ) -> None:
        time = get_payload(ent, TimePayload)
        if time is None:
            details.pop("_status_from_default", None)
            return
        role = self._role(time, sent, cues)
        if role is not None:
            details[role] = time
        note_day = doc._.note_date
        if (
            role == "start"
            and details["status"] == "planned"
            and time.date is not None
            and note_day is not None
            and time.date <= dt.date.fromisoformat(note_day)
        ):
            details["status"] = "current"  # "start today": taken from that day on
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


class _SentenceMatches:
    """Each cue regex's matches in a sentence, found once for all the drugs it names.

    A medication list is often one long "sentence": searching it again for every drug in
    it made this stage quadratic. A drug's clause is a part of its sentence, so its cues
    are the sentence's matches that lie within the clause.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._lower = text.lower() if _lower_case_is_exact(text) else None
        self._found: dict[tuple[object, int, int], tuple[list[re.Match[str]], list[int], list[int]]] = {}

    def within(
        self, cue: "_CuePhrases | re.Pattern[str]", sent: SentenceBounds, start: int, end: int
    ) -> list[re.Match[str]]:
        """The matches of ``cue`` in ``sent`` that lie within ``[start, end)``.

        The matches do not overlap, so their starts and their ends both ascend and the
        matches inside a clause are one run of them, found by two binary searches.
        """
        key = (cue, sent.start_char, sent.end_char)
        found = self._found.get(key)
        if found is None:
            if isinstance(cue, _CuePhrases):
                matches = cue.finditer(self._text, self._lower, sent.start_char, sent.end_char)
            else:
                matches = list(cue.finditer(self._text, sent.start_char, sent.end_char))
            found = self._found[key] = (matches, [m.start() for m in matches], [m.end() for m in matches])
        matches, starts, ends = found
        return matches[bisect_left(starts, start) : bisect_right(ends, end)]


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_LETTER = re.compile(r"[a-z]", re.IGNORECASE)


def _lower_case_is_exact(text: str) -> bool:
    """Whether lower-casing ``text`` changes only ASCII capitals, so that matching lower-case
    phrases in it finds what matching them ignoring case in ``text`` finds (not so with "İ",
    two characters in lower case, or "K", the Kelvin sign, equal to "k" ignoring case)."""
    return all(
        char.lower() == char and not _ASCII_LETTER.fullmatch(char) for char in set(_NON_ASCII.findall(text))
    )


_CLAUSE_MARKS = re.compile(r"[();]")
# "rituximab ... for refractory lupus arthritis": the disease the drug was given for, not its
# response; "stopped for lack of response" gives the reason it ended
_INDICATION = re.compile(r"(?<![\w/])(\S+[ \t]+)?for[ \t]+$", re.IGNORECASE)
_ENDED_FOR = re.compile(r"^(?:stopped|discontinued|d/c'd|dc'd|ended|held|changed|switched|off)[ \t]+$", re.IGNORECASE)


def _for_indication(text: str, cue_start: int) -> bool:
    """Whether "refractory" names what the drug was given for ("for refractory arthritis"),
    not why it ended ("stopped for refractory disease")."""
    found = _INDICATION.search(text, max(0, cue_start - 30), cue_start)
    return found is not None and not (found.group(1) and _ENDED_FOR.match(found.group(1)))


def _in_own_bracket(text: str, start: int, at: int) -> bool:
    """Whether ``at`` sits in a bracket opened after ``start``, with no clause ending (a
    semicolon outside brackets) between: "10 mg PO daily (since 08/2025)"; the caller stops
    at the next drug."""
    depth = 0
    for char in text[start:at]:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
        elif char == ";" and depth == 0:
            return False
    return depth > 0


def _closed_between(text: str, start: int, end: int) -> bool:
    """Whether a bracket open at ``start`` closes before ``end``."""
    between = text[start:end]
    return between.count(")") > between.count("(")


def _clause_end(text: str, start: int, limit: int) -> int:
    """The first ";" after ``start`` outside brackets opened after it: "prednisone (since 1995;
    flares below 5 mg)" keeps its own bracket."""
    depth = 0
    for mark in _CLAUSE_MARKS.finditer(text, start, limit):
        char = mark.group(0)
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            return mark.start()
    return limit


def _skip_space(text: str, start: int, limit: int) -> int:
    """The first offset at or after ``start`` (before ``limit``) that is not whitespace."""
    while start < limit and text[start].isspace():
        start += 1
    return start


def _response_is_own(match: re.Match[str], ent: Span, next_drug: int, drug_ends: list[int]) -> bool:
    """Whether a response cue speaks of ``ent``: one after it must come before the next drug's
    name; one before it must not sit right behind another drug ("MTX (stopped for nausea) and
    belimumab"), while one heading a list ("inadequate response to OCS, AZA and MMF") does."""
    if match.start() >= ent.end_char:
        return match.start() < max(next_drug, ent.end_char)
    index = bisect_right(drug_ends, match.start()) - 1
    behind = drug_ends[index] if index >= 0 else None
    return behind is None or behind >= ent.start_char or match.start() - behind > _CUE_REACH


def _gap(ent: Span, match: re.Match[str]) -> int:
    if match.start() >= ent.end_char:
        return match.start() - ent.end_char
    return max(0, ent.start_char - match.end())


@Language.factory("extractor_medications", default_config={"patterns": ""}, assigns=["span._.medication"])
def make_medications(nlp: Language, name: str, patterns: str) -> MedicationReader:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return MedicationReader(nlp, name, patterns)
