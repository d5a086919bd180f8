"""Asking a case's model its scenario, through the case's own cassette.

What a case needs to get a `Response`: the cassette path built from ids (so it survives
reordering), the request parameters (command line over the spec's `models:` over
`defaults.params`), and a hint naming the command that re-records just this case when its
cassette is missing or stale. The call itself goes through the run's recorder
(`spec_pytest.recording.recorder.through_cassette`), whichever path drives the run.

An answer with no text is not an answer: `check_answer` makes it an ERROR, naming the
output limit to raise when the limit cut it (`CutOffAnswerError`), or saying the model
returned no text (`NoAnswerError`). An answer the API itself reported as a refusal or a
content filter is an answer, even an empty one: the case pipeline records it as a refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_pytest.core.case import Case
from spec_pytest.core.response import Response
from spec_pytest.errors import ConfigError, RunError
from spec_pytest.judge.judge import TIMEOUT_KEY, check_timeout
from spec_pytest.judge.panel import run_blocking
from spec_pytest.providers import ModelParams, ModelRef, ProviderSettings, Registry
from spec_pytest.providers.base import Provider, SdkProvider
from spec_pytest.providers.endpoints import endpoint_options, parse_endpoint_line
from spec_pytest.recording.cassettes import RecordMode, cassette_path
from spec_pytest.recording.recorder import VCR, Recorder, through_cassette
from spec_pytest.spec.model import Message, Spec


@dataclass
class AskSettings:
    """How a run reaches models: where cassettes live, the record mode, the endpoints."""

    cassette_dir: Path
    record_mode: RecordMode
    registry: Registry
    params: Mapping[str, Any] = field(default_factory=dict)  # from the command line, over the spec's
    rerecord_hint: Callable[[Case], str] = lambda case: "re-run this item with --record-mode=rewrite"
    answers_dir: Path | None = None  # where answers are recorded, if not beside the judges (probes)


def parse_params(items: Iterable[str]) -> dict[str, Any]:
    """`KEY=VALUE` request parameters from the command line; numbers stay numbers (temperature=0).

    Raises ValueError naming the malformed item.
    """
    import yaml

    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--model-param {item!r}: expected KEY=VALUE, e.g. temperature=0")
        try:
            params[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            params[key.strip()] = value
    return params


def model_cassette(settings: AskSettings, case: Case) -> Path:
    root = settings.answers_dir or settings.cassette_dir
    return cassette_path(root, case.spec.id, case.model, case.scenario.id, case.sample)


def params_for(settings: AskSettings, case: Case) -> ModelParams:
    """The request parameters of the case's model: the spec's, then --model-param."""
    return split_timeout(case.model, {**case.spec.params_for(case.model), **settings.params})[0]


def provider_settings_for(settings: AskSettings, case: Case) -> ProviderSettings:
    """How the case's model is called: its ``timeout`` key, when set, is its overall deadline."""
    timeout = split_timeout(case.model, {**case.spec.params_for(case.model), **settings.params})[1]
    return ProviderSettings() if timeout is None else ProviderSettings(timeout_s=timeout, deadline_s=timeout)


def split_timeout(model: str, keys: Mapping[str, Any]) -> tuple[ModelParams, float | None]:
    """A model's keys as request parameters and its ``timeout`` (seconds, None: not set), as a
    judge's are (`spec_pytest.judge.judge.judge_params`). Raises ConfigError."""
    rest = dict(keys)
    timeout = check_timeout(f"model {model}", rest.pop(TIMEOUT_KEY, None))
    return ModelParams.from_mapping(rest), timeout


async def answer(
    settings: AskSettings, case: Case, recorder: Recorder = VCR, *, replay: bool | None = None
) -> Response:
    """The model's answer to the case's scenario, through the case's cassette.

    Raises MissingCassetteError / StaleCassetteError (cassettes), MissingKeyError and
    ProviderError (providers); each message names the file or variable and the fix.
    """
    return await ask_model(
        recorder,
        settings.registry,
        case.model,
        case.scenario.messages,
        params_for(settings, case),
        model_cassette(settings, case),
        settings.record_mode,
        rerecord_hint=settings.rerecord_hint(case),
        replay=replay,
        provider_settings=provider_settings_for(settings, case),
    )


