"""One patient's chart as screening sees it: every note's facts, copy-forward counted once.

Charts repeat themselves: a problem list or a lab line is pasted into each new note.
Facts whose sentence is the same text, about the same concept with the same context,
are one *mention*: cited at its first copy, where it was written first (a reviewer
checks the statement where it was made, not where it was pasted), with relative times
read from that copy too (a pasted "seizure last week" is not re-dated to every later note).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from extractor import vocabulary
from extractor.facts import Evidence, Fact, Kind, Temporality, TimeRef
from extractor.notes import Note
from extractor.screening.statements import Found, find_statements
from extractor.screening.timeline import Span

_LAB_CITE_MAX = 120  # widest "Hgb ... 9.6 g/dL" span cited for a lab, in characters
# a clause ends at a semicolon, a sentence's full stop, or a column gap of a table
_CLAUSE_END = re.compile(r";|\.(?=\s|$)|\s{3,}|\t")
_CLAUSE_CITE_MAX = 150  # a longer clause is cited as the fact and its dates only
_DATE_CITE_GAP = 60  # farthest a date may sit from the fact it dates and still be cited with it


@dataclass(frozen=True, eq=False)  # identity: facts hold dicts and do not hash
class Mention:
    """A fact as the patient's chart states it, copies merged."""

    fact: Fact  # the most recent copy: its note dates the mention
    first: Fact  # the first copy: its time expression is the original one, and it is cited
    first_written: dt.date | None  # date of the note holding the first copy
    written: dt.date | None  # date of the note holding the most recent copy
    copies: int
    span: Span  # the days the statement is about
    ongoing: bool  # a current statement in the patient's latest note: may still hold
    # written in a screener's conclusion about eligibility ("not eligible at present: pregnant"):
    # cited only when no clinical statement says the same (GUIDELINES section 6)
    verdict_talk: bool = False


