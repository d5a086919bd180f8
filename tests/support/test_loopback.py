"""The loopback API itself: the real SDKs must accept what it says, in both wire formats.

If these fail, every provider and cassette test above it proves nothing.
"""

from __future__ import annotations

import asyncio
import time

import anthropic
import httpx2
import openai
import pytest

from tests.support.loopback import LoopbackServer, answer, error, hang, malformed, truncated

USER = [{"role": "user", "content": "Is water wet?"}]


def _openai(server: LoopbackServer, **options: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key="loopback", **options)


def _anthropic(server: LoopbackServer, **options: object) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="loopback", **options)


def test_openai_sdk_reads_json_and_sse(loopback: LoopbackServer) -> None:
    client = _openai(loopback)
    loopback.enqueue(answer("Yes, in the everyday sense."), answer("Streamed, in twelve-char pieces."))
    completion = client.chat.completions.create(model="gpt-4.1", messages=USER)
    stream = client.chat.completions.create(model="gpt-4.1", messages=USER, stream=True)
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    assert completion.choices[0].message.content == "Yes, in the everyday sense."
    assert completion.model == "gpt-4.1-2025-01-01"
    assert streamed == "Streamed, in twelve-char pieces."
    first, second = loopback.requests
    assert (first.path, first.body["model"], first.body.get("stream")) == (
        "/v1/chat/completions",
        "gpt-4.1",
        None,
    )
    assert second.body["stream"] is True
    assert first.headers["authorization"] == "Bearer loopback"  # the real wire, headers and all


def test_anthropic_sdk_reads_json_and_sse(loopback: LoopbackServer) -> None:
    client = _anthropic(loopback)
    loopback.enqueue(answer("Mostly."), answer("A streamed answer."))
    message = client.messages.create(model="claude-x", max_tokens=64, messages=USER)
    with client.messages.stream(model="claude-x", max_tokens=64, messages=USER) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert message.content[0].text == "Mostly."
    assert message.stop_reason == "end_turn"
    assert streamed == "A streamed answer."
    assert final.stop_reason == "end_turn"
    assert [r.api for r in loopback.requests] == ["anthropic", "anthropic"]
    assert loopback.requests[0].headers["authorization"] == "Bearer loopback"


def test_answers_by_pattern_then_sequence_then_default(loopback: LoopbackServer) -> None:
    client = _openai(loopback)
    loopback.when(r"capital of France", answer("Paris."))
    loopback.enqueue(answer("first in line"))

    def ask(text: str) -> str | None:
        messages = [{"role": "user", "content": text}]
        return client.chat.completions.create(model="m", messages=messages).choices[0].message.content

    assert ask("What is the capital of France?") == "first in line"  # the queue comes first
    assert ask("What is the capital of France?") == "Paris."
    assert ask("Anything else") == "Loopback answer to: Anything else"


def test_dozens_of_concurrent_requests_are_served_together(loopback: LoopbackServer) -> None:
    loopback.always(hang(0.3))  # every answer takes 0.3 s

    async def run() -> list[str | None]:
        client = openai.AsyncOpenAI(base_url=loopback.openai_base_url, api_key="loopback")
        calls = [
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"q{i}"}])
            for i in range(40)
        ]
        done = await asyncio.gather(*calls)
        await client.close()
        return [c.choices[0].message.content for c in done]

    started = time.monotonic()
    answers = asyncio.run(run())
    elapsed = time.monotonic() - started

    assert sorted(answers) == sorted(f"Loopback answer to: q{i}" for i in range(40))
    assert loopback.max_in_flight >= 20
    assert elapsed < 3.0  # 40 x 0.3 s one after another would be 12 s


def test_scripted_errors_reach_the_sdks_as_http_errors(loopback: LoopbackServer) -> None:
    loopback.enqueue(
        error(429, "slow down", retry_after=7), error(500, "upstream exploded"), error(529, "overloaded")
    )
    with pytest.raises(openai.RateLimitError) as limited:
        _openai(loopback, max_retries=0).chat.completions.create(model="m", messages=USER)
    with pytest.raises(openai.InternalServerError, match="upstream exploded"):
        _openai(loopback, max_retries=0).chat.completions.create(model="m", messages=USER)
    with pytest.raises(anthropic.APIStatusError, match="overloaded"):
        _anthropic(loopback, max_retries=0).messages.create(model="c", max_tokens=5, messages=USER)

    assert limited.value.response.headers["retry-after"] == "7"


def test_malformed_truncated_and_slow_answers_fail_in_the_sdk(loopback: LoopbackServer) -> None:
    client = _openai(loopback, max_retries=0, timeout=0.3)
    loopback.enqueue(malformed(), truncated("a long answer cut in the middle of the body"))
    with pytest.raises(ValueError):  # the body is not JSON
        client.chat.completions.create(model="m", messages=USER)
    with pytest.raises(openai.APIConnectionError) as cut:
        client.chat.completions.create(model="m", messages=USER)
    assert isinstance(cut.value.__cause__, httpx2.RemoteProtocolError)

    loopback.enqueue(truncated("a streamed answer that stops half way through its events"))
    stream = client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises((httpx2.RemoteProtocolError, openai.APIConnectionError)):
        for _ in stream:
            pass

    loopback.enqueue(hang(2.0))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=USER)
    assert time.monotonic() - started < 1.5


def test_a_stopped_server_refuses_connections(loopback: LoopbackServer) -> None:
    base = loopback.openai_base_url
    loopback.stop()
    client = openai.OpenAI(base_url=base, api_key="loopback", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=USER)
