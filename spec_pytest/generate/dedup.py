"""Near-duplicate removal: normalised text, word shingles, MinHash buckets, exact Jaccard.

The study removed near-duplicates with embeddings (k-center); without an embedding model
the usual stand-in is shingle overlap: two scenarios are near-duplicates when the Jaccard
similarity of their word 3-gram sets reaches the threshold. Comparing every pair is
quadratic, so MinHash signatures split into bands find the candidates (texts sharing a
band are likely similar) and only those are compared exactly. Hashes come from hashlib,
not ``hash()``, so the same texts give the same decisions in every process.

`Similarity` is the small protocol a run needs; an embedding-backed index can implement it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Protocol

from spec_pytest.errors import ConfigError

DEFAULT_THRESHOLD = 0.7
SHINGLE = 3
_PERMUTATIONS = 64
_BANDS = 32  # 32 bands of 2 rows: pairs with Jaccard >= ~0.2 usually meet in some band
_ROWS = _PERMUTATIONS // _BANDS
_PRIME = (1 << 61) - 1
_MAX = (1 << 32) - 1


def normalise(text: str) -> str:
    """Case, accents, punctuation and spacing removed: what two copies of a text share."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def shingles(text: str, size: int = SHINGLE) -> frozenset[str]:
    """Word ``size``-grams of the normalised text (the whole text when it is shorter)."""
    words = normalise(text).split()
    if len(words) <= size:
        return frozenset({" ".join(words)})
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _coefficients() -> list[tuple[int, int]]:
    out = []
    for i in range(_PERMUTATIONS):
        digest = hashlib.sha256(f"minhash-{i}".encode()).digest()
        out.append((int.from_bytes(digest[:8], "big") % _PRIME or 1, int.from_bytes(digest[8:16], "big")))
    return out


_COEFFS = _coefficients()


def signature(items: frozenset[str]) -> tuple[int, ...]:
    """The MinHash signature: per permutation, the smallest hashed shingle."""
    hashes = [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big") for s in items]
    return tuple(min(((a * h + b) % _PRIME) & _MAX for h in hashes) for a, b in _COEFFS)


class Similarity(Protocol):
    """What a run asks of a duplicate finder: the closest kept text, and remembering one."""

    def nearest(self, text: str) -> tuple[str, float] | None:
        """The id of a kept text at or above the threshold, and the similarity; else None."""
        ...

    def add(self, key: str, text: str) -> None: ...


@dataclass
class ShingleIndex:
    """`Similarity` by word-shingle Jaccard, with MinHash banding to find candidates."""

    threshold: float = DEFAULT_THRESHOLD
    _sets: dict[str, frozenset[str]] = field(default_factory=dict)
    _buckets: dict[tuple[int, tuple[int, ...]], list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ConfigError(f"similarity threshold must be in (0, 1], got {self.threshold}")

    def _bands(self, items: frozenset[str]) -> list[tuple[int, tuple[int, ...]]]:
        sig = signature(items)
        return [(b, sig[b * _ROWS : (b + 1) * _ROWS]) for b in range(_BANDS)]

    def nearest(self, text: str) -> tuple[str, float] | None:
        items = shingles(text)
        candidates = dict.fromkeys(k for band in self._bands(items) for k in self._buckets.get(band, ()))
        best: tuple[str, float] | None = None
        for key in candidates:  # insertion order: ties go to the earliest kept text
            score = jaccard(items, self._sets[key])
            if score >= self.threshold and (best is None or score > best[1]):
                best = (key, score)
        return best

    def add(self, key: str, text: str) -> None:
        items = shingles(text)
        self._sets[key] = items
        for band in self._bands(items):
            self._buckets.setdefault(band, []).append(key)
