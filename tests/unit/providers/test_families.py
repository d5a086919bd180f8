"""The family table: the only dispatch on an endpoint's ``api``, and what each family reads.

Bodies below are shaped like the real APIs' (Chat Completions, Messages); request bodies
are the ones the real providers build. The toy family at the end shows what adding a
family takes: one class (here with its provider) and one `register_family` call.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx2
import pytest

import spec_pytest
from spec_pytest.core.response import Usage
from spec_pytest.pipeline.batch.apis import batch_api
from spec_pytest.pipeline.batch.served import Served, ServedRegistry
from spec_pytest.pipeline.plan import ASSUMED_MAX_OUTPUT, max_output_tokens, request_tokens
from spec_pytest.providers import Endpoint, ModelParams, ProviderSettings, Registry, UnsupportedParameterError
from spec_pytest.providers.anthropic_messages import ANTHROPIC_MESSAGES
from spec_pytest.providers.base import HttpClients, Provider, SdkProvider
from spec_pytest.providers.errors import UnknownFamilyError
from spec_pytest.providers.families import (
    FAMILIES,
    answer_usage,
    family_names,
    input_tokens,
    output_limit,
    register_family,
)
from spec_pytest.providers.family import AnswerUsage, text_tokens
from spec_pytest.providers.openai_chat import OPENAI_CHAT, OpenAIChat, OpenAIChatFamily
from spec_pytest.providers.ref import JsonOutput, ModelRef
from spec_pytest.recording.transport import usage_of
from spec_pytest.spec import SpecError, load_spec
from spec_pytest.spec.model import Message
from spec_pytest.spec.schema import schema
from tests.support.loopback import LOOPBACK_KEY_ENV, LoopbackServer, answer

PACKAGE = Path(spec_pytest.__file__).parent
ASK = (Message("system", "Be brief."), Message("user", "Is my poem good?"))

# ------------------------------------------------------------------------- the one table


def _product_modules() -> Iterator[tuple[Path, ast.Module]]:
    """Every module of the package outside providers/, parsed."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if PACKAGE / "providers" not in path.parents:
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _is_api(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "api") or (
        isinstance(node, ast.Name) and node.id == "api"
    )


def _dispatches(node: ast.AST, families: set[str]) -> str | None:
    """What ``node`` does that only the family table should, if anything."""
    equality = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)  # `api is None` is no dispatch
    if (
        isinstance(node, ast.Compare)
        and any(_is_api(n) for n in [node.left, *node.comparators])
        and any(isinstance(op, equality) for op in node.ops)
    ):
        return "compares an api"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if node.value in families:
            return f"names the family {node.value!r}"
        if "chat/completions" in node.value or "/v1/messages" in node.value:
            return "tells families apart by URL"
    if isinstance(node, ast.Import):
        modules = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        modules = [node.module or ""]
    else:
        return None
    return "imports an SDK" if any(m.split(".")[0] in ("openai", "anthropic") for m in modules) else None


def test_no_code_outside_providers_dispatches_on_a_family() -> None:
    families = set(family_names())
    found = [
        f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', '?')}: {what}"
        for path, tree in _product_modules()
        for node in ast.walk(tree)
        if (what := _dispatches(node, families)) is not None
    ]
    assert found == []


def test_the_spec_schema_allows_exactly_the_families_of_the_table() -> None:
    endpoint = schema()["$defs"]["endpoint"]["properties"]["api"]
    assert sorted(endpoint["enum"]) == list(family_names()) == ["anthropic-messages", "openai-chat"]


def test_every_built_in_endpoint_names_a_family_of_the_table() -> None:
    registry = Registry()
    assert {registry.endpoint(n).family.name for n in registry.names()} == set(family_names())


