"""A panel: several judges rule on one answer, each through its own cassette.

Judge cassettes live apart from the model's, under a path that names the judge and the
rubric version::

    <root>/<suite>/_judges/<judge provider>/<judge model>/<rubric>/<item>.json

so changing the rubric or a judge re-judges (new files) without asking the model again
(its cassette is untouched), and a replayed run needs neither key. ``_judges`` cannot be a
provider name (those start with a letter), so it never collides with a model's directory.

Judges run one after another by default: vcrpy patches the HTTP layer process-wide, so
two cassettes open at once on one event loop would swallow each other's requests. The
cassette handling is pluggable (``cassettes``, a `spec_pytest.recording.recorder.Recorder`):
the fan-out (`spec_pytest.pipeline.prefetch`) passes tapes that route each request by its
context instead of patching, and with them the judges of a panel run at once
(``concurrent``); ``--batch`` passes one that serves batch results. The judging itself is
the same code.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from spec_pytest.core.case import Case
from spec_pytest.core.judgement import Judgement
from spec_pytest.core.response import Response
from spec_pytest.errors import ConfigError
from spec_pytest.judge.judge import Judge, JudgeError, judge_params
from spec_pytest.judge.rubric import RUBRIC_VERSION, Subject
from spec_pytest.providers import ModelParams, ModelRef, ProviderError, ProviderSettings, Registry
from spec_pytest.providers.base import Provider
from spec_pytest.providers.ref import JSON_SCHEMA
from spec_pytest.recording.cassettes import RecordMode, safe_component
from spec_pytest.recording.recorder import VCR, Recorder, through_cassette

JUDGES_DIR = "_judges"
#: Added to a judge's HTTP 400: what it was asked with is the user's to change.
JUDGE_400_HINT = (
    "; the API rejected the judge's request parameters: set them with --judge-param "
    "[PROVIDER:MODEL:]KEY=VALUE (KEY=null sends none) or the spec's `models:` params for the judge"
)

#: Opens a judge's cassette around its requests (a `Recorder`); vcrpy (`VCR`) by default.
CassetteScope = Recorder
T = TypeVar("T")
_thread_loops = threading.local()


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on this thread's own long-lived event loop.

    Unlike ``asyncio.run`` (a new loop per call), the loop survives between calls, so the
    SDK's async clients (one per loop, each loading the CA bundle when built) are built
    once per thread rather than once per item: that is most of a replayed item's cost.
    """
    loop = getattr(_thread_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _thread_loops.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)


def case_item(scenario_id: str, model: str, sample: int) -> str:
    """The item name of a model's answer: ``<scenario>.<provider>.<model>.s<sample>``."""
    return f"{safe_component(scenario_id)}.{model_slug(model)}.s{int(sample)}"


def example_item(example_id: str, index: int) -> str:
    """The item name of a labelled example answer: ``calibration/<example>.r<index>``."""
    return f"calibration/{safe_component(example_id)}.r{int(index)}"


def model_slug(model: str) -> str:
    """``openai:gpt-4.1`` -> ``openai.gpt-4.1``: one file-name part, readable, collision-free.

    Provider names contain no dot, so the first dot splits the slug unambiguously.
    """
    ref = ModelRef.parse(model)
    return f"{safe_component(ref.provider)}.{safe_component(ref.model)}"


def judge_cassette_path(
    root: str | os.PathLike[str], suite: str, judge: str, item: str, rubric: str = RUBRIC_VERSION
) -> Path:
    """Where one judge's exchanges about one item are recorded (see the module docstring)."""
    ref = ModelRef.parse(judge)
    base = Path(root) / safe_component(suite) / JUDGES_DIR / safe_component(ref.provider)
    return base / safe_component(ref.model) / safe_component(rubric) / f"{item}.json"