async def ask_model(
    recorder: Recorder,
    registry: Registry,
    model: str,
    messages: Sequence[Message],
    params: ModelParams,
    path: Path,
    mode: RecordMode,
    *,
    rerecord_hint: str | None = None,
    replay: bool | None = None,
    provider_settings: ProviderSettings | None = None,
) -> Response:
    """``model``'s answer to ``messages`` through the cassette at ``path`` (no spec needed)."""

    async def respond(provider: Provider) -> Response:
        return await provider.respond(messages, params)

    return await through_cassette(
        recorder,
        registry,
        model,
        path,
        mode,
        respond,
        stage="answers",
        rerecord_hint=rerecord_hint,
        settings=provider_settings,
        replay=replay,
    )


class NoAnswerError(RunError):
    """The model returned no text and the API reported no refusal: nothing to judge."""


class CutOffAnswerError(NoAnswerError):
    """The output-token limit cut the answer before any text: the limit must be raised."""


def check_answer(settings: AskSettings, case: Case, response: Response) -> None:
    """Raise `CutOffAnswerError` / `NoAnswerError` unless ``response`` can be judged.

    An answer with text, or one the API reported as a refusal (`Response.api_refusal`), can.
    """
    if response.has_text or response.api_refusal is not None:
        return
    path = model_cassette(settings, case)
    spent = _spent(response)
    if response.truncated:
        raise CutOffAnswerError(
            f"{case.model} stopped at its output-token limit before writing any text "
            f"(finish reason {response.finish_reason!r}, {spent}): there is no answer to judge. "
            f"{_raise_limit(settings, case, response)}, then re-record this case "
            f"({settings.rerecord_hint(case)}); cassette: {path}"
        )
    raise NoAnswerError(
        f"{case.model} returned no text (finish reason {response.finish_reason!r}, {spent}) and "
        f"the API reported no refusal: there is no answer to judge. Open the cassette {path} to "
        f"see what it answered; once the model or its parameters are fixed, "
        f"{settings.rerecord_hint(case)}"
    )


def _spent(response: Response) -> str:
    usage = response.usage
    if usage.output_tokens is None:
        return "output tokens not reported"
    reasoning = f", {usage.reasoning_tokens} of them reasoning" if usage.reasoning_tokens else ""
    return f"{usage.output_tokens} output tokens{reasoning}"


def _raise_limit(settings: AskSettings, case: Case, response: Response) -> str:
    """What to raise, as the endpoint's family names its limit field, and by how much."""
    registry = settings.registry
    endpoint = registry.endpoint(ModelRef.parse(case.model).provider)
    field_name = endpoint.family.output_limit_field(endpoint)
    params = params_for(settings, case)
    provider = registry.provider(case.model, ProviderSettings(replay=True))
    body = provider.request_body(case.scenario.messages, params) if isinstance(provider, SdkProvider) else {}
    now = endpoint.family.output_limit(body)
    suggested = 2 * (now or response.usage.output_tokens or 2048)
    sent_as = "" if field_name == "max_tokens" else f", which this endpoint sends as {field_name}"
    current = f" (now {now})" if now else " (none was set: the model's own maximum was reached)"
    return (
        f"Raise its {field_name}{current}: --model-param max_tokens={suggested}{sent_as} "
        f"(or max_tokens in the model's params in the spec)"
    )


def ask(settings: AskSettings, case: Case) -> tuple[Response, Path]:
    """Blocking `answer` through vcrpy, and the cassette it went through (scripts, `plan`)."""
    return run_blocking(answer(settings, case)), model_cassette(settings, case)


def declare_endpoints(registry: Registry, specs: Iterable[Spec], extra: Iterable[str] = ()) -> None:
    """Register the endpoints the specs declare, plus ini lines `NAME BASE_URL [KEY_ENV]`.

    Two specs declaring the same name differently is an error: the cassettes of one would
    silently be replayed against the other's URL.
    """
    seen: dict[str, tuple[str, str | None, str | None]] = {}
    for spec in specs:
        for decl in spec.endpoints.values():
            shape = (decl.base_url, decl.key_env, decl.api)
            if seen.setdefault(decl.name, shape) != shape:
                raise ConfigError(
                    f"endpoint '{decl.name}' is declared differently by two specs ({spec.path})"
                )
            given: dict[str, object] = {
                "api": decl.api,
                "max_concurrency": decl.max_concurrency,
                "timeout": decl.timeout_s,
                "structured_output": decl.structured_output,
                "token_param": decl.token_param,
            }
            options = endpoint_options(decl.name, given)
            registry.declare(decl.name, base_url=decl.base_url, key_env=decl.key_env, **options)
    for line in extra:
        name, url, key_env, line_options = parse_endpoint_line(line)
        registry.declare(name, base_url=url, key_env=key_env, **endpoint_options(name, line_options))