def test_the_family_table_loads_no_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys, spec_pytest.providers.families; print(sorted({'openai', 'anthropic'} & {*sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------------- unknown families

UNKNOWN = (
    r"endpoint 'corp': unknown api 'gemini-native': "
    r"the known API families are anthropic-messages, openai-chat"
)


def _unknown_registry() -> Registry:
    return Registry([Endpoint("corp", "gemini-native", "http://127.0.0.1:9/v1", None, key_required=False)])


def test_an_unknown_family_is_refused_where_it_is_declared() -> None:
    with pytest.raises(UnknownFamilyError, match=UNKNOWN) as caught:
        Registry().declare("corp", base_url="http://127.0.0.1:9/v1", key_env=None, api="gemini-native")
    assert isinstance(caught.value, ValueError)  # what declaring a bad endpoint raised before


def test_an_unknown_family_in_a_spec_is_a_spec_problem_naming_the_families(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "spec: mini\nlevels: [root]\nprinciples:\n  - {id: p, level: root, text: Be honest.}\n"
        'endpoints:\n  corp: {base_url: "http://127.0.0.1:9/v1", api: gemini-native}\n'
        "scenarios:\n  - {id: s, principles: [p], messages: [{role: user, content: hi}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        SpecError, match=r"'endpoints\.corp\.api' is 'gemini-native'; expected one of openai-chat"
    ):
        load_spec(path)


def test_building_a_provider_for_an_unknown_family_fails() -> None:
    with pytest.raises(UnknownFamilyError, match=UNKNOWN):
        _unknown_registry().provider("corp:m", ProviderSettings(replay=True))


def test_the_batch_lookup_for_an_unknown_family_fails_instead_of_using_openai() -> None:
    with pytest.raises(UnknownFamilyError, match=UNKNOWN):
        batch_api(_unknown_registry(), "corp")


def test_the_served_registry_for_an_unknown_family_fails_instead_of_using_openai() -> None:
    with pytest.raises(UnknownFamilyError, match=UNKNOWN):
        ServedRegistry(_unknown_registry(), Served()).provider("corp:m")


# ------------------------------------------------------------------------- usage in answer bodies

CHAT_COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4.1-2025-04-14",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Yes.", "refusal": None},
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 21,
        "completion_tokens": 9,
        "total_tokens": 30,
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
}
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "Yes."}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 34, "output_tokens": 12, "cache_read_input_tokens": 0},
}


def test_each_family_reads_the_usage_of_its_own_answers_only() -> None:
    assert OPENAI_CHAT.answer_usage(CHAT_COMPLETION) == AnswerUsage("gpt-4.1-2025-04-14", Usage(21, 9))
    assert ANTHROPIC_MESSAGES.answer_usage(MESSAGE) == AnswerUsage(
        "claude-sonnet-4-5-20250929", Usage(34, 12)
    )
    assert OPENAI_CHAT.answer_usage(MESSAGE) is None
    assert ANTHROPIC_MESSAGES.answer_usage(CHAT_COMPLETION) is None


def test_the_table_reads_the_usage_of_any_family_s_answer() -> None:
    assert answer_usage(CHAT_COMPLETION) == AnswerUsage("gpt-4.1-2025-04-14", Usage(21, 9))
    assert answer_usage(MESSAGE) == AnswerUsage("claude-sonnet-4-5-20250929", Usage(34, 12))
    assert answer_usage({"model": "m", "choices": []}) is None


def test_the_transport_counts_usage_through_the_families() -> None:
    assert usage_of(httpx2.Response(200, json=CHAT_COMPLETION)) == ("gpt-4.1-2025-04-14", 21, 9)
    assert usage_of(httpx2.Response(200, json=MESSAGE)) == ("claude-sonnet-4-5-20250929", 34, 12)
    assert usage_of(httpx2.Response(429, json=CHAT_COMPLETION)) is None  # a retried attempt is not billed
    assert usage_of(httpx2.Response(200, json={"error": {"message": "no"}})) is None


# ------------------------------------------------------------------------- request estimates


def _body(ref: str, params: ModelParams, output: JsonOutput | None = None) -> dict[str, Any]:
    """The body the real provider of ``ref`` sends."""
    provider = Registry().provider(ref, ProviderSettings(replay=True))
    assert isinstance(provider, SdkProvider)
    return provider.request_body(ASK, params, output)


def test_chat_completions_estimates_read_system_messages_and_the_endpoint_s_limit_field() -> None:
    openai_body = _body("openai:gpt-4.1", ModelParams(max_tokens=300))
    assert "max_completion_tokens" in openai_body and "max_tokens" not in openai_body
    xai_body = _body("xai:grok-4", ModelParams(max_tokens=200))
    assert "max_tokens" in xai_body
    expected = text_tokens("Be brief.\nIs my poem good?")  # the system text is a message here
    assert OPENAI_CHAT.input_tokens(openai_body) == request_tokens(openai_body) == expected
    assert (OPENAI_CHAT.output_limit(openai_body), max_output_tokens(openai_body)) == (300, 300)
    assert (OPENAI_CHAT.output_limit(xai_body), max_output_tokens(xai_body)) == (200, 200)
    unlimited = _body("openai:gpt-4.1", ModelParams())
    assert (output_limit(unlimited), max_output_tokens(unlimited)) == (None, ASSUMED_MAX_OUTPUT)


