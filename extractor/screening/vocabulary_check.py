"""Trial criteria checked against the vocabulary at load: an unknown id is an error.

A typo such as ``concept: seizur`` would otherwise load silently and read as "no seizur
in the chart": an exclusion quietly not met. Every concept, class and lab id a predicate
names must be a concept of ``patterns/`` (or an alias of one), a drug class, or for
``exclude`` either; the error names the file, line and criterion, and suggests the
closest ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from extractor.screening.engine import Node, PredicateNode
from extractor.screening.errors import TrialError, TrialErrors
from extractor.vocabulary import Vocabulary, vocabulary

VALUE_KINDS = {"lab", "score", "vital"}


def predicates(node: Node) -> Iterator[PredicateNode]:
    """Every predicate leaf of a rule tree."""
    if isinstance(node, PredicateNode):
        yield node
        return
    for child in (*getattr(node, "children", ()), getattr(node, "child", None)):
        if child is not None:
            yield from predicates(child)


def check_names(rule: Node, path: Path, criterion: str, vocab: Vocabulary | None = None) -> None:
    """Raise T011 on the first id of ``rule`` the vocabulary does not know."""
    vocab = vocab or vocabulary()
    for node in predicates(rule):
        params = node.params
        for name in getattr(params, "concept", ()) or ():
            concept_id = vocab.resolve(name)
            if concept_id is None:
                raise _unknown(path, node.line, criterion, "concept", name, vocab.suggest(name))
            if node.spec.name == "lab" and vocab.concepts[concept_id].kind.value not in VALUE_KINDS:
                raise _unknown(
                    path, node.line, criterion, "lab", name,
                    [r.id for r in vocab.search(name.replace("_", " ")) if r.kind in VALUE_KINDS][:3],
                )
        for name in getattr(params, "classes", ()) or ():
            if not vocab.is_class(name):
                raise _unknown(path, node.line, criterion, "class", name, vocab.suggest(name, classes=True))
        for name in getattr(params, "exclude", ()) or ():
            if vocab.resolve(name) is None and not vocab.is_class(name):
                raise _unknown(path, node.line, criterion, "concept or class", name, vocab.suggest(name))


def _unknown(path: Path, line: int, criterion: str, what: str, name: str, close: list[str]) -> TrialError:
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return TrialError(
        TrialErrors.T011.format(path=path, line=line, criterion=criterion, what=what, name=name, hint=hint)
    )
