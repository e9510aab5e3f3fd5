"""Context: medspaCy ConText with our trigger rules, then one assertion per concept.

ConText marks which triggers modify which concepts within a sentence. This stage turns
those marks, and the section the concept sits in, into the fact model's single-valued
qualifiers, by fixed priority (negated > hypothetical > possible > present; a family or
other-person trigger > the section's default) so a fact never carries contradicting
flags. The trigger words are kept as cues, with offsets, to explain the decision.
"""

from bisect import bisect_right
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

from medspacy.context import ConText, ConTextRule
from medspacy.context.context_graph import ConTextGraph
from medspacy.context.context_modifier import ConTextModifier
from pydantic import BaseModel, ConfigDict, Field
from spacy.language import Language
from spacy.tokens import Doc, Span

from extractor.extensions import register_extensions
from extractor.pipeline.rule_files import RuleFileComponent, rules_directory
from extractor.pipeline.sections import load_sections, section_at
from extractor.resources import Header, load_model

Category = Literal[
    "NEGATED_EXISTENCE",
    "POSSIBLE_EXISTENCE",
    "HYPOTHETICAL",
    "HISTORICAL",
    "FAMILY",
    "OTHER_EXPERIENCER",
    "PSEUDO",
    "CONJ",
]
Direction = Literal["FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"]
# Words that are a lab's result, not a negation of the lab having been done.
RESULT_WORDS = {
    "negative", "neg", "(-)", "not detected", "undetectable", "-ve for", "negative for",
    "non", "nonreactive", "non-reactive",
}


class ContextRuleGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: Category
    direction: Direction
    literals: tuple[str, ...] = Field(min_length=1)
    max_scope: int | None = Field(default=None, ge=1)


class ContextFile(Header):
    schema_: Literal["context/v1"] = Field(alias="schema")
    rules: tuple[ContextRuleGroup, ...]


def load_context_rules(directory: Path | None = None) -> ContextFile:
    """The ConText trigger file of a rule directory (the bundled one by default), validated."""
    return load_model(ContextFile, rules_directory(directory) / "context.yaml")


def _scope(rule: ConTextRule, start: int, end: int, sent_start: int, sent_end: int) -> tuple[int, int]:
    """A trigger's scope in tokens, as medspaCy computes it from its sentence and max_scope."""
    limit = rule.max_scope
    direction = rule.direction.lower()
    if direction == "forward":
        return end, sent_end if limit is None else min(sent_end, end + limit)
    if direction == "backward":
        return (sent_start if limit is None else max(sent_start, start - limit)), start
    low = sent_start if limit is None else max(sent_start, start - limit)
    high = sent_end if limit is None else min(sent_end, end + limit)
    return low, high


def _inside(cue: dict[str, Any], other: dict[str, Any] | None) -> bool:
    """True when ``cue`` lies within ``other`` ("history of" inside "no history of")."""
    return other is not None and other["char_start"] <= cue["char_start"] and cue["char_end"] <= other["char_end"]


