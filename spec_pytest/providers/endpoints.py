"""Named endpoints: which wire format, which base URL, which environment variable holds the key.

The wire format is a provider family, found by the endpoint's ``api`` in the one table
(`spec_pytest.providers.families`); an unknown ``api`` is an error naming the known ones.

The registry stores the NAME of the key's variable, never the key: keys are read from the
environment at the moment a provider is built, so nothing configurable can carry a secret
into a file, a log or a cassette.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from spec_pytest.errors import ConfigError
from spec_pytest.providers.bounds import Bounds
from spec_pytest.providers.errors import UnknownProviderError
from spec_pytest.providers.families import DEFAULT_FAMILY, family
from spec_pytest.providers.limits import EndpointLimit, per_worker_limit, worker_count
from spec_pytest.providers.ref import (
    JSON_SCHEMA,
    STRUCTURED_OUTPUT_MODES,
    TOKEN_PARAMS,
    ModelRef,
    ProviderSettings,
)
from spec_pytest.secrets import SECRET_QUERY_PARAMETERS, key_shape_in, remember_key_env

if TYPE_CHECKING:
    from spec_pytest.providers.base import Provider
    from spec_pytest.providers.family import Family


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One API a model reference's prefix can point at.

    ``max_concurrency`` is the total in-flight budget for the account, across all xdist
    workers. ``developer_role`` says whether the API understands role ``developer``
    (elsewhere it is sent as ``system``); ``max_tokens_field`` is the request field the
    API reads the output limit from (OpenAI's reasoning models reject ``max_tokens``).
    ``timeout_s`` is this endpoint's overall deadline per call, over the run's (`Bounds`).
    ``structured_output`` is how a judge's JSON is asked for (`STRUCTURED_OUTPUT_MODES`):
    many local servers reject a strict ``json_schema``.
    """

    name: str
    api: str  # a provider family's name (`families.FAMILIES`)
    base_url: str
    key_env: str | None
    key_required: bool = True
    max_concurrency: int = 64
    developer_role: bool = False
    max_tokens_field: str = "max_tokens"
    timeout_s: float | None = None
    structured_output: str = JSON_SCHEMA

    def api_key(self, environ: Mapping[str, str]) -> str | None:
        if self.key_env is None:
            return None
        return environ.get(self.key_env) or None

    @property
    def family(self) -> Family:
        """The provider family speaking this endpoint's ``api``; UnknownFamilyError if none does."""
        return family(self.api, endpoint=self.name)


BUILTIN_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "openai",
        "openai-chat",
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
        developer_role=True,
        max_tokens_field="max_completion_tokens",
    ),
    Endpoint("anthropic", "anthropic-messages", "https://api.anthropic.com", "ANTHROPIC_API_KEY"),
    Endpoint("xai", "openai-chat", "https://api.x.ai/v1", "XAI_API_KEY"),
    Endpoint(
        "gemini", "openai-chat", "https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY"
    ),
    Endpoint("openrouter", "openai-chat", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    Endpoint(
        "vllm",
        "openai-chat",
        "http://localhost:8000/v1",
        "VLLM_API_KEY",
        key_required=False,
        max_concurrency=8,
    ),
    Endpoint(
        "ollama", "openai-chat", "http://localhost:11434/v1", None, key_required=False, max_concurrency=4
    ),
)


class Registry:
    """Endpoints by name, and the providers (with their SDK clients) built from them.

    Providers are cached per (model, settings) so that all items of a run share one
    connection pool, and limits per endpoint so that the response model and a judge on the
    same account share one concurrency budget. ``bounds`` (the deadline and answer cap of
    every call) is the run's; set it before the first provider is built.
    """

    def __init__(
        self, endpoints: Iterable[Endpoint] = BUILTIN_ENDPOINTS, environ: Mapping[str, str] | None = None
    ) -> None:
        self.bounds = Bounds()
        self._endpoints = {e.name: e for e in endpoints}
        self._environ = environ
        self._providers: dict[tuple[ModelRef, ProviderSettings], Provider] = {}
        self._limits: dict[str, EndpointLimit] = {}
        self._lock = threading.Lock()

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def register(self, endpoint: Endpoint) -> None:
        """Add or replace an endpoint (replacing a built-in, e.g. to go through a proxy)."""
        remember_key_env(endpoint.key_env)  # every sink scrubs its value from now on
        with self._lock:
            self._endpoints[endpoint.name] = endpoint
            self._limits.pop(endpoint.name, None)
            for key in [k for k in self._providers if k[0].provider == endpoint.name]:
                del self._providers[key]

    def declare(self, name: str, *, base_url: str, key_env: str | None, **options: Any) -> Endpoint:
        """Register an OpenAI-compatible (or other) endpoint from configuration values."""
        if key_env is not None and not key_env.isidentifier():
            raise ConfigError(
                f"endpoint {name!r}: key_env must be the NAME of an environment variable, "
                f"got something that is not one (never put the key itself in configuration)"
            )
        _refuse_key_in_url(name, base_url)
        ModelRef.parse(f"{name}:x")  # the same naming rule as in model references
        if "api" in options:
            family(options["api"], endpoint=name)  # an unknown family fails here, where it is declared
        if key_env is None:
            # A server without a key (llama.cpp, vLLM, Ollama, a local proxy): nothing to ask
            # for, and the SDKs get a placeholder (`base.NO_KEY`), never some other variable's key.
            options.setdefault("key_required", False)
        base = self._endpoints.get(name)
        if base is not None:
            endpoint = replace(base, base_url=base_url, key_env=key_env, **options)
        else:
            endpoint = Endpoint(name, options.pop("api", DEFAULT_FAMILY), base_url, key_env, **options)
        self.register(endpoint)
        return endpoint

    def endpoint(self, name: str) -> Endpoint:
        try:
            return self._endpoints[name]
        except KeyError:
            known = ", ".join(sorted(self._endpoints))
            raise UnknownProviderError(
                f"unknown provider {name!r}: known providers are {known}; declare an "
                f"OpenAI-compatible endpoint with a base URL and the name of its key's variable"
            ) from None

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._endpoints))

    def key_env_vars(self) -> tuple[str, ...]:
        """Every variable that may hold a key: what the cassette scrubber must look for."""
        return tuple(sorted({e.key_env for e in self._endpoints.values() if e.key_env}))

    def limit(self, name: str) -> EndpointLimit:
        with self._lock:
            lim = self._limits.get(name)
            if lim is None:
                total = self.endpoint(name).max_concurrency
                lim = self._limits[name] = EndpointLimit(per_worker_limit(total, worker_count(self.environ)))
            return lim

    def provider(self, ref: str | ModelRef, settings: ProviderSettings | None = None) -> Provider:
        """The provider for a model reference; raises MissingKeyError naming the variable."""
        model = ModelRef.parse(ref) if isinstance(ref, str) else ref
        settings = settings or ProviderSettings()
        key = (model, settings)
        with self._lock:
            cached = self._providers.get(key)
        if cached is not None:
            return cached
        endpoint = self.endpoint(model.provider)
        built = endpoint.family.provider(model, endpoint, settings, self)
        with self._lock:
            return self._providers.setdefault(key, built)

    async def aclose(self) -> None:
        """Close the running loop's async clients of every provider built so far."""
        with self._lock:
            providers = list(self._providers.values())
        for provider in providers:
            closing = getattr(provider, "aclose", None)
            if closing is not None:
                await closing()

    def close(self) -> None:
        """Close the clients of every provider built so far."""
        with self._lock:
            providers = list(self._providers.values())
            self._providers.clear()
        for p in providers:
            p.close()


