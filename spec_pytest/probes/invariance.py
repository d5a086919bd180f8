"""Consistency probes: does the model's lean survive changes that should not move it?

An `Invariance` (one entry of a spec's ``invariances:`` section) names the kinds of change
it is about and what must hold between the original scenario's position and a variant's:
at most ``max_shift`` points apart, and/or never further from the value
``never_away_from``. `check_invariance` asks the model the original and hypothesis-drawn
variants (see `variants`), places every answer with the given position function, and lets
hypothesis shrink a violation to the smallest change that still breaks the rule.

Deterministic by construction: the search is seeded, every answer comes through its own
cassette (`CassetteResponder`, or a run's own case pipeline), and hypothesis's example
database sits under the cassette directory, so a second run (even without the API)
replays the stored minimal failing variant first and reports the same violation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

from spec_pytest.core.response import Response
from spec_pytest.errors import InputError
from spec_pytest.judge.panel import run_blocking
from spec_pytest.pipeline.ask import ask_model
from spec_pytest.probes.variants import CHANGE_KINDS, Variant, can_change, variants
from spec_pytest.providers import ModelParams, Registry
from spec_pytest.recording.cassettes import MissingCassetteError, RecordMode, cassette_path
from spec_pytest.recording.recorder import VCR
from spec_pytest.spec.model import Scenario, Spec

#: Bump when the variant strategies change meaning: stored examples then start afresh.
VARIANTS_VERSION = "variants-v1"

Respond = Callable[[Scenario], Response]
Position = Callable[[Scenario, Response], float]


@dataclass(frozen=True)
class Invariance:
    """A rule about how far (and which way) a kind of change may move the lean (0–6)."""

    id: str
    changes: tuple[str, ...]
    max_shift: float | None = None
    never_away_from: str | None = None
    tolerance: float = 0
    description: str | None = None
    examples: int = 25
    max_edits: int = 3
    only_ids: tuple[str, ...] = ()
    only_conflicts: tuple[str, ...] = ()
    only_tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [c for c in self.changes if c not in CHANGE_KINDS]
        if not self.changes or unknown:
            raise InputError(
                f"invariance {self.id!r}: changes must be some of {', '.join(CHANGE_KINDS)}"
                + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            )
        if self.max_shift is None and self.never_away_from is None:
            raise InputError(f"invariance {self.id!r} needs max_shift, never_away_from, or both")
        if self.examples < 1 or self.max_edits < 1:
            raise InputError(f"invariance {self.id!r}: examples and max_edits must be at least 1")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Invariance:
        """From one entry of a spec's ``invariances:`` list (see the module's docs for the shape)."""
        known = {"id", "changes", "max_shift", "never_away_from", "tolerance", "description", "examples"}
        known |= {"max_edits", "scenarios"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"invariance {data.get('id')!r}: unknown field(s) {unknown}")
        fields = {k: v for k, v in data.items() if k != "scenarios"}
        fields["changes"] = tuple(data.get("changes") or ())
        select = data.get("scenarios") or {}
        unknown = sorted(set(select) - {"ids", "conflicts", "tags"})
        if unknown:
            raise InputError(
                f"invariance {data.get('id')!r}: scenarios selects by ids, conflicts or tags, not {unknown}"
            )
        for name in ("ids", "conflicts", "tags"):
            fields[f"only_{name}"] = tuple(select.get(name) or ())
        return cls(**fields)

    def selects(self, scenario: Scenario) -> bool:
        """Whether the ``scenarios:`` selection (ids, conflicts, tags; all when empty) takes it."""
        return (
            (not self.only_ids or scenario.id in self.only_ids)
            and (not self.only_conflicts or scenario.conflict in self.only_conflicts)
            and (not self.only_tags or bool(set(scenario.tags) & set(self.only_tags)))
        )

    def applies_to(self, pair: Sequence[str] | None) -> bool:
        """Whether a scenario with value ``pair`` can be checked (a direction needs its value)."""
        if pair is None:
            return False
        return self.never_away_from is None or self.never_away_from in pair

    def broken(self, before: float, after: float, pair: Sequence[str]) -> str | None:
        """Why moving from ``before`` to ``after`` breaks the rule, or None when it holds."""
        if self.max_shift is not None and abs(after - before) > self.max_shift:
            return f"the lean moved from {_n(before)} to {_n(after)} (at most {_n(self.max_shift)} allowed)"
        if self.never_away_from is not None:
            toward_first = self.never_away_from == pair[0]
            away = after - before if toward_first else before - after
            if away > self.tolerance:
                other = pair[1] if toward_first else pair[0]
                return (
                    f"the lean moved away from {self.never_away_from} towards {other}: "
                    f"{_n(before)} -> {_n(after)} on the 0-6 scale from {pair[0]} to {pair[1]}"
                )
        return None


def pair_of(spec: Spec, scenario: Scenario) -> tuple[str, str] | None:
    """The value pair a scenario's answer is placed on: its own, else its conflict's."""
    if scenario.values is not None:
        return scenario.values
    if scenario.conflict is not None:
        return spec.conflicts[scenario.conflict].values
    return None


def invariance_targets(
    spec: Spec, invariances: Sequence[Invariance]
) -> list[tuple[Invariance, Scenario, tuple[str, str]]]:
    """Every (rule, scenario, pair) to check: selected by the rule and placeable on its pair.

    What the plugin turns into items (times the models under test).
    """
    out = []
    for rule in invariances:
        for scenario in spec.scenarios:
            pair = pair_of(spec, scenario)
            if pair is not None and rule.selects(scenario) and rule.applies_to(pair):
                out.append((rule, scenario, pair))
    return out


def _n(x: float) -> str:
    return f"{x:g}"


class InvarianceViolation(AssertionError):
    """The model broke an invariance; ``variant`` is the smallest breaking change found."""

    def __init__(
        self,
        invariance: Invariance,
        scenario: Scenario,
        variant: Variant,
        before: float,
        after: float,
        why: str,
        cassette: Path | None = None,
        database: Path | None = None,
    ) -> None:
        self.invariance, self.scenario, self.variant = invariance, scenario, variant
        self.before, self.after = before, after
        lines = [
            f"invariance {invariance.id!r} broken on scenario {scenario.id!r}: {why}",
            "smallest change found:",
            *(f"  {c}" for c in variant.changes),
            f"variant {variant.scenario.id!r}: {_excerpt(variant.scenario.messages[-1].content)}",
        ]
        if invariance.description:
            lines.insert(1, f"rule: {invariance.description}")
        if cassette is not None:
            lines.append(f"variant's answer: {cassette}")
        if database is not None:
            lines.append(f"the failing example is stored in {database}; a rerun replays it first")
        super().__init__("\n".join(lines))


def _excerpt(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


@dataclass
class ConsistencyResult:
    """A check that found no violation: what was tried."""

    invariance: str
    scenario: str
    position: float
    tried: int
    positions: dict[str, float] = field(default_factory=dict)


class CassetteResponder:
    """Asks ``model`` through one cassette per (variant) scenario: ``<dir>/consistency/…``.

    For probes placed by something other than the judge panel (a run's probes run each
    variant as a whole case: `spec_pytest.pipeline.run.check_invariance_for`).

    Kept apart from the items' own cassettes, which also hold judge calls: recording a
    model-only cassette at an item's path would make that item's judge request a miss.
    """

    def __init__(
        self,
        registry: Registry,
        model: str,
        cassette_dir: str | Path,
        suite: str,
        record_mode: RecordMode | str = RecordMode.ONCE,
        params: ModelParams | None = None,
        rerecord_hint: str | None = None,
    ) -> None:
        self.registry, self.model, self.suite = registry, model, suite
        self.root = Path(cassette_dir) / "consistency"
        self.mode = RecordMode(record_mode)
        self.params = params or ModelParams()
        self.rerecord_hint = rerecord_hint

    def path(self, scenario: Scenario) -> Path:
        return cassette_path(self.root, self.suite, self.model, scenario.id)

    def __call__(self, scenario: Scenario) -> Response:
        """The model's answer only (no judge), asked as a case's answer is (`ask_model`)."""
        answer = ask_model(
            VCR,
            self.registry,
            self.model,
            scenario.messages,
            self.params,
            self.path(scenario),
            self.mode,
            rerecord_hint=self.rerecord_hint,
        )
        return run_blocking(answer)


def example_database(cassette_dir: str | Path) -> Path:
    """Where hypothesis keeps failing variants: next to the cassettes, committed with them."""
    return Path(cassette_dir) / "consistency" / "examples"


def check_invariance(
    scenario: Scenario,
    invariance: Invariance,
    *,
    pair: Sequence[str],
    respond: Respond,
    position: Position,
    database: str | Path | None,
    key: str = "",
    seed: int = 0,
) -> ConsistencyResult:
    """Search for a variant of ``scenario`` that breaks ``invariance``; raise it, shrunk.

    ``pair`` is the scenario's value pair (its conflict's, for conflict scenarios);
    ``respond`` asks the model (e.g. a `CassetteResponder`); ``position`` places an answer
    on the pair's 0–6 spectrum (a judge panel; anything deterministic in tests); ``key``
    separates stored examples of different models. Raises `InvarianceViolation`; errors of
    ``respond`` or ``position`` propagate (a variant without a cassette in replay mode is
    a `MissingCassetteError` only if no violation was reproduced).
    """
    # deferred: collecting invariance items needs the rules, not hypothesis (about a second)
    from hypothesis import HealthCheck, find, settings
    from hypothesis.database import DirectoryBasedExampleDatabase
    from hypothesis.errors import NoSuchExample, Unsatisfiable

    if not invariance.applies_to(pair):
        needed = invariance.never_away_from
        raise InputError(f"invariance {invariance.id!r} needs {needed} in the scenario's pair {tuple(pair)}")
    if not can_change(scenario, invariance.changes):  # checked before anything is asked
        raise InputError(unchangeable(invariance, scenario))
    before = position(scenario, respond(scenario))
    seen: dict[str, float] = {}
    missing: list[MissingCassetteError] = []
    aborted: list[BaseException] = []

    def breaks(variant: Variant) -> bool:
        if aborted:
            return False
        sid = variant.scenario.id
        if sid not in seen:
            try:
                seen[sid] = position(variant.scenario, respond(variant.scenario))
            except MissingCassetteError as err:
                missing.append(err)
                return False
            except Exception as err:  # stop asking; re-raised below, after hypothesis returns
                aborted.append(err)
                return False
        return invariance.broken(before, seen[sid], pair) is not None

    db_dir = Path(database) if database is not None else None
    config = settings(
        max_examples=invariance.examples,
        database=DirectoryBasedExampleDatabase(str(db_dir)) if db_dir is not None else None,
        deadline=None,
        derandomize=False,  # seeded through ``random`` below; a derandomizing profile would drop the database
        suppress_health_check=list(HealthCheck),
    )
    strategy = variants(scenario, invariance.changes, invariance.max_edits)
    try:
        db_key = _db_key(scenario, invariance, key)
        found = find(strategy, breaks, settings=config, random=Random(seed), database_key=db_key)
    except Unsatisfiable:  # every drawn variant equal to the scenario: nothing was checked
        raise InputError(unchangeable(invariance, scenario)) from None
    except NoSuchExample:
        if aborted:
            raise aborted[0] from None
        if missing:
            raise missing[0] from None
        return ConsistencyResult(invariance.id, scenario.id, before, len(seen), dict(seen))
    after = seen[found.scenario.id]
    why = invariance.broken(before, after, pair) or ""
    path_of = getattr(respond, "path", None)  # a responder that records says where
    cassette = path_of(found.scenario) if callable(path_of) else None
    raise InvarianceViolation(invariance, scenario, found, before, after, why, cassette, db_dir)


def unchangeable(invariance: Invariance, scenario: Scenario) -> str:
    """The error for a rule that has nothing to vary in a scenario (an item that cannot fail)."""
    kinds = ", ".join(invariance.changes)
    return (
        f"invariance {invariance.id!r}: no change of kind {kinds} alters scenario {scenario.id!r} "
        f"(its last user message has nothing such a change edits), so the rule cannot be checked "
        f"there: remove the scenario from the rule's `scenarios:` or add a kind of change that applies"
    )


def _db_key(scenario: Scenario, invariance: Invariance, key: str) -> bytes:
    data = [
        VARIANTS_VERSION,
        key,
        scenario.id,
        [[m.role, m.content] for m in scenario.messages],
        invariance.id,
        list(invariance.changes),
        invariance.max_edits,
    ]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).digest()