class PatientRecord:
    """A patient's notes and merged mentions, as of a screening date."""

    def __init__(
        self,
        notes: Sequence[Note],
        facts: Iterable[Fact],
        screening_date: dt.date | None = None,
        today: dt.date | None = None,
    ) -> None:
        facts = list(facts)
        self.notes = {note.note_id: note for note in notes}
        self.patient_id = notes[0].patient_id if notes else _patient_of(facts)
        dated = [note.date for note in notes if note.date is not None]
        self.screening_date = screening_date or default_screening_date(dated, today or dt.date.today())
        # named in the verdict: a note the screening date leaves unread must not vanish silently
        self.notes_after_screening_date: tuple[str, ...] = tuple(
            note.note_id for note in notes
            if note.date is not None and self.screening_date is not None and note.date > self.screening_date
        )
        visible = [d for d in dated if self.screening_date is None or d <= self.screening_date]
        self.latest_note_date = max(visible) if visible else None
        kept = [fact for fact in facts if self._visible(fact)]
        self.mentions: tuple[Mention, ...] = tuple(self._merge(kept))

    def note_date(self, fact: Fact) -> dt.date | None:
        """The date of the note a fact comes from."""
        if fact.note_date is not None:
            return fact.note_date
        note = self.notes.get(fact.evidence.note_id)
        return note.date if note is not None else None

    def _visible(self, fact: Fact) -> bool:
        """Facts written after the screening date were not known on it."""
        written = self.note_date(fact)
        return self.screening_date is None or written is None or written <= self.screening_date

    # ------------------------------------------------------------ copy-forward
    def _merge(self, facts: list[Fact]) -> list[Mention]:
        ordered = sorted(facts, key=lambda f: (self.note_date(f) or dt.date.min, f.evidence.note_id))
        groups: dict[tuple[object, ...], list[Fact]] = {}
        for fact in ordered:
            groups.setdefault(self._copy_key(fact), []).append(fact)
        return [self._mention(copies) for copies in groups.values()]

    def _copy_key(self, fact: Fact) -> tuple[object, ...]:
        context = self._context(fact)
        where: tuple[object, ...] = (fact.evidence.note_id, fact.evidence.char_start)
        if context is not None:
            where = context
        return (
            fact.kind, fact.concept, fact.assertion, fact.experiencer, fact.temporality, where,
        )

    def _context(self, fact: Fact) -> tuple[str, str] | None:
        """The sentence (or line) around a fact, whitespace-folded, and the fact's place in it."""
        note = self.notes.get(fact.evidence.note_id)
        if note is None:
            return None
        text, ev = note.text, fact.evidence
        start, end = ev.sentence_start, ev.sentence_end
        if start is None or end is None or not start <= ev.char_start <= ev.char_end <= end:
            start = text.rfind("\n", 0, ev.char_start) + 1
            newline = text.find("\n", ev.char_end)
            end = len(text) if newline < 0 else newline
        before = " ".join(text[start : ev.char_start].split())
        return " ".join(text[start:end].split()), f"{len(before)}:{ev.text}"

    def _mention(self, copies: list[Fact]) -> Mention:
        first, last = copies[0], copies[-1]
        first_written, written = self.note_date(first), self.note_date(last)
        span = _statement_span(first, written)
        explicit = first.time is not None and first.time.source == "text"
        ongoing = (
            first.temporality is Temporality.CURRENT
            and not explicit
            and written is not None
            and written == self.latest_note_date
        )
        return Mention(last, first, first_written, written, len(copies), span, ongoing, self._in_verdict_talk(first))

    def _in_verdict_talk(self, fact: Fact) -> bool:
        """Whether the fact's sentence (or, unsplit, its line) states a screening conclusion
        ("so she is not eligible")."""
        ev = fact.evidence
        talk = self._verdict_talk.get(ev.note_id, ())
        if not talk:
            return False
        start, end = ev.sentence_start, ev.sentence_end
        if start is None or end is None:
            text = self.notes[ev.note_id].text
            start = text.rfind("\n", 0, ev.char_start) + 1
            newline = text.find("\n", ev.char_end)
            end = len(text) if newline < 0 else newline
        return any(found.char_start < end and start < found.char_end for found in talk)

    @cached_property
    def _verdict_talk(self) -> dict[str, tuple[Found, ...]]:
        found: dict[str, list[Found]] = {}
        for item in find_statements("eligibility_verdict", list(self.notes.values())):
            found.setdefault(item.note_id, []).append(item)
        return {note_id: tuple(items) for note_id, items in found.items()}

    # ------------------------------------------------------------ look-ups
    def find(
        self,
        concepts: Iterable[str] = (),
        classes: Iterable[str] = (),
        kinds: Iterable[Kind] = (),
        exclude: Iterable[str] = (),
    ) -> list[Mention]:
        """Mentions of any of ``concepts`` (with their descendants in the vocabulary's
        hierarchy: ``malignancy`` finds breast cancer) or ``classes`` (medication or
        vocabulary classes).

        With neither given, every mention of ``kinds`` is returned; ``exclude`` drops
        concepts (and their descendants) and classes.
        """
        wanted, wanted_classes = _expanded(tuple(concepts)), set(classes)
        banned = _expanded(tuple(exclude))
        kind_set = set(kinds)
        found = []
        for mention in self.mentions:
            fact = mention.fact
            own_classes = set(fact_classes(fact))
            if kind_set and fact.kind not in kind_set:
                continue
            if fact.concept in banned or own_classes & banned:
                continue
            if (wanted or wanted_classes) and not (
                fact.concept in wanted or own_classes & wanted_classes
            ):
                continue
            found.append(mention)
        return found

    def cite(self, mention: Mention) -> Evidence:
        """The span to cite, at the mention's first copy: a lab's name through its value
        and unit; else the fact with the dates written beside it on its line ("SLE dx 10/2021", "rituximab ... last
        dose 01/02/2025"), since a reviewer checks the fact and its date together."""
        fact = mention.first
        ev, lab = fact.evidence, fact.lab
        note = self.notes.get(ev.note_id)
        if note is None:
            return ev
        if fact.kind is Kind.DEMOGRAPHIC:
            return ev  # "12 yo", "male": the words are the whole fact
        if lab is None or lab.value_char_end is None:
            return _with_dates(ev, fact, note.text)
        end = lab.value_char_end
        if lab.unit:
            gap = len(note.text[end:]) - len(note.text[end:].lstrip(" \t"))
            if note.text.startswith(lab.unit, end + gap):
                end += gap + len(lab.unit)
        if not ev.char_end < end <= ev.char_start + _LAB_CITE_MAX or end > len(note.text):
            return ev
        return ev.model_copy(update={"char_end": end, "text": note.text[ev.char_start : end]})

    @cached_property
    def birth_dates(self) -> tuple[tuple[dt.date, str], ...]:
        """Birth dates given as note fields, with the note id each came from."""
        return tuple(
            (note.birth_date, note.note_id) for note in self.notes.values() if note.birth_date
        )

    @cached_property
    def sex_fields(self) -> tuple[tuple[str, str], ...]:
        """Sex given as note fields ("F"/"M"), with the note id each came from."""
        found = []
        for note in self.notes.values():
            value = (note.sex or "").strip().upper()[:1]
            if value in {"F", "M"}:
                found.append((value, note.note_id))
        return tuple(found)


