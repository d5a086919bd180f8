"""What a run would send and what it would cost, worked out before anything is sent.

For every case, the plan looks at each exchange the case needs (the model's answer, then one
request per judge) and sorts it by what its cassette will do under the record mode:
*recorded* (it replays, costs nothing), *to send* (it will be recorded: a paid request) or
*missing* (record mode ``none`` and no cassette: the item will be an error, nothing is sent).

Token figures are estimates, and say so:

* input tokens come from the actual request text — the provider's own request body for the
  answer, and the judge prompt built by the judge rubric (`build_prompt`) for each judge —
  counted as characters / 4, a usual rule of thumb for English text with these tokenizers;
* output tokens have an upper bound (the request's max tokens; 4096 assumed where the API
  has no limit set) and a typical value, which give the cost range's two ends.

A judge's prompt encloses the answer it judges. Where the answer is recorded, the plan
replays it from the cassette (no network); otherwise a typical-length stand-in is used.
A judge whose first answer is unusable is asked once more: not in the plan (it is rare).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spec_pytest.core.case import Case
from spec_pytest.judge import Subject, build_prompt
from spec_pytest.pipeline.ask import ask, model_cassette, params_for
from spec_pytest.pipeline.cost import PRICES, Price, cost_of, price_of, usd
from spec_pytest.providers import ProviderSettings
from spec_pytest.providers.families import input_tokens, output_limit
from spec_pytest.providers.family import CHARS_PER_TOKEN
from spec_pytest.recording.cassettes import RecordMode, will_replay

if TYPE_CHECKING:  # run.py runs cases, whose budget estimates requests with this module
    from spec_pytest.pipeline.run import RunSettings

#: Output limit assumed for a request that sets none (the API's own limit is model-specific).
ASSUMED_MAX_OUTPUT = 4096
#: Typical output tokens per stage: an answer of a few paragraphs, a judge's short ruling.
TYPICAL_OUTPUT = {"answers": 400, "judges": 250}
PLANNED_STAGES = ("answers", "judges")  # the stages a run sends (generation is a command of its own)

RECORDED, TO_SEND, MISSING = "recorded", "to send", "missing"


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    """One exchange of one case: where it is recorded and what sending it would take."""

    stage: str  # answers | judges
    model: str  # the model asked (the judge, for judge requests)
    cassette: str
    status: str  # recorded | to send | missing
    input_tokens: int
    max_output_tokens: int
    typical_output_tokens: int
    #: Of the input, the tokens marked for the prompt cache (the whole spec a judge reads under
    #: --judge-context=spec): identical in every judge request of a suite.
    cached_tokens: int = 0

    def cost(self, prices: Mapping[str, Price], *, high: bool, batch: bool = False) -> float | None:
        out = self.max_output_tokens if high else self.typical_output_tokens
        return cost_of(self.model, self.input_tokens, out, prices, batch=batch)


@dataclass
class StagePlan:
    stage: str
    to_send: int = 0
    recorded: int = 0
    missing: int = 0
    input_tokens: int = 0  # of the requests to send
    typical_output_tokens: int = 0
    max_output_tokens: int = 0
    cached_tokens: int = 0  # of ``input_tokens``: the cacheable prefix (the whole spec)
    cost_low: float | None = 0.0
    cost_high: float | None = 0.0
    models: dict[str, int] = field(default_factory=dict)  # requests to send per model

    def add(self, request: PlannedRequest, prices: Mapping[str, Price], batch: bool) -> None:
        if request.status == RECORDED:
            self.recorded += 1
            return
        if request.status == MISSING:
            self.missing += 1
            return
        self.to_send += 1
        self.models[request.model] = self.models.get(request.model, 0) + 1
        self.input_tokens += request.input_tokens
        self.cached_tokens += request.cached_tokens
        self.typical_output_tokens += request.typical_output_tokens
        self.max_output_tokens += request.max_output_tokens
        low = request.cost(prices, high=False, batch=batch)
        high = request.cost(prices, high=True, batch=batch)
        self.cost_low = None if self.cost_low is None or low is None else self.cost_low + low
        self.cost_high = None if self.cost_high is None or high is None else self.cost_high + high

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "to_send": self.to_send,
            "recorded": self.recorded,
            "missing": self.missing,
            "input_tokens": self.input_tokens,
            "cacheable_input_tokens": self.cached_tokens,
            "output_tokens": {"typical": self.typical_output_tokens, "max": self.max_output_tokens},
            "cost_usd": {"low": self.cost_low, "high": self.cost_high},
            "models": dict(sorted(self.models.items())),
        }


@dataclass
class Plan:
    """Per stage: requests to send vs already recorded, estimated tokens and a cost range."""

    cases: int
    record_mode: str
    judge_record_mode: str
    batch: bool
    stages: dict[str, StagePlan]
    unpriced: list[str]
    requests: list[PlannedRequest] = field(default_factory=list, repr=False)

    @property
    def to_send(self) -> int:
        return sum(s.to_send for s in self.stages.values())

    @property
    def cost_low(self) -> float | None:
        return _sum(s.cost_low for s in self.stages.values())

    @property
    def cost_high(self) -> float | None:
        return _sum(s.cost_high for s in self.stages.values())

    def render(self) -> str:
        """A few lines for a terminal: what will be sent, about how many tokens, what it costs."""
        how = " via the batch APIs (half price, results within 24 h)" if self.batch else ""
        lines = [
            f"plan: {self.cases} case(s); record mode {self.record_mode} (judges: {self.judge_record_mode})"
            f"; {self.to_send} request(s) to send{how}"
        ]
        for stage in self.stages.values():
            lines.append(
                f"  {stage.stage:<8} {stage.to_send} to send, {stage.recorded} recorded"
                + (f", {stage.missing} missing (errors: record mode none)" if stage.missing else "")
            )
            if stage.to_send:
                lines.append(
                    f"           ~{stage.input_tokens:,} input tokens, ~{stage.typical_output_tokens:,} "
                    f"output tokens (at most {stage.max_output_tokens:,}); "
                    f"{_range(stage.cost_low, stage.cost_high)}"
                )
                lines.append("           " + ", ".join(f"{m} x{n}" for m, n in sorted(stage.models.items())))
                if stage.cached_tokens:
                    share = stage.cached_tokens / max(1, stage.input_tokens)
                    lines.append(
                        f"           ~{stage.cached_tokens:,} of the input tokens ({share:.0%}) are the "
                        "whole spec every judge reads (--judge-context=spec), sent as a prompt-cached "
                        "prefix; the cost above prices them in full (no cache hits assumed); cached "
                        "reads cost less (Anthropic: asked with cache_control; OpenAI: automatic for "
                        "long identical prefixes)"
                    )
        lines.append(f"  total    {_range(self.cost_low, self.cost_high)}")
        if self.unpriced:
            lines.append(
                f"  no price for {', '.join(self.unpriced)}: cost unknown; add prices with --prices FILE "
                "or spec_prices ini lines"
            )
        lines.append(
            f"  estimates: input = request text / {CHARS_PER_TOKEN} chars per token; output between a "
            f"typical length and the request's max tokens; judge retries not included"
        )
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "cases": self.cases,
                "record_mode": self.record_mode,
                "judge_record_mode": self.judge_record_mode,
                "batch": self.batch,
                "to_send": self.to_send,
                "cost_usd": {"low": self.cost_low, "high": self.cost_high},
                "unpriced": self.unpriced,
                "stages": [s.to_dict() for s in self.stages.values()],
                "estimate": {"chars_per_token": CHARS_PER_TOKEN, "judge_retries": "not included"},
            },
            indent=2,
        )


def plan(
    cases: Iterable[Case],
    run_settings: RunSettings,
    prices: Mapping[str, Price] | None = None,
    *,
    batch: bool = False,
) -> Plan:
    """The plan of a run over ``cases`` (already expanded, and sharded if the run is)."""
    table = dict(PRICES if prices is None else prices)
    stages = {name: StagePlan(name) for name in PLANNED_STAGES}
    requests: list[PlannedRequest] = []
    count = 0
    for case in cases:
        count += 1
        for request in case_requests(case, run_settings):
            requests.append(request)
            stages[request.stage].add(request, table, batch)
    unpriced = sorted({r.model for r in requests if r.status == TO_SEND and price_of(r.model, table) is None})
    judge_mode = run_settings.judge_record_mode or run_settings.ask.record_mode
    return Plan(
        cases=count,
        record_mode=run_settings.ask.record_mode.value,
        judge_record_mode=RecordMode(judge_mode).value,
        batch=batch,
        stages=stages,
        unpriced=unpriced,
        requests=requests,
    )


def case_requests(
    case: Case, settings: RunSettings, *, recorded_answers: bool = True
) -> list[PlannedRequest]:
    """The model's request and each judge's for one case (what `plan` prices).

    ``recorded_answers=False`` estimates judges with a stand-in answer instead of replaying
    the recorded one (enough to know which models would be paid for).
    """
    ask_settings = settings.ask
    path = model_cassette(ask_settings, case)
    status = _status(path, ask_settings.record_mode)
    provider = ask_settings.registry.provider(case.model, ProviderSettings(replay=True))
    body = provider.request_body(case.scenario.messages, params_for(ask_settings, case))
    answer_max = max_output_tokens(body)
    out = [
        PlannedRequest(
            "answers",
            case.model,
            str(path),
            status,
            request_tokens(body),
            answer_max,
            min(answer_max, TYPICAL_OUTPUT["answers"]),
        )
    ]
    panel = settings.panel_for(case)
    answer_text = _recorded_answer(settings, case) if status == RECORDED and recorded_answers else None
    if answer_text is None:
        answer_text = "x" * (TYPICAL_OUTPUT["answers"] * CHARS_PER_TOKEN)
    prompt = build_prompt(Subject.of_scenario(case.spec, case.scenario, answer_text), panel.rubric)
    cached = sum(len(m.content) for m in prompt.messages if m.cache) // CHARS_PER_TOKEN
    for judge, cassette in panel.case_cassettes(case).items():
        judge_provider = ask_settings.registry.provider(judge, ProviderSettings(replay=True))
        judge_body = judge_provider.request_body(prompt.messages, panel.params_for(judge), prompt.output)
        judge_max = max_output_tokens(judge_body)
        out.append(
            PlannedRequest(
                "judges",
                judge,
                str(cassette),
                _status(cassette, panel.record_mode),
                request_tokens(judge_body),
                judge_max,
                min(judge_max, TYPICAL_OUTPUT["judges"]),
                cached,
            )
        )
    return out


def estimate_cost(
    requests: Iterable[PlannedRequest],
    prices: Mapping[str, Price],
    *,
    high: bool = True,
    batch: bool = False,
) -> float | None:
    """What the requests still to send may cost (the upper bound by default: what a budget
    must reserve so it can never be overshot); None when a price is unknown."""
    return _sum(r.cost(prices, high=high, batch=batch) for r in requests if r.status == TO_SEND)


# --------------------------------------------------------------------------- helpers


def _status(path: Any, mode: RecordMode) -> str:
    if not will_replay(path, mode):
        return TO_SEND
    return RECORDED if mode is not RecordMode.NONE or _exists(path) else MISSING


def _exists(path: Any) -> bool:
    return Path(path).is_file() and Path(path).stat().st_size > 0


def _recorded_answer(settings: RunSettings, case: Case) -> str | None:
    """The recorded answer, replayed from its cassette (never the network); None if unusable."""
    try:
        response, _ = ask(settings.ask, case)
    except Exception:  # a stale or broken cassette: the run will report it; the plan estimates
        return None
    return response.text or response.refusal_message or ""


def request_tokens(body: Mapping[str, Any]) -> int:
    """Estimated input tokens of a request body: the text its family sends, / `CHARS_PER_TOKEN`."""
    return input_tokens(body)


def max_output_tokens(body: Mapping[str, Any]) -> int:
    """The request's output limit, as its family reads it (`ASSUMED_MAX_OUTPUT` when it sets none)."""
    limit = output_limit(body)
    return ASSUMED_MAX_OUTPUT if limit is None else limit


def _sum(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def _range(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "cost unknown"
    return f"cost {usd(low)} – {usd(high)}"
