"""Anthropic Messages through the official ``anthropic`` SDK.

System and developer messages become the top-level ``system`` text (the Messages API has
no such roles). ``max_tokens`` is required by the API, so a default is sent when the spec
gives none. Like Chat Completions here, no streaming (see `openai_chat`); because the
client timeout is always explicit, the SDK's "streaming required" guard for long
non-streaming calls does not fire, and the timeout is what bounds such a call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from spec_pytest.core.response import Ending, Response, Usage
from spec_pytest.providers.base import (
    HttpClients,
    Provider,
    SdkProvider,
    Sent,
    split_system,
    with_schema_in_prompt,
)
from spec_pytest.providers.errors import UnsupportedParameterError
from spec_pytest.providers.family import (
    PLAIN_JUDGE_PARAMS,
    AnswerUsage,
    message_texts,
    positive_int,
    text_tokens,
)
from spec_pytest.providers.ref import (
    JSON_OBJECT,
    PROMPTED,
    JsonOutput,
    ModelParams,
    ModelRef,
    ProviderSettings,
)
from spec_pytest.spec.model import Message

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message as WireMessage

    from spec_pytest.providers.batch import BatchApi
    from spec_pytest.providers.endpoints import Endpoint, Registry

#: Sent when the spec sets no max_tokens: the API requires one.
DEFAULT_MAX_TOKENS = 4096


class AnthropicMessages(SdkProvider["anthropic.Anthropic", "anthropic.AsyncAnthropic"]):
    shape = "Messages"
    answer_fields = ("content",)

    @property
    def sdk(self) -> Any:
        import anthropic  # deferred: the SDK takes ~1.5 s to import, the family table must not pay it

        return anthropic

    def _new_sync_client(self, options: dict[str, Any]) -> anthropic.Anthropic:
        return self.sdk.Anthropic(**options)

    def _new_async_client(self, options: dict[str, Any]) -> anthropic.AsyncAnthropic:
        return self.sdk.AsyncAnthropic(**options)

    def request_body(
        self, messages: Sequence[Message], params: ModelParams, output: JsonOutput | None = None
    ) -> dict[str, Any]:
        if params.seed is not None:
            raise UnsupportedParameterError(f"{self.ref}: the Messages API has no seed; remove `seed`")
        mode = self.endpoint.structured_output
        if output is not None and mode == JSON_OBJECT:
            raise UnsupportedParameterError(
                f"{self.ref}: the Messages API has no JSON mode; declare endpoint "
                f"{self.endpoint.name!r} with structured_output json_schema or none"
            )
        if output is not None and mode == PROMPTED:
            messages, output = with_schema_in_prompt(messages, output), None
        system, rest = split_system(messages, params)
        body: dict[str, Any] = {
            "model": self.ref.model,
            "max_tokens": params.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": [{"role": m.role, "content": m.content} for m in rest],
        }
        if system:
            body["system"] = "\n\n".join(system)
            cached = [m.content for m in messages if m.cache and m.role in ("system", "developer")]
            if cached:  # prompt caching: the long shared prefix as its own block, cached
                body["system"] = [_system_block(text, text in cached) for text in system]
        if params.thinking_budget is not None:
            body["thinking"] = {"type": "enabled", "budget_tokens": params.thinking_budget}
        output_config: dict[str, Any] = {}
        if params.reasoning_effort is not None:
            output_config["effort"] = params.reasoning_effort
        if output is not None:
            # Structured outputs: the answer arrives as one text block holding the JSON.
            output_config["format"] = {"type": "json_schema", "schema": dict(output.schema)}
        if output_config:
            body["output_config"] = output_config
        # This SDK has no typed sampling arguments any more; the API fields still exist for
        # the models that take them, so they travel as extra body fields.
        sampling = {"temperature": params.temperature, "top_p": params.top_p}
        extra = {k: v for k, v in sampling.items() if v is not None} | dict(params.extra_body)
        if extra:
            body["extra_body"] = extra
        return body

    def _send_sync(self, client: anthropic.Anthropic, body: dict[str, Any]) -> Sent:
        raw = client.messages.with_raw_response.create(**body)
        return raw.parse(), raw.headers

    async def _send_async(self, client: anthropic.AsyncAnthropic, body: dict[str, Any]) -> Sent:
        raw = await client.messages.with_raw_response.create(**body)
        return await raw.parse(), raw.headers

    def _parse(self, raw: WireMessage, latency_s: float) -> Response:
        text = answer_text([(block.type, getattr(block, "text", "")) for block in raw.content])
        return Response(
            text=text,
            model=raw.model,
            finish_reason=raw.stop_reason,
            usage=Usage(input_tokens=raw.usage.input_tokens, output_tokens=raw.usage.output_tokens),
            latency_s=latency_s,
            refused=raw.stop_reason == "refusal",
            request_id=getattr(raw, "_request_id", None),
            model_ref=str(self.ref),
            ending=messages_ending(raw.stop_reason, text),
        )


def answer_text(blocks: Sequence[tuple[str, str]]) -> str:
    """The text of an answer's content blocks, given as (type, text) in order.

    Consecutive text blocks are pieces of one passage (the API splits a passage where a
    citation starts or ends, each piece keeping its own spaces): they are concatenated, as
    the SDK's own helper does (``get_final_text``: ``"".join`` of the text blocks). Text
    blocks that another block stands between (thinking, a tool call, a tool result) are
    separate passages: they are set apart by a blank line, where concatenation would glue
    "...for you." to "The capital..." (the TypeScript SDK's ``finalText`` joins every text
    block with a space instead, which doubles the spaces of cited pieces).
    """
    passages: list[list[str]] = [[]]
    for kind, text in blocks:
        if kind == "text":
            passages[-1].append(text)
        elif passages[-1]:
            passages.append([])
    return "\n\n".join("".join(pieces) for pieces in passages if pieces)


def messages_ending(stop_reason: str | None, text: str) -> Ending:
    """Why a Messages answer ended: ``refusal`` (the content often ``[]``) is the API's
    refusal; ``max_tokens`` / ``model_context_window_exceeded`` the output limit, which
    extended thinking can reach with no text block at all."""
    if stop_reason == "refusal":
        return Ending.REFUSAL
    if stop_reason in ("max_tokens", "model_context_window_exceeded"):
        return Ending.LENGTH
    return Ending.STOP if text.strip() else Ending.EMPTY


def _system_block(text: str, cache: bool) -> dict[str, Any]:
    """One ``system`` text block; a cached one carries ``cache_control`` (5-minute ephemeral)."""
    block: dict[str, Any] = {"type": "text", "text": text}
    if cache:
        block["cache_control"] = {"type": "ephemeral"}
    return block


class AnthropicMessagesFamily:
    """``anthropic-messages``: Messages bodies.

    Text travels in the top-level ``system`` and in ``messages``, the output limit in
    ``max_tokens`` (always set: the API requires it), the schema in ``output_config``; an
    answer reports ``usage.input_tokens``/``output_tokens``.
    """

    name = "anthropic-messages"

    def provider(
        self,
        ref: ModelRef,
        endpoint: Endpoint,
        settings: ProviderSettings,
        registry: Registry,
        *,
        http: HttpClients | None = None,
    ) -> Provider:
        return AnthropicMessages(ref, endpoint, settings, registry, http=http)

    def answer_usage(self, body: Mapping[str, Any]) -> AnswerUsage | None:
        usage = body.get("usage")
        if not isinstance(usage, Mapping) or not {"input_tokens", "output_tokens"} & usage.keys():
            return None
        spent = Usage(input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens"))
        return AnswerUsage(str(body.get("model", "")), spent)

    def input_tokens(self, body: Mapping[str, Any]) -> int:
        system = body.get("system")
        parts = [system] if isinstance(system, str) else []
        if isinstance(system, list):  # text blocks (a cached prefix)
            parts += [b.get("text", "") for b in system if isinstance(b, Mapping)]
        parts += message_texts(body.get("messages"))
        if "output_config" in body:
            parts.append(json.dumps(body["output_config"]))
        return text_tokens("\n".join(parts))

    def output_limit(self, body: Mapping[str, Any]) -> int | None:
        return positive_int(body, "max_tokens")

    def output_limit_field(self, endpoint: Endpoint) -> str:
        return "max_tokens"

    def batch_api(self, endpoint: Endpoint, client_options: Mapping[str, Any]) -> BatchApi:
        from spec_pytest.providers.anthropic_batch import AnthropicBatches  # deferred: imports the SDK

        return AnthropicBatches.connect(endpoint, client_options)

    def judge_params(self, model: str, given: Mapping[str, Any]) -> dict[str, Any]:
        budget = given.get("thinking_budget")
        if isinstance(budget, int) and budget > 0:
            # Extended thinking takes no modified temperature, and its budget counts against
            # max_tokens: leave the ruling its paragraph on top of the thinking.
            return {"max_tokens": budget + int(PLAIN_JUDGE_PARAMS["max_tokens"])}
        return dict(PLAIN_JUDGE_PARAMS)


ANTHROPIC_MESSAGES = AnthropicMessagesFamily()
