"""Errors a provider raises, each one saying what went wrong and what to do about it.

They become ERROR outcomes in the plugin, so the message is what a user reads in CI:
it names the model, the provider's own words, and (for keys) the variable to set.
"""

from __future__ import annotations

from spec_pytest.errors import ConfigError, RunError


class ProviderError(RunError):
    """The API did not give a usable answer (after the SDK's own retries).

    ``provider_message`` is the API's error text, verbatim but with known secrets removed;
    ``status_code`` is ``None`` for failures without an HTTP answer (timeouts, refused
    connections, malformed bodies).
    """

    def __init__(
        self,
        model_ref: str,
        summary: str,
        *,
        provider_message: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.model_ref = model_ref
        self.summary = summary
        self.provider_message = provider_message
        self.status_code = status_code
        self.request_id = request_id
        parts = [f"{model_ref}: {summary}"]
        if provider_message:
            parts.append(f"provider said: {provider_message}")
        if request_id:
            parts.append(f"request id: {request_id}")
        super().__init__("\n  ".join(parts))


class MissingKeyError(ConfigError, ProviderError):
    """The key's environment variable is unset or empty; the message names the variable."""

    def __init__(self, model_ref: str, env_var: str) -> None:
        self.env_var = env_var
        super().__init__(
            model_ref,
            f"no API key: set the environment variable {env_var} (replaying recorded cassettes needs no key)",
        )


class UnknownProviderError(ConfigError):
    """A model reference names a provider that is neither built in nor declared."""


class UnknownFamilyError(UnknownProviderError):
    """An endpoint names an ``api`` that no provider family in the table speaks."""


class UnsupportedParameterError(ConfigError):
    """A per-model parameter the API family has no equivalent for (never silently dropped)."""
