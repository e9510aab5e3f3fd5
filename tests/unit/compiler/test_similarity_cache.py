"""The on-disk cache of name embeddings: reused for the same names and model, recomputed
for new ones, and never needed: a damaged file or a directory that cannot be written only
costs the time of embedding again."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from extractor.compiler.lexicon import Lexicon, Term  # noqa: E402
from extractor.compiler.similarity import NameCache, SimilarityIndex, default_cache_dir  # noqa: E402
from extractor.facts import Kind  # noqa: E402


class CountingEncoder:
    """Deterministic vectors from each text's hash, counting the texts it embeds."""

    def __init__(self, model: str = "model-a") -> None:
        self.model = model
        self.embedded = 0

    def identity(self) -> str:
        return self.model

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        self.embedded += len(texts)
        rows = [torch.tensor(list(hashlib.sha256(t.encode()).digest() * 12), dtype=torch.float32) for t in texts]
        return torch.nn.functional.normalize(torch.stack(rows), dim=1)


def _lexicon(*names: str) -> Lexicon:
    return Lexicon([Term(name, name.replace(" ", "_"), Kind.CONDITION, literal=True) for name in names])


def test_the_same_names_and_model_are_read_back(tmp_path: Path) -> None:
    cache = NameCache(tmp_path)
    first = CountingEncoder()
    built = SimilarityIndex(_lexicon("heart failure", "asthma"), first, cache)
    assert first.embedded == 2
    again = CountingEncoder()
    read = SimilarityIndex(_lexicon("heart failure", "asthma"), again, cache)
    assert again.embedded == 0
    assert torch.allclose(built.matrix, read.matrix)
    assert read.nearest(["asthma"])[0].term.concept == "asthma"


def test_new_names_or_a_new_model_are_embedded_again(tmp_path: Path) -> None:
    cache = NameCache(tmp_path)
    SimilarityIndex(_lexicon("heart failure", "asthma"), CountingEncoder(), cache)
    grown = CountingEncoder()
    SimilarityIndex(_lexicon("heart failure", "asthma", "epilepsy"), grown, cache)
    assert grown.embedded == 3
    other_model = CountingEncoder("model-b")
    SimilarityIndex(_lexicon("heart failure", "asthma"), other_model, cache)
    assert other_model.embedded == 2


def test_a_damaged_file_is_recomputed_and_replaced(tmp_path: Path) -> None:
    cache = NameCache(tmp_path)
    lexicon = _lexicon("heart failure", "asthma")
    SimilarityIndex(lexicon, CountingEncoder(), cache)
    (stored,) = (tmp_path / "names").glob("*.npy")
    stored.write_bytes(b"not an array")
    encoder = CountingEncoder()
    SimilarityIndex(lexicon, encoder, cache)
    assert encoder.embedded == 2
    assert cache.load([t.text for t in SimilarityIndex(lexicon, CountingEncoder(), cache).terms], "model-a") is not None


def test_an_unwritable_cache_or_none_still_answers(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would be", encoding="utf-8")
    for cache in (NameCache(blocked), NameCache(None)):
        encoder = CountingEncoder()
        index = SimilarityIndex(_lexicon("asthma"), encoder, cache)
        assert encoder.embedded == 1
        assert index.nearest(["asthma"])[0].term.concept == "asthma"


def test_the_cache_directory_is_the_users_unless_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EXTRACTOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "extractor"
    monkeypatch.setenv("EXTRACTOR_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("EXTRACTOR_CACHE_DIR", "")
    assert default_cache_dir() is None
