"""What a user writes to pick a model, and the knobs they can turn per model.

``ModelRef`` is the parsed form of ``provider:model`` (``openai:gpt-4.1``,
``anthropic:claude-sonnet-4-5``, ``ollama:llama3.1:8b``): only the first colon separates,
because model names themselves contain colons and slashes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from spec_pytest.errors import ConfigError

_PROVIDER = re.compile(r"[a-z][a-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class ModelRef:
    provider: str
    model: str

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        """``"openai:gpt-4.1"`` → ``ModelRef("openai", "gpt-4.1")``; a bad reference says why."""
        provider, sep, model = text.strip().partition(":")
        if not sep or not model:
            raise ConfigError(
                f"model reference {text!r} needs a provider prefix and a model, "
                f"e.g. 'openai:gpt-4.1' or 'anthropic:claude-sonnet-4-5'"
            )
        if not _PROVIDER.fullmatch(provider):
            raise ConfigError(
                f"model reference {text!r}: provider {provider!r} must be lower-case letters, "
                f"digits, '-' or '_'"
            )
        return cls(provider, model)

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


@dataclass(frozen=True, slots=True)
class ModelParams:
    """Per-model request parameters; ``None`` means "the API's default", never a guess.

    ``system`` is prepended as a system (or, with ``system_role="developer"``, developer)
    message; Anthropic receives it as its top-level ``system`` text. ``reasoning_effort``
    maps to OpenAI's ``reasoning_effort`` and Anthropic's ``output_config.effort``.
    ``extra_body`` passes endpoint-specific fields through unchanged (and so into the
    cassette's request body, where matching sees them).
    """

    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    top_p: float | None = None
    system: str | None = None
    system_role: Literal["system", "developer"] = "system"
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    extra_body: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ModelParams:
        """Build from a config mapping (spec YAML / ini); unknown keys are an error."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown model parameter(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(data))


#: How a JSON answer is asked for (an endpoint's ``structured_output``): the API's strict JSON
#: schema; JSON mode (``response_format: json_object``) with the schema in the prompt; or the
#: schema in the prompt alone. Whatever the mode, the caller validates the answer itself.
JSON_SCHEMA, JSON_OBJECT, PROMPTED = "json_schema", "json_object", "none"
STRUCTURED_OUTPUT_MODES = (JSON_SCHEMA, JSON_OBJECT, PROMPTED)
#: The request fields an output-token limit can travel in (an endpoint's ``token_param``).
TOKEN_PARAMS = ("max_tokens", "max_completion_tokens")


@dataclass(frozen=True, slots=True)
class JsonOutput:
    """Ask for one JSON object that follows ``schema`` (the APIs' structured outputs).

    A request option, not a per-model parameter: the caller (a judge) knows the shape of
    the answer it needs, the model configuration does not. Each API family maps it to its
    own field (OpenAI ``response_format`` with a strict ``json_schema``, Anthropic
    ``output_config.format``); the answer's text is then the JSON, still to be validated
    by the caller, since neither API enforces every constraint a schema can state.
    """

    name: str
    schema: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """How to talk to the API, as opposed to what to ask it.

    ``replay=True`` is for runs that only replay cassettes: the SDK makes no retries (a
    miss must fail fast, not back off) and a missing key is not an error (CI replays
    without secrets). Retries use the SDKs' own backoff, which honours ``Retry-After``.
    """

    max_retries: int = 2
    timeout_s: float = 120.0
    replay: bool = False
    #: A model's or judge's own ``timeout``: the overall deadline of each of its calls, over
    #: the endpoint's and the run's (None: theirs).
    deadline_s: float | None = None

    @property
    def effective_retries(self) -> int:
        return 0 if self.replay else self.max_retries
