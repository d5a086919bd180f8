"""``--max-cost``: the one place a run reserves, charges and releases what it may spend.

Every path that runs a case (an item, the fan-out, a ``--batch`` round, an invariance
variant) goes through `spec_pytest.pipeline.case_run.run_case`, which calls `reserve`
before the case's first request, `Reservation.revise` before the judges, and
`Reservation.charge` / `Reservation.fail` after each stage:

* before the case's first request, its upper bound is reserved: the answer's request
  (input estimated from the real request body, output at the request's max tokens) and
  each judge's, around an answer of typical length (a recorded answer is not replayed to
  estimate them);
* once the answer is known, the judges' reservation is revised from the real judge prompts
  that enclose it, before any judge is asked: a long answer cannot make them overshoot;
* a stage that ended is charged the tokens its exchanges reported; one whose usage is
  unknown, or that ended in an error, is charged its upper bound, except an exchange that
  waits for a batch result (it keeps its reservation for the next round);
* a refused reservation raises `BudgetExhausted` before any request of the stage is sent.

So the budget may stop a little early, never late. Reservations are held per exchange
(its cassette path), so concurrent cases (threads, the async fan-out) cannot all pass the
check at once and overshoot. The limit is per process: under xdist each worker gets its
share (`Budget.share`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from spec_pytest.core.response import Usage
from spec_pytest.errors import ConfigError, RunError
from spec_pytest.judge import JudgePanel, Subject, build_prompt
from spec_pytest.pipeline.cost import Spend, cost_of, price_of, usd
from spec_pytest.pipeline.plan import CHARS_PER_TOKEN, TYPICAL_OUTPUT, max_output_tokens, request_tokens
from spec_pytest.providers import ModelParams, ProviderSettings, Registry
from spec_pytest.providers.base import SdkProvider
from spec_pytest.providers.ref import JsonOutput
from spec_pytest.recording.cassettes import will_replay
from spec_pytest.spec.model import Message

if TYPE_CHECKING:
    from spec_pytest.recording.recorder import Recorder

#: Slack for float sums (ten requests at $0.10 fit in $1.00).
_ROUNDING = 1e-9


class BudgetExhausted(RunError):
    """No new request may be sent: the run reached ``--max-cost``. The item is an ERROR."""


class Budget:
    """``--max-cost``: once reached, no new request is sent; finished exchanges stay recorded.

    `allow(estimate)` admits a request only if what was spent, plus what admitted requests
    still in flight may cost, plus ``estimate``, stays within the budget, and then reserves
    ``estimate``; `charge` turns a reservation into the real cost, `release` drops one whose
    request was never sent (replayed, failed). Reserving is what keeps concurrent requests
    (threads, the async fan-out) from all passing the check at once and overshooting. The
    limit is per process: under xdist each worker gets its share (see `share`).
    """

    def __init__(self, max_cost: float, spend: Spend | None = None) -> None:
        if max_cost < 0:
            raise ConfigError(f"--max-cost must be 0 or more, got {max_cost:g}")
        self.max_cost = float(max_cost)
        self.spend = spend if spend is not None else Spend()
        self._reserved = 0.0
        self._refused = 0
        self._held: dict[str, float] = {}  # reservation per exchange (cassette path) still open
        self._lock = threading.Lock()

    @classmethod
    def share(cls, max_cost: float, workers: int, spend: Spend | None = None) -> Budget:
        """This xdist worker's part of a run-wide budget (workers cannot see each other's spend)."""
        return cls(max_cost / max(1, workers), spend)

    @classmethod
    def tally(cls, spend: Spend) -> Budget:
        """A budget that only counts into ``spend`` and never refuses (not even an unknown price)."""
        return cls(math.inf, spend)

    @property
    def spent(self) -> float:
        """What sent requests cost so far (unknown prices are refused up front, see `unpriced`)."""
        return self.spend.total or 0.0

    def allow(self, estimate: float | None) -> bool:
        """Whether a request estimated at ``estimate`` USD may go out; True reserves it.

        Once the spend has reached the budget nothing is admitted, however cheap. An unknown
        estimate (no price) is refused: the budget could not be kept.
        """
        with self._lock:
            spent = self.spent
            over = spent + self._reserved + (estimate or 0.0) > self.max_cost + _ROUNDING
            unknown = estimate is None and math.isfinite(self.max_cost)
            if unknown or spent >= self.max_cost or over:
                self._refused += 1
                return False
            self._reserved += estimate or 0.0
            return True

    def release(self, reserved: float) -> None:
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)

    def charge(
        self,
        stage: str,
        model: str,
        usage: Usage,
        *,
        reserved: float = 0.0,
        batch: bool = False,
    ) -> float | None:
        """Record a sent request's real cost (its reservation, if any, is released)."""
        cost = self.spend.add(stage, model, usage, batch=batch)
        self.release(reserved)
        return cost

    def hold(self, amounts: Mapping[str, float | None], *, revise: bool = False) -> bool:
        """`allow` what ``amounts`` (per exchange key) add to what is held, all at once.

        A key stays held until `settle` or `drop` names it: an exchange waiting for a batch
        result keeps its reservation from one round to the next, not reserved twice. With
        ``revise``, held keys take the new amounts (less is released, more must be allowed).
        """
        with self._lock:
            if revise:
                deltas = {
                    key: None if a is None else a - self._held.get(key, 0.0) for key, a in amounts.items()
                }
            else:
                deltas = {key: a for key, a in amounts.items() if key not in self._held}
        if not deltas:
            return True
        more = [d for d in deltas.values() if d is None or d > 0]
        total = None if None in more else sum(d for d in more if d is not None)
        if more and not self.allow(total):
            return False
        with self._lock:
            for key, delta in deltas.items():
                self._held[key] = self._held.get(key, 0.0) + (delta or 0.0)
            self._reserved = max(
                0.0, self._reserved + sum(d for d in deltas.values() if d is not None and d < 0)
            )
        return True

    def drop(self, key: str) -> None:
        """Release what ``key`` holds: its request was never sent."""
        with self._lock:
            reserved = self._held.pop(key, 0.0)
        self.release(reserved)

    def settle(self, key: str, stage: str, model: str, usage: Usage, *, batch: bool = False) -> None:
        """Charge the exchange held under ``key`` what it used, and release its reservation."""
        with self._lock:
            reserved = self._held.pop(key, 0.0)
        self.charge(stage, model, usage, reserved=reserved, batch=batch)

    @property
    def refused(self) -> int:
        return self._refused

    def unpriced(self, models: Iterable[str]) -> list[str]:
        """The models the budget cannot price (a run with --max-cost must refuse to start)."""
        return sorted({m for m in models if price_of(m, self.spend.prices) is None})

    def exhausted_message(self) -> str:
        return (
            f"budget exhausted: --max-cost ${self.max_cost:.4f} reached (spent {usd(self.spent)}); "
            "no request was sent for this item. Finished exchanges are recorded: re-run with a "
            "higher --max-cost to continue where this run stopped"
        )