@dataclass
class JudgePanel:
    """The judges of a run and where their cassettes go.

    ``record_mode`` is the judges' own (it may differ from the model's: e.g. ``rewrite``
    for judges only, to re-judge recorded answers under a new rubric). ``rerecord_hint`` is
    the command that re-records, shown in cassette errors.
    """

    judges: tuple[str, ...]
    registry: Registry
    cassette_root: Path
    suite: str
    record_mode: RecordMode = RecordMode.ONCE
    params: ModelParams | None = None  # None: each judge's own (`judge_params`, `judge_keys`)
    rubric: str = RUBRIC_VERSION
    max_retries: int = 2
    timeout_s: float = 120.0
    rerecord_hint: str | None = None
    cassettes: CassetteScope = VCR
    concurrent: bool = False  # only with a scope that does not patch the process
    #: Per judge reference, the user's parameters (spec ``models:`` params, --judge-param).
    judge_keys: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.judges:
            raise ConfigError("a panel needs at least one judge (--judge PROVIDER:MODEL)")
        self.judges = tuple(str(ModelRef.parse(j)) for j in self.judges)
        self.record_mode = RecordMode(self.record_mode)
        self.cassette_root = Path(self.cassette_root)

    def params_for(self, judge: str) -> ModelParams:
        """What ``judge`` is asked with: ``params`` if set, else its family's defaults under
        the user's keys (see `spec_pytest.judge.judge.judge_params`)."""
        return self._request(judge)[0]

    def _request(self, judge: str) -> tuple[ModelParams, ProviderSettings]:
        if self.params is not None and not self.judge_keys.get(judge):
            params, timeout = self.params, None
        else:
            params, timeout = judge_params(self.registry, judge, self.judge_keys.get(judge, {}))
        settings = ProviderSettings(
            max_retries=self.max_retries, timeout_s=timeout or self.timeout_s, deadline_s=timeout
        )
        return params, settings

    def cassette(self, judge: str, item: str) -> Path:
        return judge_cassette_path(self.cassette_root, self.suite, judge, item, self.rubric)

    async def judge(self, subject: Subject, item: str) -> tuple[Judgement, ...]:
        """Every judge's ruling on ``subject``, in panel order.

        Raises `JudgeError` (one message per failing judge) if any judge has no usable
        ruling, `ProviderError` when a judge's API fails, `CassetteError` on a cassette
        miss. Judges after a failing one still run, so their cassettes get recorded.
        """
        judgements: list[Judgement] = []
        failures: list[JudgeError] = []
        for outcome in await self._each_judge(subject, item):
            if isinstance(outcome, JudgeError):
                failures.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                judgements.append(outcome)
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise JudgeError(
                ", ".join(f.judge for f in failures), "; ".join(f"{f.judge}: {f.problem}" for f in failures)
            )
        return tuple(judgements)

    async def _each_judge(self, subject: Subject, item: str) -> Iterable[Judgement | BaseException]:
        """Every judge's ruling or JudgeError in panel order; other errors stop at the first."""
        if self.concurrent:
            tasks = [self.judge_one(judge, subject, item) for judge in self.judges]
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            first_other = next((o for o in outcomes if _is_other_error(o)), None)
            return outcomes if first_other is None else [first_other]
        found: list[Judgement | BaseException] = []
        for judge in self.judges:
            try:
                found.append(await self.judge_one(judge, subject, item))
            except JudgeError as err:
                found.append(err)
        return found

    async def judge_one(self, judge: str, subject: Subject, item: str) -> Judgement:
        """One judge's ruling through its cassette; the `Judgement` names the cassette."""
        path = self.cassette(judge, item)
        params, settings = self._request(judge)

        async def ruling(provider: Provider) -> Judgement | JudgeError:
            try:
                return await Judge(provider, params, self.rubric).judge(subject)
            except JudgeError as err:
                # Returned, not raised: the cassette keeps the exchanges that led to it (it saves
                # only a block that ends cleanly), so a replay reads the same unusable answers
                # and ends in the same ERROR, and a `once` run does not ask the judge again.
                return err
            except ProviderError as err:
                # Say it was the judge that failed: the judge may be the very model under test.
                hint = JUDGE_400_HINT if err.status_code == 400 else ""
                hint += _structured_output_hint(self.registry, judge, err)
                raise ProviderError(
                    err.model_ref,
                    f"(as judge) {err.summary}{hint}",
                    provider_message=err.provider_message,
                    status_code=err.status_code,
                    request_id=err.request_id,
                ) from err

        judgement = await through_cassette(
            self.cassettes,
            self.registry,
            judge,
            path,
            self.record_mode,
            ruling,
            stage="judges",
            rerecord_hint=self.rerecord_hint,
            settings=settings,
        )
        if isinstance(judgement, JudgeError):
            raise judgement
        return replace(judgement, cassette=str(path))

    def judge_sync(self, subject: Subject, item: str) -> tuple[Judgement, ...]:
        """Blocking form of `judge`."""
        return run_blocking(self.judge(subject, item))

    def case_cassettes(self, case: Case) -> dict[str, Path]:
        """Each judge's cassette for a case's answer (judge reference -> path)."""
        item = case_item(case.scenario.id, case.model, case.sample)
        return {judge: self.cassette(judge, item) for judge in self.judges}

    async def judge_case(self, case: Case, response: Response) -> tuple[Judgement, ...]:
        """The panel on a model's answer to a case (a spec item); see `judge` for errors."""
        subject = Subject.of_scenario(case.spec, case.scenario, response)
        return await self.judge(subject, case_item(case.scenario.id, case.model, case.sample))

    def judge_case_sync(self, case: Case, response: Response) -> tuple[Judgement, ...]:
        """Blocking form of `judge_case` (what a pytest item calls)."""
        return run_blocking(self.judge_case(case, response))


def _structured_output_hint(registry: Registry, judge: str, err: ProviderError) -> str:
    """What to set when the judge's server refused a strict JSON schema (llama-cpp-python's
    server answers 422, older llama.cpp and vLLM 400 or 500 naming ``json_schema``)."""
    endpoint = registry.endpoint(ModelRef.parse(judge).provider)
    said = (err.provider_message or "").lower()
    refused = err.status_code in (400, 422) or "json_schema" in said or "response_format" in said
    if endpoint.structured_output != JSON_SCHEMA or not refused or err.status_code is None:
        return ""
    name = endpoint.name
    return (
        f"; if the server of endpoint {name!r} does not take a strict JSON schema "
        f"(response_format json_schema), declare the endpoint with structured_output: json_object "
        f"(JSON mode, the schema in the prompt) or none (the schema in the prompt only): in the "
        f"spec's endpoints: ({name}: {{base_url: ..., structured_output: json_object}}), the ini "
        f"line 'spec_endpoints = {name} URL structured_output=json_object' or "
        f"--endpoint {name}=URL,structured_output=json_object"
    )


def _is_other_error(outcome: object) -> bool:
    return isinstance(outcome, BaseException) and not isinstance(outcome, JudgeError)
