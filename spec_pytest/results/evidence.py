"""What one sample showed, kept in a baseline so that a later regression can show before -> after.

A baseline used to keep pass counts only. After a re-record overwrote the old cassette, a
regression line could say that an item now fails, but not what the model had said when it
passed. `Evidence` is the part of a result record worth committing: the verdict, the panel's
reading and each judge's ruling, the answer's hash and a short excerpt, and a content hash of
every cassette. The hashes tell a reader whether the answer itself changed (a new recording)
or only its judging (same cassette, a new rubric or panel).

No path is kept: a baseline is committed and shared, and cassette paths in records are local.
Every string is scrubbed of keys when the baseline is written (`spec_pytest.secrets`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from spec_pytest.results.records import Record
from spec_pytest.secrets import scrub

#: How much of an answer a baseline keeps per sample: enough to recognise it in a review.
EXCERPT_CHARS = 280


@dataclass(frozen=True, slots=True)
class Ruling:
    """One judge's reading of one answer, as a baseline keeps it (no rationale: the cassette has it)."""

    judge: str
    position: float | None  # a per-value judge's derived bipolar reading may be x.5
    compliance: str
    refusal: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "position": self.position,
            "compliance": self.compliance,
            "refusal": self.refusal,
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """One sample of a scenario x model: what it was judged to be, and what was judged."""

    sample: int
    outcome: str
    nodeid: str | None = None
    position: float | None = None
    compliance: str | None = None
    refusal: str | None = None
    rulings: tuple[Ruling, ...] = ()
    answer_hash: str | None = None
    answer_excerpt: str | None = None
    cassette_hashes: tuple[tuple[str, str], ...] = ()  # (role, sha256 of the file), sorted by role
    #: Where a run's own sample has its cassettes (never saved): read only when a hash is
    #: needed, for a baseline being saved (`with_hashes`) or a regression shown (`answer_cassette`).
    cassette_paths: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    #: Per-value rubric: the panel's positions toward the pair's first and second value.
    value_positions: tuple[float, float] | None = None

    @classmethod
    def from_record(cls, record: Record) -> Evidence:
        """A run's sample; its cassettes are hashed only when asked (a gate over a run reads
        every record, and most never show their evidence)."""
        excerpt = record.response_excerpt
        if excerpt is not None and len(excerpt) > EXCERPT_CHARS:
            excerpt = excerpt[: EXCERPT_CHARS - 1] + "…"
        return cls(
            sample=record.sample,
            outcome=record.outcome,
            nodeid=record.nodeid,
            position=record.position,
            compliance=record.compliance,
            refusal=record.refusal,
            rulings=tuple(Ruling(j.judge, j.position, j.compliance, j.refusal) for j in record.judges),
            answer_hash=record.response_hash,
            answer_excerpt=excerpt,
            cassette_paths=tuple(sorted(record.cassettes.items())),
            value_positions=record.value_positions,
        )

    def with_hashes(self) -> Evidence:
        """This sample with each cassette's content hash, as a baseline keeps it."""
        if self.cassette_hashes or not self.cassette_paths:
            return self
        hashes = {role: digest for role, path in self.cassette_paths if (digest := _hash_file(path))}
        return replace(self, cassette_hashes=tuple(sorted(hashes.items())))

    def to_dict(self) -> dict[str, Any]:
        return {
            "sample": self.sample,
            "outcome": self.outcome,
            "nodeid": self.nodeid,
            "position": self.position,
            "compliance": self.compliance,
            "refusal": self.refusal,
            "rulings": [r.to_dict() for r in self.rulings],
            "answer_hash": self.answer_hash,
            "answer_excerpt": None if self.answer_excerpt is None else scrub(self.answer_excerpt),
            "cassettes": dict(self.cassette_hashes),
            **({} if self.value_positions is None else {"value_positions": list(self.value_positions)}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        """Read one sample back; raises KeyError/TypeError/ValueError on a malformed entry."""
        return cls(
            sample=int(data["sample"]),
            outcome=str(data["outcome"]),
            nodeid=_str_or_none(data.get("nodeid")),
            position=None if data.get("position") is None else float(data["position"]),
            compliance=_str_or_none(data.get("compliance")),
            refusal=_str_or_none(data.get("refusal")),
            rulings=tuple(
                Ruling(
                    str(r["judge"]),
                    None if r.get("position") is None else _point(r["position"]),
                    str(r["compliance"]),
                    str(r["refusal"]),
                )
                for r in data.get("rulings", ())
            ),
            answer_hash=_str_or_none(data.get("answer_hash")),
            answer_excerpt=_str_or_none(data.get("answer_excerpt")),
            cassette_hashes=tuple(sorted((str(k), str(v)) for k, v in (data.get("cassettes") or {}).items())),
            value_positions=_pair(data.get("value_positions")),
        )

    @property
    def answer_cassette(self) -> str | None:
        """The content hash of the answer's cassette (None when it was not on disk)."""
        if self.cassette_hashes:
            return dict(self.cassette_hashes).get("response")
        path = dict(self.cassette_paths).get("response")
        return None if path is None else _hash_file(path)

    def reading(self) -> str:
        """Outcome and the panel's reading, each judge's position among them: one line."""
        parts = [self.outcome]
        if self.position is not None:
            placed = [f"{r.position:g}" for r in self.rulings if r.position is not None]
            judges = f" (judges {', '.join(placed)})" if len(placed) > 1 else ""
            parts.append(f"position {self.position:g}{judges}")
        if self.value_positions is not None:
            parts.append("per value {:g} / {:g}".format(*self.value_positions))
        if self.compliance is not None:
            parts.append(self.compliance)
        if self.refusal not in (None, "none"):
            parts.append(f"refusal {self.refusal}")
        return " · ".join(parts)

    @property
    def short_hash(self) -> str | None:
        """The answer's hash as shown: its algorithm and 12 hex digits."""
        if self.answer_hash is None:
            return None
        algorithm, _, digest = self.answer_hash.rpartition(":")  # records write "sha256:<hex>"
        return f"{algorithm or 'sha256'}:{digest[:12]}"

    def summary(self) -> str:
        """`reading`, then the answer's short hash and the start of its excerpt: one line."""
        if self.short_hash is None:
            return self.reading()
        excerpt = " ".join((self.answer_excerpt or "").split())
        if len(excerpt) > 100:
            excerpt = excerpt[:99] + "…"
        return f'{self.reading()} · answer {self.short_hash} "{excerpt}"'


def what_changed(before: Evidence, after: Evidence) -> str:
    """Whether the answer, its recording or only its judging changed between two samples."""
    if before.answer_hash is None or after.answer_hash is None:
        return "no answer to compare on one side"
    if before.answer_hash != after.answer_hash:
        recorded = before.answer_cassette != after.answer_cassette
        return "a different answer" + (" (its cassette was re-recorded)" if recorded else "")
    if before.answer_cassette is not None and before.answer_cassette == after.answer_cassette:
        return "the same answer from the same cassette: only its judging changed"
    return "the same answer text: only its judging changed"


def _hash_file(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:  # not on this machine (a record read elsewhere): no hash, not an error
        return None


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _point(value: object) -> float:
    """A judge's position as a baseline holds it: an int (bipolar rubric) or x.5 (derived)."""
    number = float(value)  # type: ignore[arg-type]
    return int(number) if number.is_integer() else number


def _pair(value: object) -> tuple[float, float] | None:
    """A baseline's per-value positions (absent under the bipolar rubric)."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"value_positions must be two numbers, got {value!r}")
    return (float(value[0]), float(value[1]))
