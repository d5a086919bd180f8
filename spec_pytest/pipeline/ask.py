"""Asking a case's model its scenario, through the case's own cassette.

What an item needs to get a `Response`: the cassette path built from ids (so it survives
reordering), the provider for the model (replay-only when the cassette will replay, so no
key is needed and a miss fails fast), the request parameters (command line over the spec's
`models:` over `defaults.params`), and a hint naming the command that re-records just this
case when its cassette is missing or stale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_pytest.core.case import Case
from spec_pytest.core.response import Response
from spec_pytest.errors import ConfigError
from spec_pytest.providers import ModelParams, ProviderSettings, Registry
from spec_pytest.recording.cassettes import RecordMode, cassette_path, use_cassette, will_replay
from spec_pytest.spec.model import Spec


@dataclass
class AskSettings:
    """How a run reaches models: where cassettes live, the record mode, the endpoints."""

    cassette_dir: Path
    record_mode: RecordMode
    registry: Registry
    params: Mapping[str, Any] = field(default_factory=dict)  # from the command line, over the spec's
    rerecord_hint: Callable[[Case], str] = lambda case: "re-run this item with --record-mode=rewrite"


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
    return cassette_path(settings.cassette_dir, case.spec.id, case.model, case.scenario.id, case.sample)


def params_for(settings: AskSettings, case: Case) -> ModelParams:
    return ModelParams.from_mapping({**case.spec.params_for(case.model), **settings.params})


def ask(settings: AskSettings, case: Case) -> tuple[Response, Path]:
    """The model's answer to the case's scenario, and the cassette it went through.

    Raises MissingCassetteError / StaleCassetteError (cassettes), MissingKeyError and
    ProviderError (providers); each message names the file or variable and the fix.
    """
    path = model_cassette(settings, case)
    replay = will_replay(path, settings.record_mode)
    params = params_for(settings, case)
    provider = settings.registry.provider(case.model, ProviderSettings(replay=replay))
    with use_cassette(
        path,
        settings.record_mode,
        rerecord_hint=settings.rerecord_hint(case),
        secret_env_vars=settings.registry.key_env_vars(),
    ):
        response = provider.respond_sync(case.scenario.messages, params)
    return response, path


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
            options: dict[str, Any] = {}
            if decl.api is not None:
                options["api"] = decl.api
            if decl.max_concurrency is not None:
                options["max_concurrency"] = decl.max_concurrency
            registry.declare(decl.name, base_url=decl.base_url, key_env=decl.key_env, **options)
    for line in extra:
        parts = line.split()
        if len(parts) not in (2, 3):
            raise ConfigError(f"spec_endpoints line {line!r}: expected NAME BASE_URL [KEY_ENV]")
        registry.declare(parts[0], base_url=parts[1], key_env=parts[2] if len(parts) == 3 else None)