# --------------------------------------------------------------------------- one stage's reservation


@dataclass(frozen=True, slots=True)
class Estimate:
    """The upper bound of one exchange still to send: its key is its cassette path."""

    stage: str  # answers | judges
    model: str
    key: str
    input_tokens: int
    max_output_tokens: int

    @property
    def worst(self) -> Usage:
        return Usage(input_tokens=self.input_tokens, output_tokens=self.max_output_tokens)

    def cost(self, budget: Budget, *, batch: bool) -> float | None:
        return cost_of(
            self.model, self.input_tokens, self.max_output_tokens, budget.spend.prices, batch=batch
        )


@dataclass
class Reservation:
    """What one case holds of a budget until each exchange is charged (no budget: nothing)."""

    budget: Budget | None
    estimates: Sequence[Estimate] = ()
    batch: bool = False
    _open: dict[str, Estimate] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._open = {e.key: e for e in self.estimates}

    def revise(self, stage: str, estimates: Sequence[Estimate]) -> None:
        """Replace ``stage``'s estimates before it starts (the judges, once the answer is known).

        Raises `BudgetExhausted` when the revision does not fit; the stage's holds are then
        dropped (none of its requests was sent).
        """
        if self.budget is None:
            return
        keys = {e.key for e in estimates}
        self.drop([key for key, e in self._open.items() if e.stage == stage and key not in keys])
        if not self.budget.hold(
            {e.key: e.cost(self.budget, batch=self.batch) for e in estimates}, revise=True
        ):
            self.drop(keys)
            for key in keys:  # held from an earlier round, perhaps: nothing was sent for it now
                self.budget.drop(key)
            raise BudgetExhausted(self.budget.exhausted_message())
        self._open.update({e.key: e for e in estimates})

    def charge(self, key: str, usage: Usage | None) -> None:
        """The exchange at ``key`` is done: charge its usage (its upper bound when unknown)."""
        estimate = self._open.pop(key, None)
        if self.budget is None or estimate is None:
            return
        known = usage is not None and (usage.input_tokens is not None or usage.output_tokens is not None)
        spent = usage if known and usage is not None else estimate.worst
        self.budget.settle(key, estimate.stage, estimate.model, spent, batch=self.batch)

    def fail(self, recorder: Recorder, stage: str) -> None:
        """``stage`` raised: charge the upper bound of each of its exchanges, unless pending;
        the later stages' holds are dropped (they never started)."""
        for key, estimate in list(self._open.items()):
            if estimate.stage != stage:
                self.drop([key])
            elif recorder.pending(key):
                self._open.pop(key)  # held by the budget until its answer arrives
            else:
                self.charge(key, None)

    def drop(self, keys: Iterable[str]) -> None:
        for key in keys:
            if self._open.pop(key, None) is not None and self.budget is not None:
                self.budget.drop(key)

    def close(self) -> None:
        """Charge what was reserved and not charged by name (its usage is unknown)."""
        for key in list(self._open):
            self.charge(key, None)


