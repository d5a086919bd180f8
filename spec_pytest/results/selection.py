"""What a run chose not to run, beside its results file: so the gate can tell an item
deliberately left out (``-k``, ``-m``, ``--lf``, ``--shard``) from one that is simply missing
(a crashed xdist worker, an interrupted run, a scenario dropped from the spec).

Every process that collects items (the run itself, or each xdist worker) appends one line
``{"kind": "spec-pytest run", ...}`` to the results file's sidecar, ``RESULTS.selection``
(`selection_path`), before its first item: the items deselected, those of other shards, the
shard, the ``-k``/``-m`` expressions. A sidecar keeps the results file a file of records only
(its readers and fields unchanged). Several lines (one per worker) or several files (shards)
are read as their union; a results file without a sidecar deselected nothing, so every
baseline item it lacks is not run (fail closed).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from spec_pytest.results.records import ItemKey, ResultsError

RUN_KIND = "spec-pytest run"
SELECTION_SCHEMA = 1
GateKey = tuple[str, str, str]  # suite, scenario, model


@dataclass(frozen=True)
class Selection:
    """One collecting process's choice: which spec items it deselected, and its shard."""

    deselected: tuple[ItemKey, ...] = ()  # by -k, -m, --lf...: never expected in this run
    sharded_out: tuple[ItemKey, ...] = ()  # by --shard: another shard's file holds them
    shard: tuple[int, int] | None = None
    keyword: str | None = None
    markexpr: str | None = None
    worker: str | None = None
    recorded_at: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": RUN_KIND,
            "schema": SELECTION_SCHEMA,
            "deselected": [list(key) for key in self.deselected],
            "sharded_out": [list(key) for key in self.sharded_out],
            "shard": list(self.shard) if self.shard else None,
            "keyword": self.keyword,
            "markexpr": self.markexpr,
            "worker": self.worker,
            "recorded_at": self.recorded_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> Selection:
        try:
            shard = data.get("shard")
            return cls(
                deselected=_keys(data.get("deselected", ())),
                sharded_out=_keys(data.get("sharded_out", ())),
                shard=(int(shard[0]), int(shard[1])) if shard else None,
                keyword=data.get("keyword"),
                markexpr=data.get("markexpr"),
                worker=data.get("worker"),
                recorded_at=data.get("recorded_at"),
            )
        except (TypeError, ValueError) as exc:
            raise ResultsError(f"{where}: a malformed run header ({exc})") from None


def _keys(items: Iterable[Sequence[Any]]) -> tuple[ItemKey, ...]:
    return tuple((str(s), str(c), str(m), int(n)) for s, c, m, n in items)


def selection_path(results: str | os.PathLike[str]) -> Path:
    """The sidecar of a results file: ``run.jsonl`` -> ``run.jsonl.selection``."""
    path = Path(results)
    return path.with_name(path.name + ".selection")


def read_selections(paths: Iterable[str | os.PathLike[str]]) -> list[Selection]:
    """The selections beside results files, in order (none where a file has no sidecar)."""
    found: list[Selection] = []
    for path in paths:
        source = selection_path(path)
        if not source.is_file():
            continue
        for number, raw in enumerate(source.read_bytes().split(b"\n"), start=1):
            if RUN_KIND.encode() not in raw:
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                continue  # a line cut short by a killed process: that process's choice is unknown
            if isinstance(data, dict) and data.get("kind") == RUN_KIND:
                found.append(Selection.from_dict(data, f"{source}:{number}"))
    return found


def deselected_keys(selections: Sequence[Selection]) -> frozenset[GateKey]:
    """Scenario × model keys the run deliberately left out: deselected by -k/-m/..., and, while
    the shard set is incomplete (one shard gated on its own), the other shards' items. With every
    shard present, another shard's item without a record is missing, not deselected."""
    keys = {(s, c, m) for selection in selections for s, c, m, _ in selection.deselected}
    if shard_gap(selections) is not None:
        keys |= {(s, c, m) for selection in selections for s, c, m, _ in selection.sharded_out}
    return frozenset(keys)


def shard_note(selections: Sequence[Selection]) -> str | None:
    """ "shard 1/2 only" when the results hold an incomplete shard set, else None."""
    shards = sorted({s.shard for s in selections if s.shard is not None})
    if not shards or shard_gap(selections) is None:
        return None
    return "the gate covers shard " + ", ".join(f"{i}/{n}" for i, n in shards) + " only"


def shard_gap(selections: Sequence[Selection]) -> str | None:
    """Why the files are not a whole shard set (None when they are, or hold no shard)."""
    shards = {s.shard for s in selections if s.shard is not None}
    if not shards:
        return None
    counts = {n for _, n in shards}
    if len(counts) > 1:
        return f"the results mix shard counts ({', '.join(f'/{n}' for n in sorted(counts))})"
    total = counts.pop()
    missing = sorted(set(range(1, total + 1)) - {i for i, _ in shards})
    if missing:
        return (
            f"the results hold only shard(s) {', '.join(f'{i}/{total}' for i, _ in sorted(shards))}; "
            f"missing {', '.join(f'{i}/{total}' for i in missing)}: give every shard's results file"
        )
    return None
