"""Loading rule and vocabulary files from ``patterns/``, validated at load.

Every file opens with a header naming what it is and where its knowledge comes from
(``schema``, ``name``, ``description``, ``version``, ``source``, ``license``), then its
entries. Every file's model subclasses ``Header`` and fixes its own ``schema`` with a
``Literal``; models forbid unknown keys and give closed sets a ``Literal`` or enum type,
so a typo in a rule file fails loudly at load, with the file and entry named, instead
of silently matching nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from extractor.errors import Errors, ResourceError
from extractor.facts import Kind

CodeSystem = Literal["ICD-10-CM", "SNOMED CT", "RxNorm", "LOINC", "CVX"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Header(_Strict):
    """What every pattern file says about itself; each file's model subclasses this one
    and narrows ``schema_`` to its own ``Literal["<kind>/v1"]``."""

    schema_: str = Field(alias="schema")
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    version: int | str
    source: str = Field(min_length=1)
    license: str = Field(min_length=1)


HEADER_KEYS = ("schema", "name", "description", "version", "source", "license")


def header_of(data: Any) -> Header:
    """The header of a parsed rule file (its entries left out)."""
    return Header.model_validate({key: data[key] for key in HEADER_KEYS if key in data})


class CodeEntry(_Strict):
    system: CodeSystem
    code: str = Field(min_length=1)
    display: str = ""


class Concept(_Strict):
    """One vocabulary entry: a concept, its names, codes and kind-specific attributes."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: Kind
    literal: str = Field(min_length=1)
    synonyms: tuple[str, ...] = ()
    # names that say the concept is absent ("afebrile", "nonsmoker"): found like synonyms, and
    # the fact is absent, the name itself its negation cue
    negated_synonyms: tuple[str, ...] = ()
    pattern: tuple[tuple[dict[str, Any], ...], ...] = ()
    case_sensitive: tuple[str, ...] = ()
    codes: tuple[CodeEntry, ...] = ()
    parents: tuple[str, ...] = ()  # broader concepts: a criterion on a parent matches this concept
    attrs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("synonyms", "case_sensitive", "negated_synonyms")
    @classmethod
    def _no_blank(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not value.strip() or value != value.strip():
                raise ValueError(f"synonym {value!r} is blank or has stray whitespace")
        return values


class VocabularyFile(Header):
    schema_: Literal["vocabulary/v1"] = Field(alias="schema")
    entries: tuple[Concept, ...]


def patterns_dir() -> Path:
    """The installed ``patterns/`` directory (package resources of ``extractor``)."""
    return Path(str(files("extractor.patterns")))


def trials_dir() -> Path:
    """The installed bundled-trials directory (``corpora/trials``)."""
    return Path(str(files("extractor.trials")))


# libyaml's parser when PyYAML was built with it: the same safe constructor, several times
# faster; the rule files are parsed again by every batch worker as it starts
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file (or a generated ``.json`` one), naming the file and line on a syntax error."""
    try:
        with path.open(encoding="utf-8") as handle:
            if path.suffix == ".json":
                return json.load(handle)
            return yaml.load(handle, Loader=_YAML_LOADER)
    except FileNotFoundError as exc:
        raise ResourceError(Errors.E001.format(path=path)) from exc
    except json.JSONDecodeError as exc:
        raise ResourceError(Errors.E002.format(path=path, line=exc.lineno, problem=exc.msg)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else "?"
        raise ResourceError(Errors.E002.format(path=path, line=line, problem=exc)) from exc


def load_model(model: type[BaseModel], path: Path) -> Any:
    """Read a YAML file into a pydantic model, turning validation errors into one clear message."""
    data = read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ResourceError(Errors.E003.format(path=path, errors=_describe(exc, data))) from exc


def _describe(exc: ValidationError, data: Any) -> str:
    lines = []
    for error in exc.errors():
        loc = error["loc"]
        where = ".".join(str(part) for part in loc)
        entry_id = _entry_id(data, loc)
        if entry_id:
            where += f" (entry {entry_id!r})"
        lines.append(f"{where}: {error['msg']}")
    return "; ".join(lines)


def _entry_id(data: Any, loc: Sequence[Any]) -> str | None:
    if len(loc) >= 2 and loc[0] == "entries" and isinstance(loc[1], int):
        try:
            return data["entries"][loc[1]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
    return None


VOCABULARY_FILES: tuple[str, ...] = (
    "conditions.yaml",
    "symptoms.yaml",
    "infections.yaml",
    "medications.yaml",
    "labs.yaml",
    "vitals.yaml",
    "scores.yaml",
    "vaccines.yaml",
    "procedures.yaml",
    "social.yaml",
    "study.yaml",
    # generated by scripts/build_vocabulary.py from installed terminology packages
    "conditions_icd10cm.json",
    "infections_icd10cm.json",
    "medications_lexicon.json",
)


# every file ``concepts_by_id`` reads: what a stage that looks concepts up carries with it
CONCEPT_FILES: tuple[str, ...] = (*VOCABULARY_FILES, "drug_classes.yaml")


@functools.cache
def load_vocabularies(directory: Path | None = None) -> tuple[VocabularyFile, ...]:
    """Load every vocabulary file; concept ids must be unique across files."""
    base = directory or patterns_dir()
    loaded = tuple(load_model(VocabularyFile, base / name) for name in VOCABULARY_FILES)
    seen: dict[str, str] = {}
    for vocab in loaded:
        for concept in vocab.entries:
            if concept.id in seen:
                raise ResourceError(
                    Errors.E004.format(concept=concept.id, first=seen[concept.id], second=vocab.name)
                )
            seen[concept.id] = vocab.name
    return loaded


@functools.cache
def concepts_by_id(directory: Path | None = None) -> dict[str, Concept]:
    """Every concept of every vocabulary, by id; medications carry the classes of drug_classes.yaml."""
    concepts = {c.id: c for vocab in load_vocabularies(directory) for c in vocab.entries}
    added: dict[str, list[str]] = {}
    for drug_class in load_drug_classes(directory).classes:
        for member in drug_class.members:
            added.setdefault(member, []).append(drug_class.id)
    for member, classes in added.items():
        concept = concepts.get(member)
        if concept is None:
            continue  # a member missing from the vocabulary is reported by the vocabulary tests
        own = list(concept.attrs.get("classes", ()))
        merged = own + [c for c in classes if c not in own]
        concepts[member] = concept.model_copy(update={"attrs": {**concept.attrs, "classes": merged}})
    return concepts


class DrugClass(_Strict):
    """A pharmacological class: its members (medication concept ids) and where membership comes from."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    source: str = Field(min_length=1)
    members: tuple[str, ...] = Field(min_length=1)


class DrugClassesFile(Header):
    """``drug_classes.yaml``: pharmacological classes as data, each with its source."""

    schema_: Literal["drug-classes/v1"] = Field(alias="schema")
    classes: tuple[DrugClass, ...]


@functools.cache
def load_drug_classes(directory: Path | None = None) -> DrugClassesFile:
    """The drug classes file, validated."""
    return load_model(DrugClassesFile, (directory or patterns_dir()) / "drug_classes.yaml")


class ConceptAliasesFile(Header):
    """``concept_aliases.yaml``: other ids that name a concept (older ids, ICD-10-CM-title ids)."""

    schema_: Literal["concept-aliases/v1"] = Field(alias="schema")
    aliases: dict[str, str]


@functools.cache
def load_concept_aliases(directory: Path | None = None) -> ConceptAliasesFile:
    """The alias table, validated."""
    return load_model(ConceptAliasesFile, (directory or patterns_dir()) / "concept_aliases.yaml")


class SteroidEquivalence(_Strict):
    ingredient: str = Field(pattern=r"^[a-z0-9_]+$")
    mg_equivalent_to_prednisone_5mg: float = Field(gt=0)


class SteroidEquivalenceFile(Header):
    """``steroid_equivalence.yaml``: the dose of each glucocorticoid equal to 5 mg prednisone."""

    schema_: Literal["steroid-equivalence/v1"] = Field(alias="schema")
    entries: tuple[SteroidEquivalence, ...]


def load_steroid_equivalence(directory: Path | None = None) -> SteroidEquivalenceFile:
    """The glucocorticoid equivalence table, validated."""
    return load_model(SteroidEquivalenceFile, (directory or patterns_dir()) / "steroid_equivalence.yaml")