def _with_dates(ev: Evidence, fact: Fact, text: str) -> Evidence:
    """``ev`` widened to the time expressions of ``fact`` that sit on its line, close by."""
    start, end = ev.char_start, ev.char_end
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    # the date a dose is stable since dates the dose wherever the line puts it ("- prednisone
    # since dx, multiple tapers, ...; currently 7.5 mg daily, unchanged since 01/10/2025")
    stable = fact.medication.stable_since if fact.medication is not None else None
    for ref in _time_refs(fact):
        if ref.char_start is None or ref.char_end is None:
            continue
        if line_start <= ref.char_start and ref.char_end <= line_end and (
            ref is stable or (ref.char_start - end <= _DATE_CITE_GAP and start - ref.char_end <= _DATE_CITE_GAP)
        ):
            start, end = min(start, ref.char_start), max(end, ref.char_end)
    head = max((m.end() for m in _CLAUSE_END.finditer(text, line_start, start)), default=line_start)
    tail = _CLAUSE_END.search(text, end, line_end)
    stop = tail.start() if tail else line_end
    if stop - head > _CLAUSE_CITE_MAX and fact.medication is not None:
        # a long list of drugs: the drug's own item, its dose and bracketed dates ("Home meds:
        # prednisone 10 mg PO daily (since 08/2025), hydroxychloroquine 200 mg ...")
        head, stop = _list_item(text, head, start, end, stop)
    if stop - head <= _CLAUSE_CITE_MAX:
        start, end = head + len(text[head:start]) - len(text[head:start].lstrip()), stop
        end = max(ev.char_end, start + len(text[start:end].rstrip(" \t.,:")))
    if (start, end) == (ev.char_start, ev.char_end):
        return ev
    return ev.model_copy(update={"char_start": start, "char_end": end, "text": text[start:end]})


def _list_item(text: str, head: int, start: int, end: int, stop: int) -> tuple[int, int]:
    """The bounds of the list item holding ``text[start:end]`` within a clause: from the
    comma or colon before it to the comma after it, commas inside brackets not counting."""
    depth, item_start = 0, head
    for at in range(start - 1, head - 1, -1):
        char = text[at]
        if char == ")":
            depth += 1
        elif char == "(":
            if depth == 0:
                item_start = at + 1  # the fact sits inside a bracket: the item starts in it
                break
            depth -= 1
        elif char in ",:" and depth == 0:
            item_start = at + 1
            break
    # a bracket the cited words opened ("hydroxychloroquine (since 1995") closes inside the item
    opened = text[item_start:end]
    depth, item_end = max(0, opened.count("(") - opened.count(")")), stop
    for at in range(end, stop):
        char = text[at]
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                item_end = at
                break
            depth -= 1
        elif char == "," and depth == 0:
            item_end = at
            break
    return item_start, item_end


def _time_refs(fact: Fact) -> tuple[TimeRef, ...]:
    refs = [fact.time]
    if fact.medication is not None:
        med = fact.medication
        refs += [med.start, med.stop, med.last_dose, med.stable_since]
    return tuple(ref for ref in refs if ref is not None and ref.source == "text")


def default_screening_date(dated: Sequence[dt.date], today: dt.date) -> dt.date | None:
    """The latest note date that is not after ``today``.

    A note dated in the future is most often a typo (2099 for 2025); taking it as the
    screening date would move every look-back window. When every note is in the future,
    the screening date is today and none of them is read.
    """
    usable = [day for day in dated if day <= today]
    if usable:
        return max(usable)
    return today if dated else None


@functools.lru_cache(maxsize=4096)
def _expanded(names: tuple[str, ...]) -> frozenset[str]:
    """Concept ids with their descendants and alias targets (class names pass through)."""
    if not names:
        return frozenset()
    return vocabulary.expand(names) | frozenset(names)


def fact_classes(fact: Fact) -> tuple[str, ...]:
    """A fact's classes: a medication's drug classes, or ``attrs.classes`` of a vocabulary entry."""
    if fact.medication is not None:
        return fact.medication.classes
    classes = fact.attrs.get("classes", ())
    return tuple(classes) if isinstance(classes, list | tuple) else ()


def _statement_span(first: Fact, written: dt.date | None) -> Span:
    """The days a statement is about: its own time expression, else its note's date.

    "History of X" with no date is about some day up to the note; a current statement
    is about the note's day.
    """
    time = first.time
    if time is not None and time.source == "text":
        if time.date is not None:
            return Span.point(time.date)
        if time.start is not None or time.end is not None:
            end = time.end or written
            if end is not None and written is not None and end > written >= (time.start or written):
                end = written  # "in 2025", written in September: some day up to September
            return Span(time.start, end)
    if first.temporality is Temporality.HISTORICAL:
        return Span(None, written)
    return Span.point(written)


def _patient_of(facts: Iterable[Fact]) -> str:
    for fact in facts:
        if fact.patient_id:
            return fact.patient_id
    return ""
