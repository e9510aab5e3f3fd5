"""displaCy for facts: each entity labelled with its kind, its qualifiers and its value.

``displacy.render(doc, style="ent")`` shows only ``ent.label_``, in grey for labels it
does not know, so a negated diagnosis looks like an affirmed one. Here every fact
becomes one entity of displaCy's manual format whose label says what the pipeline
decided ("CONDITION · negated · family", "LAB = 1.2 mg/dL"), coloured by kind, with
qualified facts (anything but present, patient, current) shown in a paler tone.
Offsets are the facts' evidence offsets; the note text is shown as it came in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from spacy import displacy
from spacy.tokens import Doc

from extractor.facts import Assertion, Experiencer, Fact, Kind, Temporality
from extractor.pipeline.note_text import note_text

KIND_COLOURS: dict[Kind, tuple[str, str]] = {  # (affirmed, qualified)
    Kind.CONDITION: ("#f4a582", "#fde0d0"),
    Kind.INFECTION: ("#d6604d", "#f2c4bb"),
    Kind.MEDICATION: ("#92c5de", "#d8ebf4"),
    Kind.LAB: ("#a6dba0", "#dcf0d9"),
    Kind.SCORE: ("#5aae61", "#c4e3c6"),
    Kind.VACCINE: ("#c2a5cf", "#e6dbeb"),
    Kind.PROCEDURE: ("#fee08b", "#fff3cf"),
    Kind.DEMOGRAPHIC: ("#bababa", "#e3e3e3"),
    Kind.SOCIAL: ("#dfc27d", "#f1e5c6"),
}
SEPARATOR = " · "
ASSERTION_WORDS = {Assertion.ABSENT: "negated", Assertion.POSSIBLE: "possible", Assertion.HYPOTHETICAL: "hypothetical"}


def qualifiers(fact: Fact) -> list[str]:
    """The words for what is not the default: negated/possible/hypothetical, family/other, historical."""
    words = []
    if fact.assertion in ASSERTION_WORDS:
        words.append(ASSERTION_WORDS[fact.assertion])
    if fact.experiencer is not Experiencer.PATIENT:
        words.append(fact.experiencer.value)
    if fact.temporality is Temporality.HISTORICAL:
        words.append("historical")
    return words


def value_text(fact: Fact) -> str | None:
    """A lab's value and unit, a medication's dose, an age, as a short text; None without one."""
    if fact.lab is not None:
        lab = fact.lab
        if lab.titer is not None:
            shown = f"1:{lab.titer}"
        elif lab.value is not None:
            shown = f"{lab.value:g}" + (f"-{lab.value_high:g}" if lab.value_high is not None else "")
        else:
            shown = lab.qualitative or ""
        return " ".join(part for part in (lab.comparator or "", shown, lab.unit or "") if part) or None
    if fact.medication is not None and fact.medication.dose is not None:
        medication = fact.medication
        return " ".join(part for part in (f"{medication.dose:g}", medication.dose_unit, medication.frequency) if part)
    if "years" in fact.attrs:
        return f"{fact.attrs['years']:g} y"
    if "sex" in fact.attrs:
        return str(fact.attrs["sex"])
    return None


def label(fact: Fact) -> str:
    """The entity label displaCy shows for ``fact``."""
    text = fact.kind.value.upper()
    value = value_text(fact)
    if value:
        text += f" = {value}"
    return SEPARATOR.join([text, *qualifiers(fact)])


def displacy_data(text: str, facts: Iterable[Fact], title: str | None = None) -> dict[str, Any]:
    """displaCy's manual ``ent`` input for ``facts`` of the note ``text``.

    Overlapping facts (a lab row cited once per value) keep the first one at each place.
    """
    ents = []
    end = 0
    for fact in sorted(facts, key=lambda f: (f.evidence.char_start, -f.evidence.char_end)):
        if fact.evidence.char_start < end:
            continue
        ents.append({"start": fact.evidence.char_start, "end": fact.evidence.char_end, "label": label(fact)})
        end = fact.evidence.char_end
    return {"text": text, "ents": ents, "title": title}


def colours(facts: Iterable[Fact]) -> dict[str, str]:
    """displaCy's ``colors`` option for the labels of ``facts``."""
    chosen = {}
    for fact in facts:
        affirmed, qualified = KIND_COLOURS[fact.kind]
        chosen[label(fact)] = qualified if qualifiers(fact) else affirmed
    return chosen


def render(doc: Doc, page: bool = False) -> str:
    """HTML of a Doc the pipeline has processed: its facts with their qualifiers and values."""
    facts = doc._.facts
    return displacy.render(
        displacy_data(note_text(doc), facts, doc._.note_id),
        style="ent",
        manual=True,
        page=page,
        options={"colors": colours(facts)},
    )
