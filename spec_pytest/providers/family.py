"""What a provider family is: one wire format, and everything that writes or reads it.

An endpoint's ``api`` names its family (``openai-chat``, ``anthropic-messages``; the
OpenAI-compatible endpoints are ``openai-chat``, their dialect details on the `Endpoint`).
A family builds the provider that speaks its format (request body, answer text, refusal
signal, finish reason and so the answer's `Ending`, usage: its `SdkProvider`), names the
request field that caps an answer's length (what the error for an answer cut before any
text tells the user to raise), and reads raw bodies of its format where
no provider is at hand: the token usage of an answer (the fan-out's transport, the batch
runner), the estimated input tokens and the output limit of a request (plan, budget), and,
optionally, it offers its batch API (``--batch``).

So code outside `spec_pytest.providers` never looks at ``endpoint.api`` itself: it asks
the family, found through the one table in `spec_pytest.providers.families`. A family
module imports its SDK only when it builds a client (the SDKs take about a second to
import, and the table is read by code that never sends a request).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from spec_pytest.core.response import Usage

if TYPE_CHECKING:
    from spec_pytest.providers.base import HttpClients, Provider
    from spec_pytest.providers.batch import BatchApi
    from spec_pytest.providers.endpoints import Endpoint, Registry
    from spec_pytest.providers.ref import ModelRef, ProviderSettings

#: Characters per token in the estimates (a common rule of thumb; real tokenizers vary ±30%).
CHARS_PER_TOKEN = 4


@dataclass(frozen=True, slots=True)
class AnswerUsage:
    """What an answer body says it took: the API's model id, and the billed tokens."""

    model: str
    usage: Usage


class Family(Protocol):
    """One wire format (see the module docstring); `families.register_family` adds one."""

    #: The ``api`` value that selects this family in an endpoint declaration.
    name: str

    def provider(
        self,
        ref: ModelRef,
        endpoint: Endpoint,
        settings: ProviderSettings,
        registry: Registry,
        *,
        http: HttpClients | None = None,
    ) -> Provider:
        """The provider asking ``ref`` on ``endpoint``; ``http``: send through those clients."""
        ...

    def answer_usage(self, body: Mapping[str, Any]) -> AnswerUsage | None:
        """The usage an answer body of this format reports (output counts any reasoning, as
        the APIs bill it); None when the body carries none of this family's usage fields."""
        ...

    def input_tokens(self, body: Mapping[str, Any]) -> int:
        """Estimated input tokens of a request body: the text in the fields this family sends
        text in (and an output schema) by `text_tokens`; a body of another shape reads as empty."""
        ...

    def output_limit(self, body: Mapping[str, Any]) -> int | None:
        """The output-token limit a request body sets; None when it sets none."""
        ...

    def output_limit_field(self, endpoint: Endpoint) -> str:
        """The request field ``endpoint`` reads the output-token limit from (``max_tokens``,
        ``max_completion_tokens``): what an answer cut before any text must raise."""
        ...

    def batch_api(self, endpoint: Endpoint, client_options: Mapping[str, Any]) -> BatchApi | None:
        """The batch client for ``endpoint`` (SDK client options given), or None: no batch API."""
        ...

    def judge_params(self, model: str, given: Mapping[str, Any]) -> dict[str, Any]:
        """The request parameters ``model`` judges with by default (`ModelParams` keys), given
        the ones the user set (``given``, which win): deterministic sampling where the model
        takes it, an output limit that leaves room for any reasoning."""
        ...


#: Judges rule, they do not create: deterministic sampling, and room for one paragraph.
PLAIN_JUDGE_PARAMS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 1024}
#: The output limit of a judge that reasons (its reasoning counts against the limit): the
#: room OpenAI advises reserving for reasoning and output when starting with such models.
REASONING_JUDGE_TOKENS = 25_000


def text_tokens(text: str) -> int:
    """Estimated tokens of ``text`` (characters / `CHARS_PER_TOKEN`, rounded up, at least 1)."""
    return max(1, -(-len(text) // CHARS_PER_TOKEN))


def message_texts(messages: object) -> list[str]:
    """The contents of a body's ``messages`` list, as text (structured content as JSON)."""
    texts: list[str] = []
    for message in messages if isinstance(messages, Iterable) and not isinstance(messages, str) else ():
        content = message.get("content") if isinstance(message, Mapping) else None
        texts.append(content if isinstance(content, str) else json.dumps(content or ""))
    return texts


def positive_int(body: Mapping[str, Any], *names: str) -> int | None:
    """The first of ``names`` whose value in ``body`` is a positive integer, if any."""
    for name in names:
        value = body.get(name)
        if isinstance(value, int) and value > 0:
            return value
    return None