class ContextTagger(RuleFileComponent):
    """Runs ConText and writes ``span._.context`` (assertion, experiencer, temporality, cues)."""

    rule_files = ("context.yaml", "sections.yaml")

    def __init__(self, nlp: Language, name: str = "extractor_context", patterns: str = "") -> None:
        register_extensions()
        self.name = name
        self.nlp = nlp
        self.load_rules(rules_directory(patterns))

    def load_rules(self, directory: Path) -> None:
        name, nlp = self.name, self.nlp
        rule_file = load_context_rules(directory)
        self._context = ConText(nlp, name=f"{name}_medspacy", rules=None, span_attrs=None)
        seen: set[tuple[str, str]] = set()
        context_rules = []
        for group in rule_file.rules:
            for literal in group.literals:
                key = (literal.lower(), group.category)
                if key in seen:
                    continue
                seen.add(key)
                context_rules.append(
                    ConTextRule(
                        literal=literal,
                        category=group.category,
                        direction=group.direction,
                        max_scope=group.max_scope,
                    )
                )
        self._context.add(context_rules)
        self.sections = {s.category: s for s in load_sections(directory).sections}
        self.rules_dir = directory

    def __call__(self, doc: Doc) -> Doc:
        self._apply_context(doc)
        for ent in doc.ents:
            ent._.note_section = section_at(doc, ent.start_char)
            ent._.context = self._qualify(ent)
        # ConText's modifier objects do not serialise; qualifiers are copied above
        for ent in doc.ents:
            ent._.modifiers = ()
        return doc

    def _apply_context(self, doc: Doc) -> None:
        """medspaCy's ConText algorithm, one sentence at a time.

        ConText's own call pairs every trigger with every concept of the whole note and
        every trigger with every other, quadratic on long notes; scopes never leave their
        sentence, so grouping by sentence gives the same edges in linear time.
        """
        matcher = self._context._ConText__matcher  # medspaCy keeps its matcher private
        sentences = [(sent.start, sent.end) for sent in doc.sents]
        starts = [start for start, _ in sentences]
        modifiers: dict[int, list[ConTextModifier]] = defaultdict(list)
        for match_id, start, end in matcher(doc):
            rule = matcher.rule_map[doc.vocab.strings[match_id]]
            index = max(0, bisect_right(starts, start) - 1)
            scope = _scope(rule, start, end, *sentences[index])
            modifiers[index].append(ConTextModifier(rule, start, end, doc, *scope))
        targets: dict[int, list[Span]] = defaultdict(list)
        for ent in doc.ents:
            targets[max(0, bisect_right(starts, ent.start) - 1)].append(ent)
        for index, sentence_targets in targets.items():
            graph = ConTextGraph(prune_on_modifier_overlap=self._context.prune_on_target_overlap)
            graph.targets = sentence_targets
            graph.modifiers = modifiers.get(index, [])
            graph.update_scopes()
            graph.apply_modifiers()
            for target, modifier in graph.edges:
                target._.modifiers += (modifier,)

    def _qualify(self, ent: Span) -> dict[str, Any]:
        categories: dict[str, dict[str, Any]] = {}
        doc = ent.doc
        for modifier in ent._.modifiers:
            start, end = modifier.modifier_span
            span = doc[start:end]
            text = span.text.lower()
            if (
                modifier.category == "NEGATED_EXISTENCE"
                and ent.label_ == "LAB"
                and text in RESULT_WORDS
            ):
                continue  # "HBsAg negative" is a result, read by the lab stage
            categories.setdefault(
                modifier.category,
                {"category": modifier.category, "text": span.text,
                 "char_start": span.start_char, "char_end": span.end_char},
            )
        section = self.sections.get(ent._.note_section or "")
        if "NEGATED_EXISTENCE" in categories:
            assertion = "absent"
        elif "HYPOTHETICAL" in categories:
            assertion = "hypothetical"
        elif "POSSIBLE_EXISTENCE" in categories:
            assertion = "possible"
        else:
            assertion = "present"
        if "FAMILY" in categories:
            experiencer = "family"
        elif "OTHER_EXPERIENCER" in categories:
            experiencer = "other"
        else:
            experiencer = (section.experiencer if section else None) or "patient"
        if "HISTORICAL" in categories and not _inside(categories["HISTORICAL"], categories.get("NEGATED_EXISTENCE")):
            temporality = "historical"
        else:
            temporality = (section.temporality if section else None) or "current"
        return {
            "assertion": assertion,
            "experiencer": experiencer,
            "temporality": temporality,
            "cues": list(categories.values()),
        }



@Language.factory(
    "extractor_context",
    default_config={"patterns": ""},
    assigns=["span._.context", "span._.note_section"],
    requires=["doc.ents", "token.is_sent_start"],
)
def make_context(nlp: Language, name: str, patterns: str) -> ContextTagger:
    """Registered factory; ``patterns`` is a rule directory, empty for the bundled one."""
    return ContextTagger(nlp, name, patterns)