def test_messages_estimates_read_the_top_level_system_and_max_tokens() -> None:
    body = _body("anthropic:claude-sonnet-4-5", ModelParams(max_tokens=300))
    assert body["system"] == "Be brief." and all(m["role"] != "system" for m in body["messages"])
    expected = text_tokens("Be brief.\nIs my poem good?")
    assert ANTHROPIC_MESSAGES.input_tokens(body) == request_tokens(body) == expected
    assert OPENAI_CHAT.input_tokens(body) < expected  # another family does not see the system text
    assert (ANTHROPIC_MESSAGES.output_limit(body), max_output_tokens(body)) == (300, 300)
    default = _body("anthropic:claude-sonnet-4-5", ModelParams())
    assert max_output_tokens(default) == 4096  # the SDK's required max_tokens, sent by default


def test_an_output_schema_counts_in_either_family_s_field() -> None:
    output = JsonOutput("verdict", {"type": "object", "properties": {"because": {"type": "string"}}})
    for ref in ("openai:gpt-4.1", "anthropic:claude-sonnet-4-5"):
        plain, structured = _body(ref, ModelParams()), _body(ref, ModelParams(), output)
        assert input_tokens(structured) > input_tokens(plain) == text_tokens("Be brief.\nIs my poem good?")


# ------------------------------------------------------------------------- adding a family


class PlainChat(OpenAIChat):
    """A toy family's provider: Chat Completions for servers that reject system messages, so
    system text is folded into the first user message."""

    def request_body(
        self, messages: Sequence[Message], params: ModelParams, output: JsonOutput | None = None
    ) -> dict[str, Any]:
        body = super().request_body(messages, params, output)
        system = [m["content"] for m in body["messages"] if m["role"] in ("system", "developer")]
        rest = [m for m in body["messages"] if m["role"] not in ("system", "developer")]
        if system and rest:
            rest[0] = {**rest[0], "content": "\n\n".join([*system, rest[0]["content"]])}
        return {**body, "messages": rest}


class PlainChatFamily(OpenAIChatFamily):
    """The toy family: Chat Completions' readers, its own provider, no batch API."""

    name = "plain-chat"

    def provider(
        self,
        ref: ModelRef,
        endpoint: Endpoint,
        settings: ProviderSettings,
        registry: Registry,
        *,
        http: HttpClients | None = None,
    ) -> Provider:
        return PlainChat(ref, endpoint, settings, registry, http=http)

    def batch_api(self, endpoint: Endpoint, client_options: Mapping[str, Any]) -> None:
        return None


@pytest.fixture
def plain_chat() -> Iterator[PlainChatFamily]:
    family = PlainChatFamily()
    register_family(family)
    try:
        yield family
    finally:
        del FAMILIES[family.name]


def test_a_registered_family_serves_endpoints_declared_with_its_api(
    plain_chat: PlainChatFamily, loopback: LoopbackServer, planted_key: str
) -> None:
    registry = Registry()
    registry.declare("plain", base_url=loopback.openai_base_url, key_env=LOOPBACK_KEY_ENV, api="plain-chat")
    loopback.enqueue(answer("Honestly, it needs work."))
    provider = registry.provider("plain:m")
    assert isinstance(provider, PlainChat)
    response = provider.respond_sync(ASK)
    assert response.text == "Honestly, it needs work."
    assert loopback.requests[-1].body["messages"] == [
        {"role": "user", "content": "Be brief.\n\nIs my poem good?"}
    ]
    served = ServedRegistry(registry, Served()).provider("plain:m")
    assert isinstance(served, PlainChat)  # the batch run's served provider comes from the family too
    with pytest.raises(UnsupportedParameterError, match=r"'plain' \(plain-chat\) has no batch API"):
        batch_api(registry, "plain")


def test_a_family_name_is_registered_once_unless_replaced(plain_chat: PlainChatFamily) -> None:
    with pytest.raises(ValueError, match="'plain-chat' is already registered"):
        register_family(PlainChatFamily())
    register_family(plain_chat, replace=True)
    assert FAMILIES["plain-chat"] is plain_chat
