"""``--shard i/n``: split a run's items across CI machines, the same way on every machine.

An item's shard depends on its own key only (a hash of it, modulo n), never on its position
or on the other items: adding or removing scenarios moves no other item between shards,
and every machine of a CI matrix computes the same split without talking to the others.

The key is (suite, scenario id, model) — the sample index is left out on purpose, so all
samples of a scenario × model land in one shard. Those samples are what the gate pools into
one pass rate and one confidence interval; kept together, each shard's own gate (if a shard
runs one) sees whole tallies, and the merged results of all shards are the full run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from spec_pytest.core.case import Case
from spec_pytest.errors import ConfigError

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
#: Separates key parts in the hashed text; cannot occur in ids (they are single-line).
_SEP = "\n"

ShardKey = str | Case | Sequence[object]


class ShardError(ConfigError):
    """``--shard`` is not ``I/N`` with 1 <= I <= N."""


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``: shard 2 of 4 (1-based, as CI matrices number their jobs)."""
    match = _SHARD.match(text or "")
    if match is None:
        raise ShardError(f"--shard {text!r}: expected I/N, e.g. --shard 2/4 (shard 2 of 4)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise ShardError(f"--shard {text!r}: the number of shards must be at least 1")
    if not 1 <= index <= count:
        raise ShardError(
            f"--shard {text!r}: the shard must be between 1 and {count} (shards are numbered from 1)"
        )
    return index, count


def shard_key(key: ShardKey) -> str:
    """The text that is hashed: a Case's (suite, scenario, model), a tuple's first three parts,
    or a string (a node id, for items that are not cases) as is."""
    if isinstance(key, Case):
        parts: Sequence[object] = (key.spec.id, key.scenario.id, key.model)
    elif isinstance(key, str):
        return key
    else:
        parts = tuple(key)[:3]  # (suite, scenario, model[, sample]): samples stay together
    return _SEP.join(str(p) for p in parts)


def shard_of(key: ShardKey, count: int) -> int:
    """The 1-based shard ``key`` belongs to out of ``count``."""
    if count < 1:
        raise ShardError("the number of shards must be at least 1")
    digest = hashlib.sha256(shard_key(key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(key: ShardKey, index: int, count: int) -> bool:
    """Whether the item with ``key`` runs in shard ``index`` of ``count``."""
    return shard_of(key, count) == index
