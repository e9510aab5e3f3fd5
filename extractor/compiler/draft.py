"""A trial file drafted from eligibility text: one criterion per bullet, every choice shown.

Each top-level bullet becomes a criterion (a heading's bullets, "Laboratory Parameters:",
each become their own); a lead-in ("at least one of the following:") becomes ``any`` /
``all`` / ``at_least`` over its bullets, its own window applying to bullets without one.
``text`` is the bullet as written; ids are ``inc-``/``exc-`` and the first content words
(a table's ids are kept), made unique by a number. ``absent`` follows the file's
``silence`` policy, and each criterion says which part of it applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from extractor.compiler.blocks import Bullet, lead_in, parse_blocks
from extractor.compiler.lexicon import Lexicon, default_lexicon, tokenize
from extractor.compiler.reader import Reader, Reading
from extractor.compiler.rules import EligibilityRules, eligibility_rules
from extractor.compiler.similarity import DEFAULT_THRESHOLD, SimilarityIndex
from extractor.screening.language import SilencePolicy


@dataclass
class DraftCriterion:
    """One drafted criterion, in the order the file writes its keys."""

    id: str
    type: str
    text: str
    absent: str
    policy: str  # which part of the silence policy gave ``absent``
    rule: dict[str, Any] | None
    reason: str = ""
    mapping: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "text": self.text, "absent": self.absent}
        if self.rule is None:
            out["person_only"] = True
            out["reason"] = self.reason
        if self.mapping:
            out["mapping"] = self.mapping
        if self.rule is not None:
            out["rule"] = self.rule
        return out


@dataclass
class Draft:
    """A drafted trial: header and criteria, written as YAML by ``to_yaml``."""

    name: str
    title: str
    source: str
    silence: SilencePolicy
    criteria: list[DraftCriterion]

    def to_yaml(self) -> str:
        header = {
            "schema": "trial/v1",
            "name": self.name,
            "title": self.title,
            "description": (
                "Drafted by `extractor trial draft` from the published eligibility text; review "
                "every criterion (mapping confidences, person_only reasons, unexpressed parts, "
                "absent) before screening with it."
            ),
            "version": 1,
            "source": self.source,
            "license": "Apache-2.0",
            "silence": self.silence.model_dump(mode="json"),
        }
        parts = [_dump(header).rstrip(), "", "criteria:"]
        for criterion in self.criteria:
            parts.append(_criterion_yaml(criterion))
        return "\n".join(parts)


def _criterion_yaml(criterion: DraftCriterion) -> str:
    """One criterion in block style, its leaves in flow style, ``absent`` with its policy."""
    lines = []
    for key, value in criterion.as_dict().items():
        lead = "  - " if not lines else "    "
        if isinstance(value, dict | list):
            body = _dump(value).rstrip().splitlines()
            lines.append(f"{lead}{key}:")
            lines += ["      " + line for line in body]
        else:
            scalar = _dump(value).rstrip().removesuffix("...").rstrip()
            comment = f"  # silence policy: {criterion.policy}" if key == "absent" else ""
            lines.append(f"{lead}{key}: {scalar}{comment}")
    return "\n".join(lines) + "\n"


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000, default_flow_style=None)


class Drafter:
    """Eligibility text → ``Draft``, with one reader shared by every criterion."""

    def __init__(
        self,
        rules: EligibilityRules | None = None,
        lexicon: Lexicon | None = None,
        similarity: SimilarityIndex | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        silence: SilencePolicy | None = None,
    ) -> None:
        self.rules = rules or eligibility_rules()
        self.silence = silence or self.rules.silence
        self.reader = Reader(self.rules, lexicon or default_lexicon(), similarity, threshold)

    def draft(self, text: str, *, name: str, title: str, source: str) -> Draft:
        criteria: list[DraftCriterion] = []
        used_ids: set[str] = set()
        for bullet in parse_blocks(text, self.rules):
            logic = lead_in(bullet.text, self.rules)
            if logic is not None and logic[0] == "group" and bullet.children:
                for child in bullet.children:
                    criteria.append(self._criterion(child, used_ids))
            else:
                criteria.append(self._criterion(bullet, used_ids))
        return Draft(name, title, source, self.silence, criteria)

    def _criterion(self, bullet: Bullet, used_ids: set[str]) -> DraftCriterion:
        exclusion = bullet.section == "exclusion"
        text = " ".join([bullet.text, *(_flatten(c) for c in bullet.children)])
        if bullet.children:
            rule, reading = self._nested(bullet, exclusion)
        else:
            reading = self._read_leaf(bullet.text, exclusion)
            rule = self._combine(reading, bullet.text, exclusion)
        absent, policy = self._absent(exclusion, reading, rule)
        ident = _unique(bullet.given_id or _slug(bullet, self.rules), used_ids)
        mapping = _dedupe(reading.mappings)
        if rule is None:
            words = reading.not_understood
            reason = ("not understood: " + " ".join(_unique_words(words))) if words else "no concept found"
            if reading.unnamed:
                reason += "; no vocabulary names: " + ", ".join(dict.fromkeys(reading.unnamed))
            if mapping:
                reason += "; mapped but not expressible: " + ", ".join(sorted({m["concept"] for m in mapping}))
            return DraftCriterion(ident, bullet.section, text, absent, policy, None, reason, mapping)
        return DraftCriterion(ident, bullet.section, text, absent, policy, rule, "", mapping)

    def _read_leaf(self, text: str, exclusion: bool) -> Reading:
        """A bullet's words; a "Heading: body" bullet is read by its body when the body says
        something ("Central nervous system disease: active ... epilepsy, confusion")."""
        repaired = self.reader.repair(text)
        if _labelled(repaired):
            body = self.reader.read(repaired.split(":", 1)[1], exclusion=exclusion)
            if body.atoms:
                return body
        return self.reader.read(repaired, exclusion=exclusion)

    def _combine(self, reading: Reading, text: str, exclusion: bool) -> dict[str, Any] | None:
        """The atoms joined (exclusion: any; inclusion: all, or any when alternatives are
        written with "or"), negated for "No ...", with what was not understood beside them."""
        atoms = reading.atoms
        if not atoms:
            return None
        if len(atoms) == 1:
            rule = atoms[0]
        else:
            alternatives = exclusion or (re.search(r"\bor\b", text, re.IGNORECASE) and ";" not in text)
            rule = {"any" if alternatives else "all": atoms}
        if reading.negated:
            rule = {"not": rule}
        # "any of amputation, ..., retinopathy": a list of alternatives, in an inclusion too
        disjunctive = exclusion or bool(re.search(r"\b(?:or|any of|one of|either)\b", text, re.IGNORECASE))
        return _with_unexpressed(rule, reading, disjunctive and not reading.negated)

    def _nested(self, bullet: Bullet, exclusion: bool) -> tuple[dict[str, Any] | None, Reading]:
        """A lead-in and its bullets: any / all / at_least over the bullets' rules."""
        head = self.reader.read(self.reader.repair(bullet.text), exclusion=exclusion)
        logic = lead_in(bullet.text, self.rules) or ("all", 0)
        parts: list[dict[str, Any]] = []
        merged = Reading(window=head.window, uses_tests=head.uses_tests, uses_charted=head.uses_charted)
        merged.mappings = list(head.mappings)
        readings = []
        for child in bullet.children:
            reading = self.reader.read(self.reader.repair(_flatten(child)), exclusion=exclusion)
            readings.append(reading)
            if reading.window is None and head.window is not None:
                _apply_window(reading, head.window)
            rule = self._combine(reading, child.text, exclusion)
            parts.append(rule if rule is not None else {"unexpressed": child.text})
            merged.mappings += reading.mappings
            merged.uses_tests |= reading.uses_tests
            merged.uses_charted |= reading.uses_charted
        if all("unexpressed" in part for part in parts):
            words = [w for child in bullet.children for w in _words(child.text, self.rules)]
            merged.not_understood = head.not_understood + words
            merged.unnamed = head.unnamed + [p for reading in readings for p in reading.unnamed]
            return None, merged
        kind, count = logic
        classes = _child_classes(readings)
        response = None if classes is None else self.reader.response_atom(
            " ".join([bullet.text, *(_flatten(c) for c in bullet.children)]), classes,
            count if kind == "at_least" else 1,
        )
        if response is not None:  # "inadequate response to at least three of the following:"
            said = self.reader.response_words(bullet.text)
            if _labelled(bullet.text):
                said |= {t.key for t in tokenize(bullet.text.split(":")[0])}
            head.not_understood = [w for w in head.not_understood if w.lower() not in said]
            head.alternatives = [w for w in head.alternatives if w.lower() not in said]
            return _with_unexpressed(response, head, exclusion), merged
        if kind == "at_least" and 1 <= count <= len(parts):
            rule: dict[str, Any] = {"at_least": count, "of": parts}
        elif kind == "any" or (kind == "at_least" and count == 1):
            rule = {"any": parts}
        else:
            rule = {"all": parts}
        if head.atoms:
            rule = {"all": [*head.atoms, rule]}
        return _with_unexpressed(rule, head, exclusion), merged

    def _absent(self, exclusion: bool, reading: Reading, rule: dict[str, Any] | None) -> tuple[str, str]:
        policy = self.silence
        if not exclusion:
            return policy.inclusion.value, "inclusion"
        if reading.uses_charted or rule is None:
            return policy.exclusion_charted.value, "exclusion about charted conditions or drugs"
        return policy.tests.value, "exclusion about a test, score or age"