def reserve(budget: Budget | None, estimates: Sequence[Estimate], *, batch: bool = False) -> Reservation:
    """Reserve a case's upper bound; raises `BudgetExhausted` (nothing sent) when it does not fit."""
    if budget is None:
        return Reservation(None)
    if estimates and not budget.hold({e.key: e.cost(budget, batch=batch) for e in estimates}):
        raise BudgetExhausted(budget.exhausted_message())
    return Reservation(budget, estimates, batch)


def request_estimate(
    registry: Registry,
    stage: str,
    model: str,
    key: str,
    messages: Sequence[Message],
    params: ModelParams,
    output: JsonOutput | None = None,
) -> Estimate:
    """The upper bound of one request, from the body its provider would send."""
    provider = registry.provider(model, ProviderSettings(replay=True))
    assert isinstance(provider, SdkProvider), f"{model}: a provider without a request body"
    body = provider.request_body(messages, params, output)
    return Estimate(stage, model, key, request_tokens(body), max_output_tokens(body))


def judge_estimates(panel: JudgePanel, subject: Subject, item: str) -> list[Estimate]:
    """The judges still to ask about ``subject``, from the prompt that encloses it."""
    prompt = build_prompt(subject, panel.rubric)
    return [
        request_estimate(
            panel.registry,
            "judges",
            judge,
            str(path),
            prompt.messages,
            panel.params_for(judge),
            prompt.output,
        )
        for judge in panel.judges
        if not will_replay(path := panel.cassette(judge, item), panel.record_mode)
    ]


#: Until the answer is known, judges are estimated around an answer of typical length (what
#: `spec_pytest.pipeline.plan` prices too); `Reservation.revise` corrects it before they are sent.
STAND_IN_ANSWER = "x" * (TYPICAL_OUTPUT["answers"] * CHARS_PER_TOKEN)
