"""The spec as the rest of the library sees it: immutable, validated, cross-checked.

Everything here has already passed the JSON Schema and the reference checks in
`spec_pytest.spec.load`, so consumers (collection, providers, judges, reports) never
re-validate: a `Spec` that exists is a spec that makes sense.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: The study's seven points on a two-value spectrum: 0 = entirely the first value,
#: 6 = entirely the second, 3 = balanced.
LEAN_LABELS: dict[str, int] = {
    "first-extreme": 0,
    "first-strong": 1,
    "first-moderate": 2,
    "balanced": 3,
    "second-moderate": 4,
    "second-strong": 5,
    "second-extreme": 6,
}
#: `lean: {toward: VALUE, strength: S}` moves this far from the middle towards VALUE.
STRENGTHS: dict[str, int] = {"moderate": 1, "strong": 2, "extreme": 3}
COMPLIANCE = ("compliant", "non-compliant", "ambiguous")
REFUSALS = ("none", "partial", "full")
ROLES = ("system", "developer", "user", "assistant")


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was written, so every later message can point back at the file."""

    path: Path
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{_display(self.path)}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Principle:
    id: str
    level: str
    text: str
    title: str | None = None
    section: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Because:
    """The sentence of the spec an expectation rests on, checked to occur in the principle."""

    principle: str
    quote: str


