"""One judge: a model asked for a structured ruling on one answer, and held to the schema.

Every answer is validated (`read_answer`). An unusable one gets exactly one second chance,
with the problem quoted back; a second unusable answer is a `JudgeError`, which the plugin
reports as an ERROR. There is no fallback score: a made-up default would be indistinguishable
from a real ruling in every report downstream.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from spec_pytest.core.judgement import Judgement
from spec_pytest.core.response import Response
from spec_pytest.errors import ConfigError, RunError
from spec_pytest.judge.answer import UnusableAnswer, read_answer
from spec_pytest.judge.rubric import RUBRIC_VERSION, Prompt, Subject, build_prompt
from spec_pytest.providers import ModelParams, ModelRef, Provider, Registry

#: Judges rule, they do not create: deterministic sampling, and room for one paragraph. What a
#: judge that does not reason sends by default (`judge_params` asks the judge's family).
DEFAULT_JUDGE_PARAMS = ModelParams(temperature=0.0, max_tokens=1024)
#: The judge parameter that is not a request field: the request timeout, in seconds.
TIMEOUT_KEY = "timeout"
#: How much of an unusable answer an error message shows.
EXCERPT_CHARS = 200


def judge_keys(
    spec_params: Mapping[str, Mapping[str, Any]], given: Mapping[str, Mapping[str, Any]], judge: str
) -> dict[str, Any]:
    """A judge's parameters: the spec's `models:` params for its model (not `defaults.params`,
    which are the models' under test), then --judge-param for every judge (key ""), then for it."""
    return {**spec_params.get(judge, {}), **given.get("", {}), **given.get(judge, {})}


def judge_params(
    registry: Registry, judge: str, given: Mapping[str, Any] = {}
) -> tuple[ModelParams, float | None]:
    """The request parameters and timeout (None: the default) ``judge`` rules with.

    ``given`` holds the user's keys (the spec's ``models:`` params for the judge model, then
    ``--judge-param``): the same keys as a model's, plus ``timeout``. The judge's family fills
    in the rest (`Family.judge_params`: no temperature for a reasoning model, an output limit
    with room for its reasoning); a key set to ``null`` sends nothing for it. Raises ConfigError.
    """
    keys = dict(given)
    timeout = check_timeout(f"judge {judge}", keys.pop(TIMEOUT_KEY, None))
    ref = ModelRef.parse(judge)
    defaults = registry.endpoint(ref.provider).family.judge_params(ref.model, keys)
    try:
        params = ModelParams.from_mapping({**defaults, **keys})
    except ConfigError as exc:
        raise ConfigError(f"judge {judge}: {exc} (or {TIMEOUT_KEY})") from None
    return params, timeout


def check_timeout(where: str, value: object) -> float | None:
    """A judge's ``timeout`` in seconds (None: not set); ConfigError unless a number above 0."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf:
        return float(value)
    raise ConfigError(f"{where}: timeout must be a number of seconds above 0, got {value!r}")


class JudgeError(RunError):
    """A judge gave no usable ruling, even when asked a second time; the item is an ERROR."""

    def __init__(self, judge: str, problem: str) -> None:
        self.judge = judge
        self.problem = problem
        super().__init__(f"judge {judge} answered something unusable: {problem}")


@dataclass
class Judge:
    """A judge model behind a `Provider`, ruling under one rubric version."""

    provider: Provider
    params: ModelParams = field(default_factory=lambda: DEFAULT_JUDGE_PARAMS)
    rubric: str = RUBRIC_VERSION

    @property
    def name(self) -> str:
        return str(self.provider.ref)

    async def judge(self, subject: Subject) -> Judgement:
        """The judge's validated ruling on ``subject``; `JudgeError` when it has none to give."""
        prompt = build_prompt(subject, self.rubric)
        first = await self.provider.respond(prompt.messages, self.params, output=prompt.output)
        try:
            return _with_usage(self._read(first, prompt), first)
        except UnusableAnswer as problem:
            if not problem.retryable:
                raise JudgeError(self.name, f"{problem}{_excerpt(first)}") from None
            first_problem = problem
        retry = prompt.retry(first.text, str(first_problem))
        second = await self.provider.respond(retry, self.params, output=prompt.output)
        try:
            return _with_usage(self._read(second, prompt), first, second)
        except UnusableAnswer as problem:
            raise JudgeError(
                self.name,
                f"{problem}{_excerpt(second)} (asked once more after the first answer's problem: "
                f"{first_problem})",
            ) from None

    def judge_sync(self, subject: Subject) -> Judgement:
        """Blocking form of `judge`, for callers without an event loop."""
        return asyncio.run(self.judge(subject))

    def _read(self, response: Response, prompt: Prompt) -> Judgement:
        if response.refused:
            said = response.refusal_message or response.text
            raise UnusableAnswer(
                "it refused to judge" + (f" ({said.strip()[:EXCERPT_CHARS]})" if said.strip() else ""),
                retryable=False,
            )
        return read_answer(
            response.text,
            judge=self.name,
            citable=prompt.citable,
            with_position=prompt.with_position,
            truncated=response.truncated,
            per_value=prompt.per_value,
        )


def _with_usage(judgement: Judgement, *responses: Response) -> Judgement:
    """The judgement with the tokens its exchanges took (what a --max-cost budget charges)."""
    tokens_in = [r.usage.input_tokens for r in responses]
    tokens_out = [r.usage.output_tokens for r in responses]
    return replace(
        judgement,
        input_tokens=None if None in tokens_in else sum(tokens_in),  # type: ignore[arg-type]
        output_tokens=None if None in tokens_out else sum(tokens_out),  # type: ignore[arg-type]
    )


def _excerpt(response: Response) -> str:
    text = response.text.strip()
    if not text or response.refused:
        return ""
    short = text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"
    return f"; it answered {short!r}"