#: The options an endpoint line takes after its key (``NAME URL [KEY_ENV] [OPTION=VALUE ...]``,
#: ``--endpoint NAME=URL[,KEY_ENV][,OPTION=VALUE...]``), as the spec's ``endpoints:`` spells them.
LINE_OPTIONS = ("structured_output", "token_param", "timeout", "max_concurrency", "api")


def endpoint_options(name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """`Endpoint` fields from options as a spec, an ini line or ``--endpoint`` spells them.

    Values may be text (from a line): numbers are converted. Raises ConfigError naming the
    option, the value and what it may be.
    """
    out: dict[str, Any] = {}
    for key, value in given.items():
        if value is None:
            continue
        where = f"endpoint {name!r}: {key}"
        if key == "structured_output":
            out["structured_output"] = _choice(where, value, STRUCTURED_OUTPUT_MODES)
        elif key == "token_param":
            out["max_tokens_field"] = _choice(where, value, TOKEN_PARAMS)
        elif key == "timeout":
            out["timeout_s"] = _number(where, value, float)
        elif key == "max_concurrency":
            out["max_concurrency"] = int(_number(where, value, int))
        elif key == "api":
            out["api"] = str(value)
        else:
            raise ConfigError(f"{where}: unknown endpoint option; known: {', '.join(LINE_OPTIONS)}")
    return out


def parse_endpoint_line(line: str) -> tuple[str, str, str | None, dict[str, str]]:
    """``NAME BASE_URL [KEY_ENV] [OPTION=VALUE ...]`` (an ini ``spec_endpoints`` line) as its
    name, URL, key variable and options; ConfigError when it is not one, or an option is bad."""
    parts = line.split()
    options = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
    keys = [p for p in parts[2:] if "=" not in p]
    if len(parts) < 2 or len(keys) > 1 or "=" in parts[1]:
        raise ConfigError(
            f"spec_endpoints line {line!r}: expected NAME BASE_URL [KEY_ENV] [OPTION=VALUE ...] "
            f"(options: {', '.join(LINE_OPTIONS)})"
        )
    endpoint_options(parts[0], options)  # a bad option fails here, before anything runs
    return parts[0], parts[1], keys[0] if keys else None, options


def _choice(where: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _number(where: str, value: object, kind: type[float] | type[int]) -> float:
    number: float = 0
    if isinstance(value, (str, int, float)):
        with contextlib.suppress(ValueError):
            number = kind(value)
    if isinstance(value, bool) or not 0 < number < float("inf"):
        raise ConfigError(f"{where} must be a number above 0, got {value!r}")
    return number


def _refuse_key_in_url(name: str, base_url: str) -> None:
    """A base URL holding a key (``?api-key=…``, ``?token=ghp_…``, ``sk-…`` anywhere) is refused:
    a URL is printed in headers, errors and logs. The message does not repeat the URL."""
    query = urlsplit(base_url).query
    pairs = parse_qsl(query, keep_blank_values=True)
    keyed = [k for k, v in pairs if k.lower() in SECRET_QUERY_PARAMETERS and v]
    if keyed or key_shape_in(base_url):
        where = f"its query parameter {keyed[0]!r}" if keyed else "it"
        raise ConfigError(
            f"endpoint {name!r}: the base URL looks like it carries an API key ({where}); keys are "
            f"never read from configuration: remove it and put the key in the environment "
            f"variable the endpoint's key_env names"
        )
