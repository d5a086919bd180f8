"""Which value pairs to generate scenarios for.

Three sources, as the study and the issue describe them: the spec's own conflicts (so the
bank inherits their expectations), every pair of the spec's values, or a seeded sample of
N pairs, drawn from the spec's values or from a taxonomy file too large to enumerate
(the study drew 150k pairs from 3,307 values). The order of the returned pairs is fixed by
the inputs and the seed alone, because that order is the order of the bank.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import yaml

from spec_pytest.errors import ConfigError, InputError
from spec_pytest.spec.importers.stress_test_dataset import value_id
from spec_pytest.spec.model import Spec


@dataclass(frozen=True, slots=True)
class ValuePair:
    """Two values to trade off; ``conflict`` is set when the pair is one of the spec's conflicts.

    The descriptions go into the generator's prompt: an id like ``social_equity`` alone
    says less than the sentence the spec author wrote for it.
    """

    first: str
    second: str
    first_text: str = ""
    second_text: str = ""
    conflict: str | None = None

    @property
    def key(self) -> str:
        """The pair's name in ledgers, cassette paths and provenance."""
        return f"{self.first}__{self.second}"


def conflict_pairs(spec: Spec) -> list[ValuePair]:
    """One pair per conflict of the spec, in the spec's order."""
    return [
        ValuePair(a, b, spec.values.get(a, ""), spec.values.get(b, ""), conflict=c.id)
        for c in spec.conflicts.values()
        for a, b in [c.values]
    ]


def all_pairs(values: Mapping[str, str]) -> list[ValuePair]:
    """Every unordered pair of distinct values, ids sorted (n·(n-1)/2 of them)."""
    ids = sorted(values)
    return [ValuePair(a, b, values[a], values[b]) for a, b in combinations(ids, 2)]


def sample_pairs(values: Mapping[str, str], n: int, seed: int = 0) -> list[ValuePair]:
    """``n`` distinct pairs drawn with ``seed``; the same inputs always give the same pairs.

    Draws index pairs instead of listing all combinations: 3,307 values have 5.5 million.
    """
    ids = sorted(values)
    possible = len(ids) * (len(ids) - 1) // 2
    if n > possible:
        raise ConfigError(f"asked for {n} pairs but {len(ids)} values make only {possible}")
    rng = random.Random(seed)
    chosen: dict[tuple[int, int], None] = {}
    while len(chosen) < n:
        i, j = sorted(rng.sample(range(len(ids)), 2))
        chosen.setdefault((i, j))
    return [ValuePair(ids[i], ids[j], values[ids[i]], values[ids[j]]) for i, j in chosen]


def read_taxonomy(path: str | Path) -> dict[str, str]:
    """Values from a taxonomy file: ``{id: description}``.

    Accepted shapes: YAML or JSON holding a mapping (optionally under ``values:``) or a list
    of labels; or plain text with one label per line. Labels become ids the way the study
    importer makes them (``women's empowerment`` -> ``womens_empowerment``), the label kept
    as the description.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    data: Any
    if path.suffix.lower() in (".yaml", ".yml"):
        data = yaml.safe_load(text)
    elif path.suffix.lower() == ".json":
        data = json.loads(text)
    else:
        data = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if isinstance(data, dict) and isinstance(data.get("values"), (dict, list)):
        data = data["values"]
    values: dict[str, str] = {}
    if isinstance(data, dict):
        for key, description in data.items():
            values[value_id(str(key))] = str(description or key)
    elif isinstance(data, list):
        for label in data:
            values.setdefault(value_id(str(label)), str(label))
    else:
        raise InputError(f"{path}: a taxonomy is a mapping of values or a list of value labels")
    if len(values) < 2:
        raise InputError(f"{path}: a taxonomy needs at least two values, found {len(values)}")
    return values


def select_pairs(
    *,
    spec: Spec | None = None,
    taxonomy: Mapping[str, str] | None = None,
    mode: str = "conflicts",
    n: int | None = None,
    seed: int = 0,
) -> list[ValuePair]:
    """The pairs for one generation run (``mode``: conflicts | all | sample).

    ``conflicts`` needs a spec; ``all`` and ``sample`` use the taxonomy when given, else
    the spec's values. ``sample`` needs ``n``.
    """
    if mode == "conflicts":
        if spec is None:
            raise ConfigError("pairs from conflicts need a spec")
        pairs = conflict_pairs(spec)
        if not pairs:
            raise ConfigError(f"spec {spec.id} declares no conflicts; use all pairs or a sample instead")
        return pairs
    values = taxonomy if taxonomy is not None else (spec.values if spec is not None else None)
    if not values or len(values) < 2:
        raise ConfigError("pairs need at least two values (from the spec or a taxonomy file)")
    if mode == "all":
        return all_pairs(values)
    if mode == "sample":
        if n is None or n < 1:
            raise ConfigError("a sample of pairs needs a positive number of pairs")
        return sample_pairs(values, n, seed)
    raise ConfigError(f"unknown pair mode {mode!r}; choose conflicts, all or sample")
