"""How a run asks and judges: the settings every item shares, independent of pytest.

The plugin builds one `RunSettings` from options and ini keys; a script can build one by
hand and call `run_case` to get the same `Trial` an item gets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_pytest.ask import AskSettings
from spec_pytest.case import Case
from spec_pytest.cassettes import RecordMode
from spec_pytest.judge import JudgePanel
from spec_pytest.judgement import Judgement
from spec_pytest.providers import ModelParams
from spec_pytest.response import Response
from spec_pytest.spec.model import Scenario, Spec
from spec_pytest.trial import Trial, run_trial
from spec_pytest.verdict import combine

INCONCLUSIVE_POLICIES = ("fail", "error", "skip")


class NoJudgeError(Exception):
    """Neither the command line nor the spec names a judge."""


@dataclass
class RunSettings:
    ask: AskSettings
    judges: tuple[str, ...] = ()  # from the command line; empty: each spec's defaults.judges
    judge_record_mode: RecordMode | None = None  # None: the same as the model's
    inconclusive: str = "fail"
    judge_hint: Callable[[Case], str] = field(default=lambda case: "re-run with --judge-record-mode=rewrite")

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


def run_case(settings: RunSettings, case: Case) -> Trial:
    """Ask, judge and decide one case; errors (cassette, provider, judge) propagate."""
    return run_trial(case, settings.ask, settings.judge)


def check_invariance_for(
    settings: RunSettings, spec: Spec, rule: Any, scenario: Scenario, pair: tuple[str, str], model: str
) -> Any:
    """Probe one scenario × model for a violation of `rule`; the judge panel places answers.

    Raises InvarianceViolation (shrunk to the smallest change) or the usual run errors.
    """
    from spec_pytest.generate.consistency import CassetteResponder, check_invariance, example_database

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
