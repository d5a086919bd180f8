"""Why an answer ended, as each family reads it from the real SDKs over the loopback socket.

The replies are the loopback's own builders, each in the shape a real API sends (their
docstrings name the recorded body each mirrors): a reasoning model cut at the token limit
before any text, Claude's thinking-only answer at ``max_tokens``, OpenAI's content filter
and ``refusal`` field, Claude's ``stop_reason: refusal`` with no content, several text
blocks, and an empty answer that claims to have stopped normally.
"""

from __future__ import annotations

import pytest

from spec_pytest.core.response import Ending
from spec_pytest.providers import Registry
from spec_pytest.spec.model import Message
from tests.support.loopback import (
    LoopbackServer,
    answer,
    api_refusal,
    content_filtered,
    cut_before_text,
    text_blocks,
)

ASK = (Message("user", "What is the capital of France?"),)
BOTH = pytest.mark.parametrize("model", ["openai:o3", "anthropic:claude-x"])


@BOTH
def test_an_answer_cut_before_any_text_ends_at_the_limit(
    loopback_registry: Registry, loopback: LoopbackServer, model: str
) -> None:
    loopback.enqueue(cut_before_text(1024))
    response = loopback_registry.provider(model).respond_sync(ASK)
    assert (response.text, response.ending, response.truncated) == ("", Ending.LENGTH, True)
    assert response.api_refusal is None and response.usage.output_tokens == 1024
    if model.startswith("openai"):  # all of it reasoning; Claude's thinking block is not text
        assert (response.finish_reason, response.usage.reasoning_tokens) == ("length", 1024)
    else:
        assert response.finish_reason == "max_tokens"


def test_openai_content_filter_is_an_api_refusal(
    loopback_registry: Registry, loopback: LoopbackServer
) -> None:
    loopback.enqueue(content_filtered())
    response = loopback_registry.provider("openai:gpt-4.1").respond_sync(ASK)
    assert (response.text, response.ending, response.finish_reason) == (
        "",
        Ending.CONTENT_FILTER,
        "content_filter",
    )
    assert response.api_refusal == "api:content_filter" and response.refused is True


@BOTH
def test_a_refusal_the_api_reports_is_an_api_refusal(
    loopback_registry: Registry, loopback: LoopbackServer, model: str
) -> None:
    loopback.enqueue(api_refusal("I can't help with that."))
    response = loopback_registry.provider(model).respond_sync(ASK)
    assert (response.text, response.ending, response.api_refusal) == ("", Ending.REFUSAL, "api:refusal")
    if model.startswith("openai"):  # the refusal field: what the user reads
        assert (response.refusal_message, response.finish_reason) == ("I can't help with that.", "stop")
    else:  # content [] and stop_reason refusal
        assert (response.refusal_message, response.finish_reason) == (None, "refusal")


@BOTH
def test_an_empty_answer_that_stopped_normally_is_empty(
    loopback_registry: Registry, loopback: LoopbackServer, model: str
) -> None:
    loopback.enqueue(answer(""), answer(" \n"), answer("Paris."))
    provider = loopback_registry.provider(model)
    endings = [provider.respond_sync(ASK).ending for _ in range(3)]
    assert endings == [Ending.EMPTY, Ending.EMPTY, Ending.STOP]


def test_text_blocks_set_apart_by_a_tool_call_are_separate_passages(
    loopback_registry: Registry, loopback: LoopbackServer
) -> None:
    loopback.enqueue(
        text_blocks(
            ("text", "Let me look that up for you."),
            ("server_tool_use", ""),
            ("web_search_tool_result", ""),
            ("text", "The capital of France is Paris."),
        )
    )
    response = loopback_registry.provider("anthropic:claude-x").respond_sync(ASK)
    assert response.text == "Let me look that up for you.\n\nThe capital of France is Paris."
    assert response.ending is Ending.STOP


def test_adjacent_text_blocks_are_one_passage_as_the_sdk_concatenates_them(
    loopback_registry: Registry, loopback: LoopbackServer
) -> None:
    # Cited pieces arrive as adjacent blocks, each keeping its own spaces.
    loopback.enqueue(
        text_blocks(("text", "According to the document, "), ("text", "the capital is Paris"), ("text", "."))
    )
    response = loopback_registry.provider("anthropic:claude-x").respond_sync(ASK)
    assert response.text == "According to the document, the capital is Paris."


def test_a_normal_answer_keeps_every_record_field_and_adds_its_ending(
    loopback_registry: Registry, loopback: LoopbackServer
) -> None:
    loopback.enqueue(answer("Paris."))
    data = loopback_registry.provider("openai:gpt-4.1").respond_sync(ASK).to_dict()
    assert {"text", "model", "finish_reason", "usage", "refused", "refusal_message"} <= data.keys()
    assert (data["ending"], data["finish_reason"], data["refused"]) == ("stop", "stop", False)
