"""Providers: one module per API family, each a thin layer over the official SDK.

A model is named ``provider:model``. The provider part selects a named `Endpoint`
(built in: openai, anthropic, xai, gemini, openrouter, vllm, ollama; more can be
declared with a base URL and the NAME of the variable holding the key). The endpoint's
``api`` selects its family in the one table, `spec_pytest.providers.families`: the family
owns the wire format (bodies, answers, usage, estimates, batch API). What a run calls::

    provider = get_provider("openai:gpt-4.1", ProviderSettings(replay=ci))
    response = await provider.respond(scenario.messages, ModelParams(temperature=0))
"""

from __future__ import annotations

from spec_pytest.providers.base import Provider
from spec_pytest.providers.endpoints import BUILTIN_ENDPOINTS, Endpoint, Registry
from spec_pytest.providers.errors import (
    MissingKeyError,
    ProviderError,
    UnknownFamilyError,
    UnknownProviderError,
    UnsupportedParameterError,
)
from spec_pytest.providers.limits import per_worker_limit, worker_count
from spec_pytest.providers.ref import JsonOutput, ModelParams, ModelRef, ProviderSettings

#: The registry a run uses unless it builds its own (tests do, to point at the loopback).
DEFAULT_REGISTRY = Registry()


def get_provider(ref: str | ModelRef, settings: ProviderSettings | None = None) -> Provider:
    """The provider for ``ref`` from the default registry (see `Registry.provider`)."""
    return DEFAULT_REGISTRY.provider(ref, settings)


__all__ = [
    "BUILTIN_ENDPOINTS",
    "DEFAULT_REGISTRY",
    "Endpoint",
    "JsonOutput",
    "MissingKeyError",
    "ModelParams",
    "ModelRef",
    "Provider",
    "ProviderError",
    "ProviderSettings",
    "Registry",
    "UnknownFamilyError",
    "UnknownProviderError",
    "UnsupportedParameterError",
    "get_provider",
    "per_worker_limit",
    "worker_count",
]
