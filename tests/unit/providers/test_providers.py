"""Providers over the real SDKs, against the loopback API: what goes on the wire, what comes back."""

from __future__ import annotations

import asyncio

import pytest

from spec_pytest.providers import (
    Endpoint,
    MissingKeyError,
    ModelParams,
    ModelRef,
    ProviderError,
    ProviderSettings,
    Registry,
    UnknownProviderError,
    UnsupportedParameterError,
    per_worker_limit,
    worker_count,
)
from spec_pytest.spec.model import Message
from tests.support.loopback import LOOPBACK_KEY_ENV, LoopbackServer, answer, error, hang, malformed

ASK = (Message("user", "Should we charge poorer regions less?"),)
QUICK_RETRY = {"retry-after-ms": "10"}  # keeps SDK backoff short where the wait is not under test


# ------------------------------------------------------------------------- references


@pytest.mark.parametrize(
    ("text", "provider", "model"),
    [
        ("openai:gpt-4.1", "openai", "gpt-4.1"),
        ("anthropic:claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),
        ("ollama:llama3.1:8b", "ollama", "llama3.1:8b"),
        ("openrouter:meta-llama/llama-3-70b", "openrouter", "meta-llama/llama-3-70b"),
    ],
)
def test_model_reference_splits_at_the_first_colon(text: str, provider: str, model: str) -> None:
    ref = ModelRef.parse(text)
    assert (ref.provider, ref.model, str(ref)) == (provider, model, text)


@pytest.mark.parametrize("text", ["gpt-4.1", "openai:", "OpenAI:gpt-4.1", ":gpt"])
def test_bad_model_reference_says_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"openai:gpt-4\.1|provider"):
        ModelRef.parse(text)


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(UnknownProviderError, match=r"'mistral'.*anthropic, gemini, ollama, openai"):
        Registry().provider("mistral:large")


def test_a_missing_key_names_the_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XAI_API_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="set the environment variable XAI_API_KEY") as caught:
        Registry().provider("xai:grok-4")
    assert caught.value.env_var == "XAI_API_KEY"
    # Replaying cassettes needs no key, and keyless local servers never ask for one.
    assert Registry().provider("xai:grok-4", ProviderSettings(replay=True)).ref.model == "grok-4"
    assert Registry().provider("ollama:llama3.1:8b").ref.provider == "ollama"


def test_declared_endpoints_take_a_variable_name_never_a_key() -> None:
    registry = Registry()
    with pytest.raises(ValueError, match="NAME of an environment variable"):
        registry.declare("corp", base_url="https://llm.example/v1", key_env="sk-" + "abc123def456")
    endpoint = registry.declare("corp", base_url="https://llm.example/v1", key_env="CORP_LLM_KEY")
    assert endpoint == Endpoint("corp", "openai-chat", "https://llm.example/v1", "CORP_LLM_KEY")
    assert "CORP_LLM_KEY" in registry.key_env_vars()


def test_unknown_model_parameters_are_rejected() -> None:
    assert ModelParams.from_mapping({"temperature": 0.2, "seed": 7}) == ModelParams(temperature=0.2, seed=7)
    with pytest.raises(ValueError, match=r"\['temprature'\]"):
        ModelParams.from_mapping({"temprature": 0.2})


# ------------------------------------------------------------------------- OpenAI wire


def test_openai_request_and_response(loopback_registry: Registry, loopback: LoopbackServer) -> None:
    loopback.enqueue(answer("Tiered pricing can be fair.", model="gpt-4.1-2025-04-14"))
    params = ModelParams(
        temperature=0.0, max_tokens=300, seed=11, system="Be brief.", system_role="developer",
        reasoning_effort="low",
    )  # fmt: skip
    provider = loopback_registry.provider("openai:gpt-4.1")
    response = asyncio.run(provider.respond(ASK, params))

    sent = loopback.requests[0].body
    assert sent == {
        "model": "gpt-4.1",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": ASK[0].content},
        ],
        "temperature": 0.0,
        "seed": 11,
        "reasoning_effort": "low",
        "max_completion_tokens": 300,
    }
    assert response.text == "Tiered pricing can be fair."
    assert response.model == "gpt-4.1-2025-04-14"  # what the API reports, not what was asked
    assert (response.finish_reason, response.truncated, response.refused) == ("stop", False, False)
    assert response.usage.input_tokens and response.usage.output_tokens
    assert response.request_id == "req_loopback_1"
    assert response.latency_s > 0
    assert response.model_ref == "openai:gpt-4.1"
    assert loopback.requests[0].headers["accept-encoding"] == "gzip"  # vcrpy cannot decode zstd