def _with_unexpressed(rule: dict[str, Any], reading: Reading, disjunctive: bool) -> dict[str, Any]:
    """What was not understood, beside the rule. Words next to something understood narrow
    it ("severe" heart failure): ``all``. A clause with nothing understood is another way
    to meet the criterion in an exclusion or a list of alternatives ("pregnancy or
    lactation", "any of amputation, ..., retinopathy"): ``any``. In an inclusion that
    lists requirements it is one more requirement: ``all``."""
    alternatives = _unique_words(reading.alternatives) if disjunctive else []
    narrowing = [w for w in _unique_words(reading.not_understood) if w not in alternatives]
    if narrowing:
        rule = {"all": [rule, {"unexpressed": " ".join(narrowing)}]}
    if disjunctive and reading.open_list:
        alternatives.append(reading.open_list)  # what the list leaves unnamed may be there
    if alternatives:
        rule = {"any": [rule, {"unexpressed": " ".join(alternatives)}]}
    return rule


def _child_classes(readings: list[Reading]) -> list[str] | None:
    """The drug class each bullet names first ("Antimalarials", "Biologics (e.g. ...)"), or
    None when a bullet names none."""
    classes: list[str] = []
    for reading in readings:
        first = next((
            atom["medication"]["classes"][0] for atom in reading.atoms
            if isinstance(atom.get("medication"), dict) and atom["medication"].get("classes")
        ), None)
        if first is None:
            return None
        if first not in classes:
            classes.append(first)
    return classes or None


