"""Cases: one scenario asked of one model, once per sample. The unit a pytest item runs.

Expansion lives here rather than in the plugin so that scripts, the CLI and the pytest
plugin agree on what a run consists of, and on every case's stable name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from spec_pytest.errors import ConfigError
from spec_pytest.spec.model import Scenario, Spec

_MODEL_REF = re.compile(r"^[a-z0-9][a-z0-9_-]*:\S+$")


class CaseError(ConfigError):
    """The run cannot be expanded into cases (no model, a malformed model reference...)."""


@dataclass(frozen=True, slots=True)
class Case:
    spec: Spec
    scenario: Scenario
    model: str
    sample: int

    @property
    def params(self) -> str:
        """What varies between the cases of one scenario: model and sample."""
        return f"{self.model}-s{self.sample}"

    @property
    def name(self) -> str:
        """Item name, stable across reordering: scenario id, model and sample."""
        return f"{self.scenario.id}[{self.params}]"

    @property
    def group(self) -> str:
        """What the scenario is grouped under in test ids: its conflict, pair or principle."""
        return group_of(self.scenario)


def group_of(scenario: Scenario) -> str:
    if scenario.conflict is not None:
        return scenario.conflict
    if scenario.values is not None:
        return f"{scenario.values[0]}--{scenario.values[1]}"
    return scenario.principles[0] if scenario.principles else "scenarios"


def check_model_ref(ref: str) -> str:
    if not _MODEL_REF.match(ref):
        raise CaseError(
            f"model reference '{ref}' is not PROVIDER:MODEL (for example openai:gpt-4.1 or "
            "anthropic:claude-sonnet-4-5)"
        )
    return ref


def models_for(spec: Spec, models: Iterable[str] = ()) -> list[str]:
    """The models a run asks: the command line's, else the spec's `defaults.models`."""
    chosen = [check_model_ref(m) for m in models] or list(spec.defaults.models)
    if not chosen:
        raise CaseError(
            f"{spec.path.name} names no model to ask: pass --model PROVIDER:MODEL (e.g. "
            "--model openai:gpt-4.1) or set `defaults: {models: [...]}` in the spec"
        )
    return chosen


def expand(spec: Spec, models: Iterable[str] = (), samples: int | None = None) -> Iterator[Case]:
    """Every case of a run, grouped by scenario in file order, then model, then sample.

    `models` and `samples` come from the command line; when absent, from the spec's `defaults:`.
    """
    chosen = models_for(spec, models)
    count = samples if samples is not None else spec.defaults.samples
    if count < 1:
        raise CaseError(f"--samples must be at least 1, got {count}")
    for scenario in spec.scenarios:
        for model in chosen:
            for sample in range(count):
                yield Case(spec, scenario, model, sample)