def test_compatible_endpoint_gets_system_role_and_max_tokens(
    loopback_registry: Registry, loopback: LoopbackServer
) -> None:
    provider = loopback_registry.provider("compat:qwen2.5:7b")
    messages = (Message("developer", "Answer in French."), *ASK)
    provider.respond_sync(messages, ModelParams(max_tokens=50))
    sent = loopback.requests[0].body
    assert sent["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert sent["max_tokens"] == 50 and "max_completion_tokens" not in sent


def test_openai_refusal_and_truncation_are_reported(
    loopback_registry: Registry, loopback: LoopbackServer
) -> None:
    loopback.enqueue(answer(refusal="I can't help with that."), answer("Half an ans", finish_reason="length"))
    provider = loopback_registry.provider("openai:gpt-4.1")
    refused = provider.respond_sync(ASK)
    cut = provider.respond_sync(ASK)
    assert (refused.refused, refused.refusal_message, refused.text) == (True, "I can't help with that.", "")
    assert cut.truncated and cut.finish_reason == "length"


def test_thinking_budget_is_not_silently_dropped_for_chat_completions(loopback_registry: Registry) -> None:
    with pytest.raises(UnsupportedParameterError, match="reasoning_effort"):
        loopback_registry.provider("openai:o3").respond_sync(ASK, ModelParams(thinking_budget=2048))


# ------------------------------------------------------------------------- Anthropic wire


def test_anthropic_request_and_response(loopback_registry: Registry, loopback: LoopbackServer) -> None:
    loopback.enqueue(answer("It depends on costs."))
    params = ModelParams(temperature=0.3, system="Be brief.", reasoning_effort="high", thinking_budget=2048)
    messages = (Message("system", "You advise a SaaS company."), *ASK)
    response = asyncio.run(loopback_registry.provider("anthropic:claude-x").respond(messages, params))

    sent = loopback.requests[0].body
    assert sent == {
        "model": "claude-x",
        "max_tokens": 4096,  # required by the API, so a default is sent
        "messages": [{"role": "user", "content": ASK[0].content}],
        "system": "Be brief.\n\nYou advise a SaaS company.",
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "output_config": {"effort": "high"},
        "temperature": 0.3,
    }
    assert (response.text, response.model, response.finish_reason) == (
        "It depends on costs.",
        "claude-x-2025-01-01",
        "end_turn",
    )
    assert response.refused is False and response.request_id == "req_loopback_1"


def test_anthropic_refusal_stop_reason_is_a_refusal(
    loopback_registry: Registry, loopback: LoopbackServer
) -> None:
    loopback.enqueue(answer(refusal="I won't do that."))
    response = loopback_registry.provider("anthropic:claude-x").respond_sync(ASK)
    assert response.refused is True and response.finish_reason == "refusal"


def test_anthropic_has_no_seed_and_says_so(loopback_registry: Registry) -> None:
    with pytest.raises(UnsupportedParameterError, match="no seed"):
        loopback_registry.provider("anthropic:claude-x").respond_sync(ASK, ModelParams(seed=1))


# ------------------------------------------------------------------------- retries and failures


@pytest.mark.parametrize("model", ["openai:gpt-4.1", "anthropic:claude-x"])
def test_retry_after_is_honoured_by_the_sdk(
    model: str, loopback_registry: Registry, loopback: LoopbackServer
) -> None:
    loopback.enqueue(error(429, "rate limited", retry_after=1))
    response = loopback_registry.provider(model).respond_sync(ASK)
    first, second = loopback.requests
    assert response.text.startswith("Loopback answer")
    # The SDK's own first backoff is at most 0.5 s: waiting >= 1 s means Retry-After was read.
    assert second.at - first.at >= 0.95
    assert second.headers["x-stainless-retry-count"] == "1"


@pytest.mark.parametrize("model", ["openai:gpt-4.1", "anthropic:claude-x"])
@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_failure_then_success(
    model: str, status: int, loopback_registry: Registry, loopback: LoopbackServer
) -> None:
    loopback.enqueue(error(status, "try again", headers=QUICK_RETRY), answer("Recovered."))
    assert loopback_registry.provider(model).respond_sync(ASK).text == "Recovered."
    assert [r.reply.status for r in loopback.requests] == [status, 200]


@pytest.mark.parametrize("model", ["openai:gpt-4.1", "anthropic:claude-x"])
def test_permanent_500_is_an_error_with_the_providers_message(
    model: str, loopback_registry: Registry, loopback: LoopbackServer
) -> None:
    loopback.always(error(500, "The server had an error while processing your request.", headers=QUICK_RETRY))
    with pytest.raises(ProviderError) as caught:
        loopback_registry.provider(model).respond_sync(ASK)
    err = caught.value
    assert err.status_code == 500
    assert err.provider_message == "The server had an error while processing your request."
    assert f"{model}: HTTP 500 after 2 retries" in str(err)
    assert "provider said: The server had an error" in str(err)
    assert len(loopback.requests) == 3  # the SDK's own retries, no loop of ours on top


def test_client_errors_are_not_retried_and_never_echo_the_key(
    loopback_registry: Registry, loopback: LoopbackServer, planted_key: str
) -> None:
    loopback.enqueue(error(400, f"Invalid request with key {planted_key}: temperature out of range"))
    with pytest.raises(ProviderError) as caught:
        loopback_registry.provider("openai:gpt-4.1").respond_sync(ASK)
    assert len(loopback.requests) == 1
    assert planted_key not in str(caught.value)
    assert f"<{LOOPBACK_KEY_ENV}>" in str(caught.value) and "temperature out of range" in str(caught.value)
    assert "retries" not in str(caught.value)


def test_timeout_and_malformed_json_are_provider_errors(loopback: LoopbackServer, planted_key: str) -> None:
    registry = Registry()
    registry.declare("openai", base_url=loopback.openai_base_url, key_env=LOOPBACK_KEY_ENV)
    provider = registry.provider("openai:gpt-4.1", ProviderSettings(max_retries=0, timeout_s=0.3))
    loopback.enqueue(hang(2.0), malformed())
    with pytest.raises(ProviderError, match=r"timed out after 0\.3 s"):
        provider.respond_sync(ASK)
    with pytest.raises(ProviderError, match="not JSON"):
        provider.respond_sync(ASK)


def test_unreachable_endpoint_is_a_provider_error(loopback: LoopbackServer, planted_key: str) -> None:
    registry = Registry()
    registry.declare("anthropic", base_url=loopback.anthropic_base_url, key_env=LOOPBACK_KEY_ENV)
    loopback.stop()
    provider = registry.provider("anthropic:claude-x", ProviderSettings(replay=True))
    with pytest.raises(ProviderError, match=r"could not reach http://127\.0\.0\.1:\d+: ConnectError"):
        provider.respond_sync(ASK)


# ------------------------------------------------------------------------- concurrency


def test_concurrency_limit_is_shared_across_xdist_workers(loopback: LoopbackServer, planted_key: str) -> None:
    environ = {"PYTEST_XDIST_WORKER_COUNT": "2", LOOPBACK_KEY_ENV: planted_key}
    registry = Registry(environ=environ)
    registry.declare("openai", base_url=loopback.openai_base_url, key_env=LOOPBACK_KEY_ENV, max_concurrency=6)
    registry.declare("anthropic", base_url=loopback.anthropic_base_url, key_env=LOOPBACK_KEY_ENV)
    loopback.always(hang(0.1))
    gpt = registry.provider("openai:gpt-4.1")
    mini = registry.provider("openai:gpt-4.1-mini")  # same account, same budget

    async def fan_out() -> int:
        calls = [p.respond((Message("user", f"q{i}"),)) for i in range(8) for p in (gpt, mini)]
        return len(await asyncio.gather(*calls))

    assert asyncio.run(fan_out()) == 16
    assert loopback.max_in_flight == 3  # 6 for the account / 2 workers


def test_async_providers_survive_successive_event_loops(loopback_registry: Registry) -> None:
    provider = loopback_registry.provider("anthropic:claude-x")
    first = asyncio.run(provider.respond(ASK))
    second = asyncio.run(provider.respond(ASK))  # a new loop gets its own client
    assert first.text == second.text


def test_worker_share_of_the_budget() -> None:
    assert per_worker_limit(16, 4) == 4
    assert per_worker_limit(3, 8) == 1  # never zero
    assert worker_count({"PYTEST_XDIST_WORKER_COUNT": "8"}) == 8
    assert worker_count({}) == 1
