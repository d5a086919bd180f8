"""How a run asks and judges: the settings every item shares, independent of pytest.

The plugin builds one `RunSettings` from options and ini keys; a script can build one by
hand and call `run_case_blocking` to get the same `Trial` an item gets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from spec_pytest.core.case import Case
from spec_pytest.core.judgement import Judgement
from spec_pytest.core.response import Response
from spec_pytest.errors import ConfigError
from spec_pytest.judge import RUBRIC_VERSION, JudgePanel
from spec_pytest.judge.judge import judge_keys
from spec_pytest.judge.panel import run_blocking
from spec_pytest.pipeline import case_run
from spec_pytest.pipeline.ask import AskSettings, model_cassette
from spec_pytest.pipeline.batch.notes import failure_note
from spec_pytest.pipeline.budget import Budget
from spec_pytest.pipeline.trial import Trial
from spec_pytest.recording.cassettes import RecordMode
from spec_pytest.recording.recorder import VCR
from spec_pytest.spec.model import Example, Scenario, Spec

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
    rubric: str = RUBRIC_VERSION  # --rubric: the version judges rule under (names their cassettes)
    #: --judge-param: by judge reference, "" for every judge (over the spec's `models:` params)
    judge_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def judges_for(self, case: Case) -> tuple[str, ...]:
        return self.judges_of(case.spec)

    def judges_of(self, spec: Spec) -> tuple[str, ...]:
        judges = self.judges or spec.defaults.judges
        if not judges:
            raise NoJudgeError(
                f"{spec.path.name} names no judge: pass --judge PROVIDER:MODEL (repeatable, "
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
            rubric=self.rubric,
            judge_keys={judge: self.judge_keys(case, judge) for judge in self.judges_for(case)},
        )

    def labelled_panel(self, spec: Spec, rerecord_hint: str) -> JudgePanel:
        """The panel that judges ``spec``'s labelled answers (judge checks): as for its cases."""
        judges = self.judges_of(spec)
        return JudgePanel(
            judges,
            self.ask.registry,
            self.ask.cassette_dir,
            suite=spec.id,
            record_mode=self.judge_record_mode or self.ask.record_mode,
            rerecord_hint=rerecord_hint,
            rubric=self.rubric,
            judge_keys={j: judge_keys(spec.model_params, self.judge_params, j) for j in judges},
        )

    def judge_keys(self, case: Case, judge: str) -> dict[str, Any]:
        """A judge's parameters for ``case`` (see `spec_pytest.judge.judge.judge_keys`)."""
        return judge_keys(case.spec.model_params, self.judge_params, judge)


def batch_failure(settings: RunSettings, case: Case) -> str | None:
    """What a provider batch answered for one of this case's requests, if it failed."""
    judges = settings.panel_for(case).case_cassettes(case)
    for path in [model_cassette(settings.ask, case), *judges.values()]:
        note = failure_note(path)
        if note is not None:
            return note
    return None


def run_case_blocking(case: Case, settings: RunSettings) -> Trial:
    """`spec_pytest.pipeline.case_run.run_case` for a blocking caller (an item, a script).

    Runs on this thread's own long-lived event loop (`run_blocking`), through vcrpy, within
    ``settings.budget``; errors (cassette, provider, judge, budget) propagate.
    """
    return run_blocking(case_run.run_case(case, settings, VCR, settings.budget))


def judge_check_blocking(
    settings: RunSettings, spec: Spec, example: Example, index: int, rerecord_hint: str
) -> tuple[Judgement, ...]:
    """`spec_pytest.pipeline.case_run.run_labelled` for a blocking caller (a judge-check item)."""
    panel = settings.labelled_panel(spec, rerecord_hint)
    return run_blocking(case_run.run_labelled(spec, example, index, panel, VCR))


def check_invariance_for(
    settings: RunSettings, spec: Spec, rule: Any, scenario: Scenario, pair: tuple[str, str], model: str
) -> Any:
    """Probe one scenario × model for a violation of `rule`; the judge panel places answers.

    Each variant is a `Case` run by the one pipeline, its answer recorded under
    ``<cassette dir>/consistency/`` (apart from the items' answers), its judges as usual.
    Raises InvarianceViolation (shrunk to the smallest change) or the usual run errors.
    """
    from spec_pytest.probes.invariance import check_invariance, example_database  # defers hypothesis

    ask = settings.ask
    hint = f"pytest --spec={spec.path} -m invariance_{rule.id.replace('-', '_')} --record-mode=rewrite"
    variants = _Variants(
        replace(
            settings,
            ask=replace(ask, answers_dir=ask.cassette_dir / "consistency", rerecord_hint=lambda case: hint),
        ),
        spec,
        model,
    )
    return check_invariance(
        scenario,
        rule,
        pair=pair,
        respond=variants,
        position=variants.position,
        database=example_database(ask.cassette_dir),
        key=model,
        seed=0,
    )


class _Variants:
    """Runs each variant of a probe as a case: `respond` asks and judges, `position` reads it."""

    def __init__(self, settings: RunSettings, spec: Spec, model: str) -> None:
        self.settings, self.spec, self.model = settings, spec, model
        self._trials: dict[str, Trial] = {}

    def case(self, variant: Scenario) -> Case:
        return Case(self.spec, variant, self.model, 0)

    def path(self, variant: Scenario) -> Path:
        return model_cassette(self.settings.ask, self.case(variant))

    def __call__(self, variant: Scenario) -> Response:
        trial = self._trials[variant.id] = run_case_blocking(self.case(variant), self.settings)
        assert trial.response is not None
        return trial.response

    def position(self, variant: Scenario, response: Response) -> float:
        trial = self._trials[variant.id]
        position = trial.verdict.panel.position if trial.verdict is not None else None
        if position is None:
            raise NoJudgeError(f"no judge placed the answer to {variant.id} on the value spectrum")
        return position
