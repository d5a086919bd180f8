"""OpenAI Chat Completions through the official ``openai`` SDK.

Serves ``openai:`` and every OpenAI-compatible endpoint (xAI, Gemini's compatibility
layer, OpenRouter, vLLM, Ollama); the endpoint says which dialect details apply.
The product does not stream: a judged answer is needed whole, and recording buffers a
stream anyway, so streaming would buy nothing but a second code path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from spec_pytest.core.response import Ending, Response, Usage
from spec_pytest.providers.base import HttpClients, Provider, SdkProvider, Sent, with_schema_in_prompt
from spec_pytest.providers.errors import ProviderError, UnsupportedParameterError
from spec_pytest.providers.family import (
    PLAIN_JUDGE_PARAMS,
    REASONING_JUDGE_TOKENS,
    AnswerUsage,
    message_texts,
    positive_int,
    text_tokens,
)
from spec_pytest.providers.ref import (
    JSON_OBJECT,
    JSON_SCHEMA,
    JsonOutput,
    ModelParams,
    ModelRef,
    ProviderSettings,
)
from spec_pytest.spec.model import Message

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletion

    from spec_pytest.providers.batch import BatchApi
    from spec_pytest.providers.endpoints import Endpoint, Registry


class OpenAIChat(SdkProvider["openai.OpenAI", "openai.AsyncOpenAI"]):
    shape = "Chat Completions"
    answer_fields = ("choices",)

    @property
    def sdk(self) -> Any:
        import openai  # deferred: the SDK takes ~1 s to import, the family table must not pay it

        return openai

    def _new_sync_client(self, options: dict[str, Any]) -> openai.OpenAI:
        return self.sdk.OpenAI(**options)

    def _new_async_client(self, options: dict[str, Any]) -> openai.AsyncOpenAI:
        return self.sdk.AsyncOpenAI(**options)

    def _role(self, role: str) -> str:
        return "system" if role == "developer" and not self.endpoint.developer_role else role

    def request_body(
        self, messages: Sequence[Message], params: ModelParams, output: JsonOutput | None = None
    ) -> dict[str, Any]:
        if params.thinking_budget is not None:
            raise UnsupportedParameterError(
                f"{self.ref}: Chat Completions has no thinking budget; use reasoning_effort instead"
            )
        mode = self.endpoint.structured_output
        if output is not None and mode != JSON_SCHEMA:
            messages = with_schema_in_prompt(messages, output)
        wire: list[dict[str, str]] = []
        if params.system:
            wire.append({"role": self._role(params.system_role), "content": params.system})
        wire += [{"role": self._role(m.role), "content": m.content} for m in messages]
        body: dict[str, Any] = {"model": self.ref.model, "messages": wire}
        optional = {
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
            "reasoning_effort": params.reasoning_effort,
            self.endpoint.max_tokens_field: params.max_tokens,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if output is not None and mode == JSON_SCHEMA:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": output.name, "strict": True, "schema": dict(output.schema)},
            }
        elif output is not None and mode == JSON_OBJECT:
            body["response_format"] = {"type": "json_object"}
        if params.extra_body:
            body["extra_body"] = dict(params.extra_body)
        return body

    def _send_sync(self, client: openai.OpenAI, body: dict[str, Any]) -> Sent:
        raw = client.chat.completions.with_raw_response.create(**body)
        return raw.parse(), raw.headers

    async def _send_async(self, client: openai.AsyncOpenAI, body: dict[str, Any]) -> Sent:
        raw = await client.chat.completions.with_raw_response.create(**body)
        return raw.parse(), raw.headers

    def _parse(self, raw: ChatCompletion, latency_s: float) -> Response:
        request_id = getattr(raw, "_request_id", None)
        if not raw.choices:
            raise ProviderError(str(self.ref), "the API answered with no choices", request_id=request_id)
        choice = raw.choices[0]
        message = choice.message
        refusal = message.refusal
        if refusal:
            refused: bool | None = True
        elif "refusal" in message.model_fields_set or choice.finish_reason == "content_filter":
            refused = choice.finish_reason == "content_filter"
        else:
            refused = None  # this endpoint has no refusal signal
        usage = Usage()
        if raw.usage is not None:
            details = raw.usage.completion_tokens_details
            usage = Usage(
                input_tokens=raw.usage.prompt_tokens,
                output_tokens=raw.usage.completion_tokens,
                reasoning_tokens=details.reasoning_tokens if details is not None else None,
            )
        text = message.content or ""
        return Response(
            text=text,
            model=raw.model,
            finish_reason=choice.finish_reason,
            usage=usage,
            latency_s=latency_s,
            refused=refused,
            refusal_message=refusal or None,
            request_id=request_id,
            model_ref=str(self.ref),
            ending=chat_ending(choice.finish_reason, text, refusal),
        )


def chat_ending(finish_reason: str | None, text: str, refusal: str | None) -> Ending:
    """Why a Chat Completions answer ended, from its wire words.

    ``content_filter`` (the content then ``null`` or ``""``) and a ``refusal`` string (the
    content ``null``) are the API's own refusal signals; ``length`` is the output limit,
    which a reasoning model can reach with ``content: ""``, its tokens all spent reasoning.
    """
    if finish_reason == "content_filter":
        return Ending.CONTENT_FILTER
    if refusal:
        return Ending.REFUSAL
    if finish_reason == "length":
        return Ending.LENGTH
    return Ending.STOP if text.strip() else Ending.EMPTY


class OpenAIChatFamily:
    """``openai-chat``: Chat Completions bodies, for OpenAI and every OpenAI-compatible endpoint.

    Text travels in ``messages`` (system text as a message), the output limit in
    ``max_completion_tokens`` or ``max_tokens`` (the endpoint says which), the schema in
    ``response_format``; an answer reports ``usage.prompt_tokens``/``completion_tokens``.
    """

    name = "openai-chat"

    def provider(
        self,
        ref: ModelRef,
        endpoint: Endpoint,
        settings: ProviderSettings,
        registry: Registry,
        *,
        http: HttpClients | None = None,
    ) -> Provider:
        return OpenAIChat(ref, endpoint, settings, registry, http=http)

    def answer_usage(self, body: Mapping[str, Any]) -> AnswerUsage | None:
        usage = body.get("usage")
        if not isinstance(usage, Mapping) or not {"prompt_tokens", "completion_tokens"} & usage.keys():
            return None
        spent = Usage(input_tokens=usage.get("prompt_tokens"), output_tokens=usage.get("completion_tokens"))
        return AnswerUsage(str(body.get("model", "")), spent)

    def input_tokens(self, body: Mapping[str, Any]) -> int:
        parts = message_texts(body.get("messages"))
        if "response_format" in body:
            parts.append(json.dumps(body["response_format"]))
        return text_tokens("\n".join(parts))

    def output_limit(self, body: Mapping[str, Any]) -> int | None:
        return positive_int(body, "max_tokens", "max_completion_tokens")

    def output_limit_field(self, endpoint: Endpoint) -> str:
        return endpoint.max_tokens_field

    def batch_api(self, endpoint: Endpoint, client_options: Mapping[str, Any]) -> BatchApi:
        from spec_pytest.providers.openai_batch import OpenAIBatches  # deferred: imports the SDK

        return OpenAIBatches.connect(endpoint, client_options)

    def judge_params(self, model: str, given: Mapping[str, Any]) -> dict[str, Any]:
        if reasoning_model(model) or given.get("reasoning_effort") is not None:
            return {"max_tokens": REASONING_JUDGE_TOKENS}  # these models refuse a temperature
        return dict(PLAIN_JUDGE_PARAMS)


#: OpenAI's reasoning models: o1, o3, o4-mini..., gpt-5 and its variants (``gpt-5-chat`` is not one).
_REASONING = re.compile(r"(o\d+(-.*)?|gpt-5(?!-chat)(\.\d+)?(-.*)?)")


def reasoning_model(model: str) -> bool:
    """Whether ``model`` (``o3``, ``gpt-5-mini``, ``openai/o4-mini`` through a router) reasons:
    it answers a ``temperature`` with a 400 and spends output tokens on reasoning."""
    return _REASONING.fullmatch(model.rsplit("/", 1)[-1].lower()) is not None


OPENAI_CHAT = OpenAIChatFamily()
