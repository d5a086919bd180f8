"""How a run asks and judges: the settings every item shares, independent of pytest.

The plugin builds one `RunSettings` from options and ini keys; a script can build one by
hand and call `run_case` to get the same `Trial` an item gets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_pytest.core.case import Case
from spec_pytest.core.judgement import Judgement
from spec_pytest.core.response import Response
from spec_pytest.core.verdict import combine
from spec_pytest.errors import ConfigError
from spec_pytest.judge import JudgePanel
from spec_pytest.pipeline.ask import AskSettings
from spec_pytest.pipeline.cost import Budget, BudgetExhausted
from spec_pytest.pipeline.trial import Trial, run_trial
from spec_pytest.providers import ModelParams
from spec_pytest.recording.cassettes import RecordMode
from spec_pytest.spec.model import Scenario, Spec

INCONCLUSIVE_POLICIES = ("fail", "error", "skip")


class NoJudgeError(ConfigError):
    """Neither the command line nor the spec names a judge."""


@dataclass
class RunSettings:
    ask: AskSettings
    judges: tuple[str, ...] = ()  # from the command line; empty: each spec's defaults.judges
    judge_record_mode: RecordMode | None = None  # None: the same as the model's
    inconclusive: str = "fail"
    judge_hint: Callable[[Case], str] = field(default=lambda case: "re-run with --judge-record-mode=rewrite")
    budget: Budget | None = None  # --max-cost

    def judges_for(self, case: Case) -> tuple[str, ...]:
        judges = self.judges or case.spec.defaults.judges
        if not judges:
            raise NoJudgeError(
                f"{case.spec.path.name} names no judge: pass --judge PROVIDER:MODEL (repeatable, "
                "several form a panel) or set `defaults: {judges: [...]}` in the spec"
            )
        return tuple(judges)

    def panel_for(self, case: Case) -> JudgePanel:
        return JudgePanel(
            self.judges_for(case),
            self.ask.registry,
            self.ask.cassette_dir,
            suite=case.spec.id,
            record_mode=self.judge_record_mode or self.ask.record_mode,
            rerecord_hint=self.judge_hint(case),
        )

    def judge(self, case: Case, response: Response) -> tuple[Sequence[Judgement], Sequence[Path]]:
        """The panel's judgements of `response` (after the model's cassette has closed)."""
        judgements = self.panel_for(case).judge_case_sync(case, response)
        return judgements, [Path(j.cassette) for j in judgements if j.cassette]


def batch_failure(settings: RunSettings, case: Case) -> str | None:
    """What a provider batch answered for one of this case's requests, if it failed."""
    from spec_pytest.pipeline.ask import model_cassette
    from spec_pytest.pipeline.batch.notes import failure_note

    judges = settings.panel_for(case).case_cassettes(case)
    for path in [model_cassette(settings.ask, case), *judges.values()]:
        note = failure_note(path)
        if note is not None:
            return note
    return None


def run_case(settings: RunSettings, case: Case) -> Trial:
    """Ask, judge and decide one case; errors (cassette, provider, judge, budget) propagate."""
    if settings.budget is None:
        return run_trial(case, settings.ask, settings.judge)
    spending = Spending(settings, case)
    trial = None
    try:
        trial = run_trial(case, settings.ask, settings.judge)
        return trial
    finally:
        spending.settle(trial)


def check_invariance_for(
    settings: RunSettings, spec: Spec, rule: Any, scenario: Scenario, pair: tuple[str, str], model: str
) -> Any:
    """Probe one scenario × model for a violation of `rule`; the judge panel places answers.

    Raises InvarianceViolation (shrunk to the smallest change) or the usual run errors.
    """
    from spec_pytest.probes.invariance import CassetteResponder, check_invariance, example_database

    ask = settings.ask
    respond = CassetteResponder(
        ask.registry,
        model,
        ask.cassette_dir,
        spec.id,
        ask.record_mode,
        ModelParams.from_mapping({**spec.params_for(model), **ask.params}),
        rerecord_hint=(
            f"pytest --spec={spec.path} -m invariance_{rule.id.replace('-', '_')} --record-mode=rewrite"
        ),
    )

    def position(variant: Scenario, response: Response) -> float:
        case = Case(spec, variant, model, 0)
        panel = combine(settings.panel_for(case).judge_case_sync(case, response))
        if panel.position is None:
            raise NoJudgeError(f"no judge placed the answer to {variant.id} on the value spectrum")
        return panel.position

    return check_invariance(
        scenario,
        rule,
        pair=pair,
        respond=respond,
        position=position,
        database=example_database(ask.cassette_dir),
        key=model,
        seed=0,
    )


class Spending:
    """`--max-cost` for one case: reserve the upper bound of what it may still send, then settle.

    Model answers and judges are charged the tokens their exchanges reported; a request whose
    usage is unknown, and every request of a case that ended in an error, is charged its
    upper-bound estimate: the budget may stop a little early, never late.
    """

    def __init__(self, settings: RunSettings, case: Case):
        from spec_pytest.pipeline.plan import TO_SEND, case_requests, estimate_cost

        self.settings, self.case = settings, case
        budget = settings.budget
        assert budget is not None
        self.requests = [r for r in case_requests(case, settings) if r.status == TO_SEND]
        self.reserved = estimate_cost(self.requests, budget.spend.prices) or 0.0
        if self.requests and not budget.allow(self.reserved):
            raise BudgetExhausted(budget.exhausted_message())

    def settle(self, trial: Trial | None) -> None:
        """Charge what was sent; when the case ended in an error, assume the worst of it."""
        from spec_pytest.core.response import Usage

        budget = self.settings.budget
        assert budget is not None
        judged = {j.judge: j for j in trial.verdict.judgements} if trial and trial.verdict else {}
        for request in self.requests:
            judgement = judged.get(request.model) if request.stage == "judges" else None
            if request.stage == "answers" and trial is not None and trial.response is not None:
                usage = trial.response.usage
            elif judgement is not None and judgement.input_tokens is not None:
                usage = Usage(input_tokens=judgement.input_tokens, output_tokens=judgement.output_tokens)
            else:
                usage = Usage(input_tokens=request.input_tokens, output_tokens=request.max_output_tokens)
            budget.spend.add(request.stage, request.model, usage)
        budget.release(self.reserved)
