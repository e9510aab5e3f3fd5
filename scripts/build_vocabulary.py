"""Build the generated vocabularies of ``patterns/`` from installed terminology packages.

    .venv/bin/python scripts/build_vocabulary.py          # rewrite the generated files
    .venv/bin/python scripts/build_vocabulary.py --check  # fail if they are out of date

Writes
- ``patterns/conditions_icd10cm.json`` and ``patterns/infections_icd10cm.json``: one concept
  per ICD-10-CM code (``simple-icd-10-cm``) not already owned by a hand-written concept,
  named by its official title and inclusion terms where those are precise clinical
  phrases (no "unspecified", "other", commas, laterality, encounter or sequela wording),
  with the clinical synonyms of ``scripts/vocabulary/conditions_overlay.yaml`` layered on
  top. Each concept's parents are its nearest ICD-10-CM ancestor that is a concept, or
  the overlay's category groups (``malignancy`` holds C00-C96), so a criterion on a
  category matches its descendants.
- ``patterns/medications_lexicon.json``: clinical drugs of ``drug-named-entity-recognition``
  (MIT; names from DrugBank open data, MeSH, MedlinePlus and NHS), those with a
  MedlinePlus or NHS page, with their brand names and synonyms; ingredients of the
  hand-written ``medications.yaml`` are left to it. No RxNorm code is guessed.

A phrase already used by a hand-written vocabulary, a common English word, or a phrase
that names two generated concepts is dropped, so the lexicons add no ambiguity.
"""

from __future__ import annotations

import argparse
import bz2
import json
import pickle
import re
import sys
import unicodedata
from collections import defaultdict
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Any

import simple_icd_10_cm as cm
import yaml
from spacy.lang.en.stop_words import STOP_WORDS

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = ROOT / "patterns"
OVERLAY = ROOT / "scripts" / "vocabulary"
HAND_FILES = (
    "conditions.yaml", "infections.yaml", "medications.yaml", "labs.yaml", "vaccines.yaml",
    "procedures.yaml", "social.yaml", "symptoms.yaml", "vitals.yaml", "scores.yaml", "study.yaml",
)

# chapters whose codes are diseases a chart names as such (injuries, external causes,
# encounters, perinatal and special-purpose codes are left out)
CHAPTER_KIND = {
    "A": "infection", "B": "infection", "C": "condition", "D": "condition", "E": "condition",
    "F": "condition", "G": "condition", "H": "condition", "I": "condition", "J": "condition",
    "K": "condition", "L": "condition", "M": "condition", "N": "condition", "O": "condition",
    "Q": "condition",
}
# acute respiratory and skin infections sit in the organ chapters
INFECTION_RANGES = (("J00", "J22"), ("L00", "L04"), ("L08", "L08"))  # L05: pilonidal cyst
CATEGORY = {
    "C": "malignancy", "F": "psychiatric", "G": "neuropsychiatric", "I": "cardiac", "J": "pulmonary",
    "K": "gastrointestinal", "N": "renal", "O": "pregnancy", "E": "metabolic",
}
VAGUE = {
    "unspecified", "other", "specified", "elsewhere", "classified", "nos", "nec", "without", "with",
    "due", "following", "sequela", "sequelae", "encounter", "history", "status", "family", "personal",
    "screening", "complicating", "complicated", "affecting", "involving", "in", "and", "or", "by", "not",
    "except", "right", "left", "bilateral", "site", "sites", "region", "part", "parts", "unknown",
    "undetermined", "initial", "subsequent", "trimester", "newborn", "fetus", "fetal", "maternal",
    "delivery", "childbirth", "puerperium", "care", "observation", "multiple", "use", "unilateral",
    "overlapping", "lesion", "lesions", "organ", "organs", "systems", "system", "certain", "types",
    "type", "late", "stage", "conditions", "abnormal", "findings", "involvement", "manifestations",
    "unsp", "oth", "w", "w/o", "resulting", "associated", "contact", "exposure", "vaccination",
    "syndrome", "remission", "relapse", "recurrent", "single", "episode", "mild", "moderate", "severe",
    "acute", "chronic",
}
# words that may start a precise phrase although they are in VAGUE: allowed as the first word
# of a two-or-more-word phrase ("Acute appendicitis", "Chronic pancreatitis", "Type 1 ...")
LEADING_OK = {"acute", "chronic", "type", "multiple", "recurrent"}
KEEP_INNER = {"syndrome"}  # "Nephrotic syndrome", "Down syndrome": a name, not a hedge
_CLEAN = re.compile(r"^[A-Za-z][A-Za-z0-9' -]*[A-Za-z0-9]$")
MAX_WORDS = 6
# words the context and medication stages read after a mention ("gout flare"): never in a span
QUALIFIER_AFTER = {"flare", "flares", "exacerbation", "reactivation", "positive", "negative", "use", "history"}