def _apply_window(reading: Reading, window: str) -> None:
    """A lead-in's window ("within 12 months") for a bullet that states none."""
    reading.window = window
    for atom in reading.atoms:
        for key in ("present", "medication", "lab"):
            if key in atom and isinstance(atom[key], dict):
                atom[key].setdefault("window", window)
                if key == "lab":
                    atom[key].setdefault("which", "any")
        inner = atom.get("not")
        if isinstance(inner, dict) and "lab" in inner:
            inner["lab"].setdefault("window", window)


def _flatten(bullet: Bullet) -> str:
    return " ".join([bullet.text, *(_flatten(c) for c in bullet.children)])


def _words(text: str, rules: EligibilityRules) -> list[str]:
    return [t.text for t in tokenize(text) if t.text[0].isalpha() and t.key not in rules.filler and len(t.key) > 1]


def _unique_words(words: list[str]) -> list[str]:
    seen: list[str] = []
    for word in words:
        if word.lower() not in (w.lower() for w in seen):
            seen.append(word)
    return seen


def _dedupe(mappings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for item in mappings:
        key = (item["phrase"].lower(), item["concept"])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _slug(bullet: Bullet, rules: EligibilityRules) -> str:
    prefix = "inc" if bullet.section == "inclusion" else "exc"
    if _labelled(bullet.text):
        words = [t.key for t in tokenize(bullet.text.split(":")[0]) if t.text[0].isalnum()]
    else:
        words = [t.key for t in tokenize(bullet.text) if t.text[0].isalpha() and t.key not in rules.filler]
        words = words or [t.key for t in tokenize(bullet.text) if t.text[0].isalnum()]
    slug = "-".join(words[:4])[:40].strip("-") or "criterion"
    return f"{prefix}-{slug}"


def _labelled(text: str) -> bool:
    label = text.split(":")[0]
    return ":" in text and 0 < len(label.split()) <= 4 and not re.search(r"\d", label[-2:])


def _unique(ident: str, used: set[str]) -> str:
    ident = re.sub(r"[^A-Za-z0-9_.-]", "-", ident)
    candidate, number = ident, 2
    while candidate in used:
        candidate = f"{ident}-{number}"
        number += 1
    used.add(candidate)
    return candidate
