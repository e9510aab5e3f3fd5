"""The vocabulary as a trial author and the screener see it: find, show, resolve, expand.

Concepts come from every vocabulary file of ``patterns/``; drug classes from
``drug_classes.yaml`` and the classes medications name; other ids of a concept from
``concept_aliases.yaml``. ``parents`` make a hierarchy (ICD-10-CM's, plus category groups
such as ``malignancy`` or ``autoimmune_disease``), so a criterion on a concept matches its
descendants (``expand``). ``search`` ranks names for a query; ``suggest`` gives the
"did you mean" of an unknown id.

    >>> from extractor import vocabulary
    >>> [r.id for r in vocabulary.search("heart failure", limit=3)]
    ['heart_failure', ...]
"""

from __future__ import annotations

import difflib
import functools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from extractor.facts import Kind
from extractor.resources import (
    VOCABULARY_FILES,
    Concept,
    concepts_by_id,
    load_concept_aliases,
    load_drug_classes,
    load_vocabularies,
)

CLASS = "class"  # the kind shown for a drug class in search results


@dataclass(frozen=True)
class SearchResult:
    """One hit of ``search``: the id to write in a trial, and why it matched."""

    id: str
    kind: str  # a fact kind, or "class"
    label: str
    matched: str  # the name that matched the query
    score: float  # 1.0 for an exact name; lower for partial and approximate matches
    source: str  # the vocabulary file (name) it comes from


@dataclass(frozen=True)
class FileCount:
    """How much one vocabulary file holds: what a reader of the README's vocabulary table checks."""

    file: str
    concepts: int
    names: int  # distinct written forms: literal, synonyms and exact-case forms
    token_patterns: int
    coded: int  # concepts with at least one code


@dataclass(frozen=True)
class CodeInfo:
    system: str
    code: str
    display: str


@dataclass(frozen=True)
class ConceptInfo:
    """Everything the vocabulary knows about one id, for ``concepts show``."""

    id: str
    kind: str
    label: str
    source: str
    synonyms: tuple[str, ...]
    case_sensitive: tuple[str, ...]
    codes: tuple[CodeInfo, ...]
    parents: tuple[str, ...]
    children: tuple[str, ...]
    classes: tuple[str, ...]  # a medication's drug classes
    members: tuple[str, ...]  # a class's member concepts
    aliases: tuple[str, ...]
    class_source: str = ""  # where a class's membership comes from