def snake(text: str) -> str:
    """A concept id from a title: ascii, lower case, words joined by underscores."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower().replace("'s ", "s ")).strip("_")


def fold(phrase: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", phrase.lower()))


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def hand_vocabulary() -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, Any]]]:
    """Phrases (folded) and ICD-10-CM codes of the hand-written files, each with its concept id."""
    phrases: dict[str, str] = {}
    codes: dict[str, str] = {}
    entries: dict[str, dict[str, Any]] = {}
    for name in HAND_FILES:
        path = PATTERNS / name
        if not path.exists():
            continue
        for entry in load_yaml(path)["entries"]:
            entries[entry["id"]] = entry
            for phrase in (entry["literal"], *entry.get("synonyms", ()), *entry.get("case_sensitive", ())):
                phrases.setdefault(fold(phrase), entry["id"])
            for code in entry.get("codes", ()):
                if code["system"] == "ICD-10-CM":
                    codes[code["code"]] = entry["id"]
    return phrases, codes, entries


def contains_hand_phrase(key: str, hand_phrases: dict[str, str]) -> bool:
    """True when a hand-written phrase lies inside ``key`` ("stable angina" holds "angina").

    The matcher keeps the longest match, so such a phrase would take the hand-written
    concept's mentions away from it; the hand-written concept names them instead.
    """
    words = key.split()
    return any(
        " ".join(words[i:j]) in hand_phrases for i in range(len(words)) for j in range(i + 1, len(words) + 1)
    )


def precise(term: str) -> str | None:
    """The term as a match phrase, or None when it is vague, qualified or punctuated."""
    term = re.sub(r"\s+NOS$", "", term.strip())
    if not _CLEAN.match(term):
        return None
    words = term.lower().split()
    if words[-1] in QUALIFIER_AFTER:
        return None
    if len(words) > MAX_WORDS:
        return None
    for index, word in enumerate(words):
        if word in VAGUE and not (index == 0 and word in LEADING_OK and len(words) > 1) and word not in KEEP_INNER:
            return None
    if len(words) == 1 and (len(term) < 6 or term.lower() in STOP_WORDS):
        return None
    return term[0].lower() + term[1:] if not term[:2].isupper() else term


def variants(term: str) -> list[str]:
    """An inclusion term with one optional parenthesised word group, both ways."""
    match = re.fullmatch(r"([^()]*)\(([^()]+)\)([^()]*)", term.strip())
    if not match:
        return [term]
    before, inner, after = match.groups()
    return [" ".join(f"{before} {after}".split()), " ".join(f"{before} {inner} {after}".split())]


def in_ranges(code: str, ranges: tuple[tuple[str, str], ...]) -> bool:
    head = code[:3]
    return any(low <= head <= high for low, high in ranges)


def group_parents(code: str, groups: dict[str, list[str]]) -> list[str]:
    """The overlay groups a code falls in: by code prefix or by a block range."""
    found = []
    for group, members in groups.items():
        for member in members:
            if "-" in member:
                low, high = member.split("-")
                if low <= code[:3] <= high:
                    found.append(group)
                    break
            elif code == member or code.startswith(member + ".") or (code.startswith(member) and "." in member):
                found.append(group)
                break
    return found


def owner_of_category(hand_codes: dict[str, str]) -> dict[str, str]:
    """Categories owned by a hand concept through its "unspecified" child code (C50.9 -> C50)."""
    owned = dict(hand_codes)
    for code, concept in hand_codes.items():
        node = code
        while (parent := cm.get_parent(node)) and not cm.is_chapter_or_block(parent):
            siblings = cm.get_children(parent)
            if "unspecified" not in cm.get_description(node).lower() and node != code:
                break
            if "unspecified" not in cm.get_description(code).lower() and len(siblings) > 1:
                break
            owned.setdefault(parent, concept)
            node = parent
    return owned


def build_conditions(overlay: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    hand_phrases, hand_codes, hand_entries = hand_vocabulary()
    owned = owner_of_category(hand_codes)
    codes_overlay: dict[str, dict[str, Any]] = overlay["codes"]
    dropped = {fold(p) for p in overlay["drop_phrases"]}
    groups: dict[str, list[str]] = overlay["groups"]
    concept_of: dict[str, str] = {}  # ICD code -> concept id (hand or generated)
    concept_of.update(owned)
    entries: dict[str, dict[str, Any]] = {}
    phrase_owner: dict[str, str] = {}  # folded phrase -> the code that first named it
    protected: set[str] = set()  # codes whose phrases came from the overlay: never shared away
    shared: set[str] = set()
    for code in cm.get_all_codes(with_dots=True):
        if cm.is_chapter_or_block(code) or code[0] not in CHAPTER_KIND or code in owned:
            continue
        extra = codes_overlay.get(code, {})
        title = cm.get_description(code)
        terms = [title, *(v for t in cm.get_inclusion_term(code) for v in variants(t))]
        phrases = [p for t in terms if (p := precise(t))]
        phrases += [s for s in extra.get("synonyms", []) if not _abbreviation(s)]
        literal = extra.get("literal") or (phrases[0] if phrases else None)
        if literal is None:
            continue
        concept_id = extra.get("id") or snake(literal)
        if concept_id in hand_entries or concept_id in entries:
            concept_id = f"{concept_id}_{snake(code)}"
        kept = []
        overlay_keys = {fold(s) for s in extra.get("synonyms", [])}
        for phrase in dict.fromkeys(phrases):
            key = fold(phrase)
            if not key or key in hand_phrases:
                continue
            if key not in overlay_keys and (key in dropped or contains_hand_phrase(key, hand_phrases)):
                continue  # the overlay's curated synonyms may hold a hand-written phrase
            if key in phrase_owner:
                owner_code = phrase_owner[key]
                # an ancestor keeps its own term ("Hyperthyroidism NOS" of E05.9 is E05's);
                # a phrase two unrelated codes share names neither, unless the overlay gave it
                if not code.replace(".", "").startswith(owner_code.replace(".", "")) and owner_code not in protected:
                    shared.add(key)
                continue
            phrase_owner[key] = code
            if key in overlay_keys:
                protected.add(code)
            kept.append(phrase)
        if fold(literal) not in {fold(k) for k in kept}:
            # the literal is matched too: a name the concept does not own would match twice
            literal = f"{kept[0]}" if kept else f"{title} [{code}]"
        parents = [p for p in _parents(code, concept_of, groups) if p != concept_id]
        kind = "infection" if in_ranges(code, INFECTION_RANGES) else CHAPTER_KIND[code[0]]
        concept_of[code] = concept_id
        entry: dict[str, Any] = {"id": concept_id, "kind": kind, "literal": literal[0].upper() + literal[1:]}
        if kept:
            entry["synonyms"] = kept
        abbreviations = [s for s in extra.get("synonyms", []) if _abbreviation(s) and fold(s) not in hand_phrases]
        if abbreviations:
            entry["case_sensitive"] = abbreviations
        entry["codes"] = [{"system": "ICD-10-CM", "code": code, "display": title}]
        if parents:
            entry["parents"] = parents
        if kind == "condition":
            entry["attrs"] = {"category": _category(code, groups)}
        entries[concept_id] = entry
    # a phrase two codes share names neither; a concept left with no phrase stays for its
    # children's hierarchy and for `concepts search`, matching nothing itself
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries.values():
        kept = [s for s in entry.get("synonyms", ()) if fold(s) not in shared]
        if kept:
            entry["synonyms"] = kept
        else:
            entry.pop("synonyms", None)
        by_kind[entry["kind"]].append(entry)
    return by_kind


def _abbreviation(phrase: str) -> bool:
    """An all-capitals short form ("PAD", "OSA"): matched only as written, never as a word."""
    return phrase.isupper() and len(phrase) <= 6 and " " not in phrase


def _parents(code: str, concept_of: dict[str, str], groups: dict[str, list[str]]) -> list[str]:
    node = code
    while (parent := cm.get_parent(node)) and not cm.is_chapter_or_block(parent):
        if parent in concept_of:
            return [concept_of[parent]]
        node = parent
    return [g for g in group_parents(code, groups)]


def _category(code: str, groups: dict[str, list[str]]) -> str:
    if "autoimmune_disease" in group_parents(code, groups):
        return "autoimmune"
    if (code[0] == "D" and code[:3] <= "D09") or "malignancy" in group_parents(code, groups):
        return "malignancy"  # in situ, and the D-coded neoplasms the overlay's malignancy group holds
    return CATEGORY.get(code[0], "other")


DRUG_WORDS = re.compile(r"^[a-z][a-z0-9-]*(?: [a-z0-9-]+){0,3}$")
# a name holding a dose form or route names a product, and swallows words other stages read
FORM_WORDS = {
    "tablet", "tablets", "capsule", "capsules", "suppository", "drops", "eye", "ear", "nasal", "cream",
    "ointment", "injection", "solution", "suspension", "rectal", "oral", "topical", "patch", "spray",
    "gel", "lotion", "syrup", "elixir", "inhaler", "powder", "film", "implant", "shampoo", "and",
    # release forms: the medication stage reads them after the name
    "ec", "ds", "ss", "er", "xr", "sr", "cr", "la", "xl", "dr", "odt",
}
CHEMISTRY_WORDS = {
    "anhydrous", "monohydrate", "dihydrate", "trihydrate", "hydrate", "base", "free", "salt", "ion",
    "monohydrochloride", "dihydrochloride", "monosodium", "disodium", "racemic", "hemihydrate",
}
MIN_BRAND_CHARS = 5  # shorter brand and code names are too often words or abbreviations


def build_medications(overlay: dict[str, Any]) -> list[dict[str, Any]]:
    """Clinical drugs of the open lexicon, ingredients of medications.yaml left out."""
    hand_phrases, _codes, hand_entries = hand_vocabulary()
    hand_ingredients = {
        snake(str(e.get("attrs", {}).get("ingredient", ""))) for e in hand_entries.values()
    } | set(hand_entries)
    path = files("drug_named_entity_recognition") / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(str(path), "rb") as handle:
        lexicon = pickle.load(handle)
    canonical: dict[str, dict[str, Any]] = lexicon["drug_canonical_to_data"]
    variant_of: dict[str, list[str]] = lexicon["drug_variant_to_canonical"]
    stop = {w.lower() for w in overlay["drop_names"]} | set(STOP_WORDS)
    names: dict[str, list[str]] = defaultdict(list)
    for variant, owners in variant_of.items():
        if len(owners) == 1:
            names[owners[0]].append(variant)
    entries = []
    seen: dict[str, str] = {}
    clashes: set[str] = set()
    # a name the overlay gives to one drug is that drug's, whichever entry the lexicon filed it under
    reserved = {fold(n): concept_id for concept_id, listed in overlay["add_names"].items() for n in listed}
    for name, data in sorted(canonical.items()):
        if not ("medline_plus_id" in data or "nhs_url" in data) or not DRUG_WORDS.match(name):
            continue
        concept_id = snake(name)
        if concept_id in hand_ingredients or fold(name) in hand_phrases or name in stop:
            continue
        kept = []
        for variant in sorted({name, *names.get(name, ())}):
            key = fold(variant)
            if (
                not DRUG_WORDS.match(variant)
                or (len(variant) < MIN_BRAND_CHARS and variant != name)
                or variant in stop
                or key in hand_phrases
                or FORM_WORDS & set(variant.split())
                or CHEMISTRY_WORDS & set(variant.split())
                or _respelling(variant, name)
                or reserved.get(key, concept_id) != concept_id
            ):
                continue
            if key in seen:
                clashes.add(key)
                continue
            seen[key] = concept_id
            kept.append(variant)
        if fold(name) not in {fold(k) for k in kept}:
            continue
        entry: dict[str, Any] = {"id": concept_id, "kind": "medication", "literal": data.get("name") or name}
        added = [n for n in overlay["add_names"].get(concept_id, ()) if fold(n) not in seen]
        seen.update((fold(n), concept_id) for n in added)
        entry["synonyms"] = kept + added
        entry["attrs"] = {"ingredient": concept_id}
        if data.get("drugbank_id"):
            entry["attrs"]["drugbank_id"] = data["drugbank_id"]
        entries.append(entry)
    for concept_id, extra in overlay["add_drugs"].items():
        if concept_id in hand_ingredients:
            continue
        names = [n for n in extra["synonyms"] if fold(n) not in hand_phrases and fold(n) not in seen]
        entry = {"id": concept_id, "kind": "medication", "literal": extra["literal"], "synonyms": names}
        entries.append({**entry, "attrs": {"ingredient": concept_id}})
    for entry in entries:
        entry["synonyms"] = [s for s in entry["synonyms"] if fold(s) not in clashes]
    return sorted((e for e in entries if e["synonyms"]), key=lambda e: e["id"])


def _respelling(variant: str, name: str) -> bool:
    """A foreign-language spelling of the name itself ("furosemida", "amlodipinum"): adds nothing."""
    return variant != name and " " not in variant and variant[:6] == name[:6] and abs(len(variant) - len(name)) <= 3


def header(name: str, description: str, source: str, license_text: str) -> dict[str, Any]:
    return {
        "schema": "vocabulary/v1",
        "name": name,
        "description": " ".join(description.split()),
        "version": 1,
        "source": " ".join(source.split()),
        "license": " ".join(license_text.split()),
    }


def render(head: dict[str, Any], entries: list[dict[str, Any]]) -> str:
    """JSON, one entry a line: parsed fifty times faster than YAML by every process that loads it."""
    head = {**head, "description": head["description"] + GENERATED}
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    lines.append('  "entries": [')
    lines += [f"    {json.dumps(e, ensure_ascii=False)}," for e in entries]
    lines[-1] = lines[-1].rstrip(",")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


GENERATED = (
    " GENERATED by scripts/build_vocabulary.py from installed packages: do not edit by hand;"
    " change the script or scripts/vocabulary/*.yaml and rebuild."
)


ICD_LICENSE = "Apache-2.0 for this file. ICD-10-CM is in the public domain (CMS/NCHS)."


def outputs() -> dict[Path, str]:
    overlay = load_yaml(OVERLAY / "conditions_overlay.yaml")
    drugs_overlay = load_yaml(OVERLAY / "medications_overlay.yaml")
    icd_source = (
        f"ICD-10-CM as shipped in simple-icd-10-cm {version('simple-icd-10-cm')} (titles, inclusion "
        "terms, hierarchy); clinical synonyms from scripts/vocabulary/conditions_overlay.yaml."
    )
    by_kind = build_conditions(overlay)
    meds = build_medications(drugs_overlay)
    return {
        PATTERNS / "conditions_icd10cm.json": render(
            header(
                "conditions_icd10cm",
                """Diseases named by ICD-10-CM codes that the hand-written conditions.yaml does not
                own, one concept per code, with `parents` following the ICD-10-CM hierarchy and the
                category groups (malignancy, cardiomyopathy, chronic liver disease, autoimmune
                disease...). Concepts whose official terms are all vague match nothing themselves
                and hold the hierarchy.""",
                icd_source,
                ICD_LICENSE,
            ),
            by_kind["condition"],
        ),
        PATTERNS / "infections_icd10cm.json": render(
            header(
                "infections_icd10cm",
                """Infectious diseases named by ICD-10-CM codes (chapter 1, acute respiratory and
                skin infections) that infections.yaml does not own, with their ICD-10-CM parents.""",
                icd_source,
                ICD_LICENSE,
            ),
            by_kind["infection"],
        ),
        PATTERNS / "medications_lexicon.json": render(
            header(
                "medications_lexicon",
                """Drug ingredients with brand names and synonyms beyond medications.yaml: the clinical
                drugs (with a MedlinePlus or NHS page) of the drug-named-entity-recognition lexicon.
                Classes come from drug_classes.yaml; `drugbank_id` is the lexicon's own
                cross-reference. No RxNorm code is given (none is certain from this source).""",
                f"drug-named-entity-recognition {version('drug-named-entity-recognition')} (Fast Data "
                "Science; names from DrugBank open data, MeSH, MedlinePlus and NHS), filtered by "
                "scripts/build_vocabulary.py with scripts/vocabulary/medications_overlay.yaml.",
                "Apache-2.0 for this file; the lexicon is MIT-licensed (drug-named-entity-recognition); "
                "DrugBank open vocabulary is CC0.",
            ),
            meds,
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a generated file is out of date")
    args = parser.parse_args()
    stale = []
    for path, text in outputs().items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            stale.append(path.name)
            if not args.check:
                path.write_text(text, encoding="utf-8")
        print(f"{path.name}: {text.count(chr(10) + '    {')} entries")
    if args.check and stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