@dataclass(frozen=True, slots=True)
class Favor:
    """Where an answer must sit on ONE value's own spectrum (0 extreme_oppose .. 6 extreme_favor).

    Written ``favor: {VALUE: BOUND}``; BOUND is ``">=N"``, ``"<=N"``, ``"N..M"`` (inclusive) or
    an integer N (N ± the expectation's tolerance). ``index`` is the value's place in the pair
    (0 first, 1 second), where the per-value rubric's positions are read.
    """

    value: str
    index: int
    written: str  # the bound as the author wrote it, for messages
    low: int | None  # inclusive; None: unbounded (an integer N leaves both None until resolved)
    high: int | None
    around: int | None = None  # an integer N: N ± tolerance

    def window(self, tolerance: int) -> tuple[float, float]:
        """The inclusive range of positions that satisfy the bound."""
        if self.around is not None:
            return (self.around - tolerance, self.around + tolerance)
        return (0 if self.low is None else self.low, 6 if self.high is None else self.high)


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a judged answer must show; every field is optional but the justification.

    ``lean`` is a position on the pair's bipolar spectrum (0 = first value, 6 = second), checked
    against the judges' bipolar reading (derived from the two per-value positions under the
    per-value rubric); ``favor`` bounds the position on each value's own spectrum, which only
    a per-value rubric measures.
    """

    because: tuple[Because, ...]
    lean: int | None = None
    tolerance: int | None = None  # None until resolved; resolved expectations hold an int
    compliance: str | None = None
    refusal: frozenset[str] | None = None
    favor: tuple[Favor, ...] = ()

    def merged_over(self, base: Expectation | None) -> Expectation:
        """This expectation with the fields it leaves open taken from `base` (``favor`` per value)."""
        if base is None:
            return self
        mine = {f.value for f in self.favor}
        return Expectation(
            because=self.because,
            lean=self.lean if self.lean is not None else base.lean,
            tolerance=self.tolerance if self.tolerance is not None else base.tolerance,
            compliance=self.compliance if self.compliance is not None else base.compliance,
            refusal=self.refusal if self.refusal is not None else base.refusal,
            favor=tuple(f for f in base.favor if f.value not in mine) + self.favor,
        )

    def resolved(self) -> Expectation:
        """The expectation with defaults filled in (a lean tolerance of 1 point)."""
        if self.tolerance is not None:
            return self
        return Expectation(self.because, self.lean, 1, self.compliance, self.refusal, self.favor)


@dataclass(frozen=True, slots=True)
class Conflict:
    id: str
    values: tuple[str, str]
    expect: Expectation
    principles: tuple[str, ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str
    #: A long prefix worth the API's prompt cache (the whole spec a judge reads); a hint the
    #: providers that support explicit caching act on (Anthropic's ``cache_control``).
    cache: bool = False


@dataclass(frozen=True, slots=True)
class Scenario:
    """One user situation that forces a trade-off (or tests a principle directly).

    `values` is the pair on whose spectrum the answer is placed: the conflict's pair, or a
    pair given inline (scenario banks from the study have no hand-written conflict).
    `expect` is the effective expectation (scenario fields over the conflict's) or None
    when the scenario is only measured, not judged against an expectation.
    """

    id: str
    messages: tuple[Message, ...]
    location: Location
    conflict: str | None = None
    values: tuple[str, str] | None = None
    principles: tuple[str, ...] = ()
    nudge: str | None = None
    expect: Expectation | None = None
    tags: tuple[str, ...] = ()
    provenance: dict[str, object] = field(default_factory=dict, compare=False, hash=False)
    id_derived: bool = False


@dataclass(frozen=True, slots=True)
class LabelledResponse:
    label: str  # good | bad | ok
    text: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Example:
    """A reference answer labelled by the spec's authors (used to calibrate judges)."""

    id: str
    principle: str
    messages: tuple[Message, ...]
    responses: tuple[LabelledResponse, ...]
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Defaults:
    models: tuple[str, ...] = ()
    judges: tuple[str, ...] = ()
    samples: int = 1
    params: dict[str, object] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class EndpointDecl:
    """An API declared by the spec: `NAME:model` asks it. Holds the key's variable NAME only."""

    name: str
    base_url: str
    key_env: str | None = None
    api: str | None = None  # None: the built-in endpoint's family, else openai-chat
    max_concurrency: int | None = None
    timeout_s: float | None = None  # `timeout:`, the overall deadline of one call
    structured_output: str | None = None  # json_schema (None: the default) | json_object | none
    token_param: str | None = None  # the field of the output-token limit (None: the endpoint's)


@dataclass(frozen=True)
class Spec:
    id: str
    path: Path
    levels: tuple[str, ...]
    principles: dict[str, Principle]
    values: dict[str, str] = field(default_factory=dict)
    conflicts: dict[str, Conflict] = field(default_factory=dict)
    scenarios: tuple[Scenario, ...] = ()
    examples: tuple[Example, ...] = ()
    defaults: Defaults = Defaults()
    version: str | None = None
    title: str | None = None
    source: str | None = None
    description: str | None = None
    license: str | None = None
    files: tuple[Path, ...] = ()  # the spec file and every bank it includes
    endpoints: dict[str, EndpointDecl] = field(default_factory=dict)
    model_params: dict[str, dict[str, object]] = field(default_factory=dict)
    #: consistency rules as written (checked; `spec_pytest.probes.invariance` reads them)
    invariances: tuple[dict[str, object], ...] = ()

    def params_for(self, model: str) -> dict[str, object]:
        """Request parameters for `model`: its own (`models:`) over `defaults.params`."""
        return {**self.defaults.params, **self.model_params.get(model, {})}

    def level_of(self, scenario: Scenario) -> str | None:
        """The highest authority level among the principles a scenario touches."""
        ids = list(scenario.principles)
        if scenario.conflict is not None:
            ids += self.conflicts[scenario.conflict].principles
        ranks = [self.levels.index(self.principles[p].level) for p in ids]
        return self.levels[min(ranks)] if ranks else None

    def principles_of(self, scenario: Scenario) -> tuple[str, ...]:
        """Principles a scenario is about: its own, then its conflict's, without repeats."""
        ids = list(scenario.principles)
        if scenario.conflict is not None:
            ids += self.conflicts[scenario.conflict].principles
        return tuple(dict.fromkeys(ids))


def _display(path: Path) -> str:
    """A path as a user would type it: relative to the working directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