def _fold(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


class Vocabulary:
    """An index over the concepts, classes and aliases of one ``patterns/`` directory."""

    def __init__(self, directory: Path | None = None) -> None:
        self.concepts: dict[str, Concept] = concepts_by_id(directory)
        self.source: dict[str, str] = {
            concept.id: vocab.name for vocab in load_vocabularies(directory) for concept in vocab.entries
        }
        self.aliases: dict[str, str] = dict(load_concept_aliases(directory).aliases)
        self.class_names: dict[str, str] = {}
        self.class_sources: dict[str, str] = {}
        self.members: dict[str, set[str]] = defaultdict(set)
        for drug_class in load_drug_classes(directory).classes:
            self.class_names[drug_class.id] = drug_class.name
            self.class_sources[drug_class.id] = drug_class.source
        for concept in self.concepts.values():
            for name in concept.attrs.get("classes", ()) or ():
                self.members[name].add(concept.id)
                self.class_names.setdefault(name, name.replace("_", " "))
        self.children: dict[str, set[str]] = defaultdict(set)
        for concept in self.concepts.values():
            for parent in concept.parents:
                self.children[parent].add(concept.id)
        self._names: dict[str, list[tuple[str, str]]] = defaultdict(list)  # folded -> (id, as written)
        for concept in self.concepts.values():
            for name in dict.fromkeys((concept.literal, *concept.synonyms, *concept.case_sensitive)):
                self._names[_fold(name)].append((concept.id, name))
            self._names[_fold(concept.id)].append((concept.id, concept.id))
        for class_id, name in self.class_names.items():
            self._names[_fold(name)].append((class_id, name))
            self._names[_fold(class_id)].append((class_id, class_id))

    # ------------------------------------------------------------------ ids
    def resolve(self, name: str) -> str | None:
        """The concept id ``name`` denotes (itself or through an alias), or None."""
        if name in self.concepts:
            return name
        target = self.aliases.get(name)
        return target if target in self.concepts else None

    def is_class(self, name: str) -> bool:
        return name in self.class_names

    def expand(self, names: Iterable[str]) -> frozenset[str]:
        """The concepts and all their descendants, aliases resolved."""
        found: set[str] = set()
        stack = [self.resolve(n) or n for n in names]
        while stack:
            current = stack.pop()
            if current in found:
                continue
            found.add(current)
            stack.extend(self.children.get(current, ()))
        return frozenset(found)

    def suggest(self, name: str, classes: bool = False, limit: int = 3) -> list[str]:
        """Ids close to a misspelt ``name``: by spelling, then by names that contain it."""
        pool = list(self.class_names) if classes else [*self.concepts, *self.aliases]
        close = difflib.get_close_matches(name, pool, n=limit, cutoff=0.75)
        if len(close) < limit:
            close += [
                r.id
                for r in self.search(name.replace("_", " "), limit=limit * 2)
                if (r.kind == CLASS) == classes and r.id not in close
            ]
        return close[:limit]

    # ------------------------------------------------------------------ search
    def search(self, text: str, kind: str | Kind | None = None, limit: int = 10) -> list[SearchResult]:
        """Concepts and classes whose names match ``text`` best: exact, then prefix, then words, then spelling."""
        query = _fold(text)
        if not query:
            return []
        wanted = kind.value if isinstance(kind, Kind) else kind
        words = query.split()
        best: dict[str, tuple[float, str]] = {}
        for folded, owners in self._names.items():
            score = _score(query, words, folded)
            if score <= 0:
                continue
            for owner, written in owners:
                if score > best.get(owner, (0.0, ""))[0]:
                    best[owner] = (score, written)
        if len(best) < limit:
            for folded in difflib.get_close_matches(query, list(self._names), n=limit, cutoff=0.8):
                score = 0.5 * difflib.SequenceMatcher(None, query, folded).ratio()
                for owner, written in self._names[folded]:
                    if score > best.get(owner, (0.0, ""))[0]:
                        best[owner] = (score, written)
        results = [self._result(owner, score, written) for owner, (score, written) in best.items()]
        if wanted:
            results = [r for r in results if r.kind == wanted]
        results.sort(key=lambda r: (-r.score, len(r.matched), r.id))
        return results[:limit]

    def _result(self, owner: str, score: float, written: str) -> SearchResult:
        concept = self.concepts.get(owner)
        if concept is None:
            return SearchResult(owner, CLASS, self.class_names[owner], written, round(score, 3), "drug_classes")
        return SearchResult(owner, concept.kind.value, concept.literal, written, round(score, 3), self.source[owner])

    # ------------------------------------------------------------------ show
    def show(self, name: str) -> ConceptInfo | None:
        """What the vocabulary holds for a concept or class id (or alias), or None."""
        concept_id = self.resolve(name)
        aliases = tuple(sorted(a for a, target in self.aliases.items() if target == (concept_id or name)))
        if concept_id is None:
            if name not in self.class_names:
                return None
            return ConceptInfo(
                id=name, kind=CLASS, label=self.class_names[name], source="drug_classes", synonyms=(),
                case_sensitive=(), codes=(), parents=(), children=(), classes=(),
                members=tuple(sorted(self.members.get(name, ()))), aliases=aliases,
                class_source=self.class_sources.get(name, "medications attrs.classes"),
            )
        concept = self.concepts[concept_id]
        return ConceptInfo(
            id=concept.id,
            kind=concept.kind.value,
            label=concept.literal,
            source=self.source[concept.id],
            synonyms=concept.synonyms,
            case_sensitive=concept.case_sensitive,
            codes=tuple(CodeInfo(c.system, c.code, c.display) for c in concept.codes),
            parents=concept.parents,
            children=tuple(sorted(self.children.get(concept.id, ()))),
            classes=tuple(concept.attrs.get("classes", ()) or ()),
            members=(),
            aliases=aliases,
        )


def _score(query: str, words: list[str], name: str) -> float:
    """How well a folded name matches the folded query (0 when it does not)."""
    if name == query:
        return 1.0
    if name.startswith(query + " ") or name.startswith(query):
        return 0.9 - min(len(name) - len(query), 60) / 300
    name_words = name.split()
    if all(any(w.startswith(q) for w in name_words) for q in words):
        return 0.7 - min(len(name_words) - len(words), 20) / 100
    return 0.0


@functools.cache
def vocabulary(directory: Path | None = None) -> Vocabulary:
    """The shared index of the bundled vocabulary (built once per process)."""
    return Vocabulary(directory)


def search(text: str, kind: str | Kind | None = None, limit: int = 10) -> list[SearchResult]:
    """Concepts and classes matching ``text``, best first (``kind``: a fact kind or "class")."""
    return vocabulary().search(text, kind, limit)


def show(name: str) -> ConceptInfo | None:
    """Synonyms, codes, parents, children and classes of one concept or class id."""
    return vocabulary().show(name)


def expand(names: Iterable[str]) -> frozenset[str]:
    """Concept ids with all their descendants (a criterion on a category matches them)."""
    return vocabulary().expand(names)


def counts(directory: Path | None = None) -> list[FileCount]:
    """Concepts, names, token patterns and coded concepts of each vocabulary file, in load order;
    drug classes last (their members are counted as names)."""
    rows = []
    for name, vocab in zip(VOCABULARY_FILES, load_vocabularies(directory), strict=True):
        entries = vocab.entries
        rows.append(FileCount(
            file=name,
            concepts=len(entries),
            names=sum(len({c.literal, *c.synonyms, *c.case_sensitive}) for c in entries),
            token_patterns=sum(len(c.pattern) for c in entries),
            coded=sum(1 for c in entries if c.codes),
        ))
    classes = load_drug_classes(directory).classes
    rows.append(FileCount("drug_classes.yaml", len(classes), sum(len(c.members) for c in classes), 0, 0))
    return rows
