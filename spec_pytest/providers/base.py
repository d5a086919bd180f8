"""The provider protocol, and the part every SDK-backed provider shares.

A provider turns messages + parameters into a `Response`. The async ``respond`` is the
primary path so a run can fan out many requests at once before items execute; the sync
``respond_sync`` is a convenience for code that is not async. Both go through the
official SDK, whose own retry/backoff (``Retry-After`` honoured) is the only retry loop.

Both paths bound each call from outside the SDK (`spec_pytest.providers.bounds`): an
overall deadline (the SDK's timeout is per read), a cap on the answer's size, and a check
that what came back has the API's shape at all (an HTML page with status 200 is not an
answer), each failing as a `ProviderError` that says what arrived and what to change.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from spec_pytest.core.response import Response
from spec_pytest.providers.bounds import ANSWER_CAP_FIX, DEADLINE_FIX, BodyTooLarge, excerpt
from spec_pytest.providers.errors import MissingKeyError, ProviderError
from spec_pytest.providers.ref import JsonOutput, ModelParams, ModelRef, ProviderSettings
from spec_pytest.secrets import scrub
from spec_pytest.spec.model import Message

if TYPE_CHECKING:
    from spec_pytest.providers.endpoints import Endpoint, Registry

#: vcrpy cannot decode zstd (which httpx2 advertises when available): ask for gzip only.
DEFAULT_HEADERS = {"Accept-Encoding": "gzip"}
#: A response header the fan-out adds to a recorded answer (never sent by an API): how long
#: the API took, in seconds. A replay reports it as the answer's latency, not the replay's.
RECORDED_LATENCY_HEADER = "x-spec-pytest-latency-s"
#: What a family's send returns: the SDK's parsed answer, and the HTTP response's headers.
Sent = tuple[Any, Mapping[str, str]]

#: Sent when no key is needed (local servers) or none is used (replay); never a real key.
NO_KEY = "no-key-configured"


class HttpClients(Protocol):
    """The HTTP clients a provider's SDK clients send through, instead of the network.

    ``--batch`` answers a run's requests from batch results this way (its ``Served``
    transport): the provider, its bodies and its parsing stay the family's own.
    """

    def sync_client(self) -> Any: ...

    def async_client(self) -> Any: ...


class AsyncHooks(Protocol):
    """How one event loop's SDK calls reach the network, when a fan-out owns that loop.

    Set through `ASYNC_HOOKS` in the loop's context. ``http_client`` builds the httpx2
    client the SDK clients of that loop use (the fan-out's capture transport inside, which
    stops reading a body past ``max_body_bytes``), and ``slot`` replaces the per-process
    `EndpointLimit` around each call: the fan-out applies its own adaptive, prioritised
    per-endpoint limits and its budget check there.
    """

    def http_client(self, endpoint: str, max_body_bytes: int) -> Any: ...

    def slot(
        self, provider: SdkProvider[Any, Any], body: dict[str, Any]
    ) -> AbstractAsyncContextManager[Any]: ...


#: Unset (None) everywhere except inside a fan-out's event loop (`spec_pytest.pipeline.prefetch`).
ASYNC_HOOKS: contextvars.ContextVar[AsyncHooks | None] = contextvars.ContextVar(
    "spec_pytest_async_hooks", default=None
)

SyncClient = TypeVar("SyncClient")
AsyncClient = TypeVar("AsyncClient")


@runtime_checkable
class Provider(Protocol):
    ref: ModelRef

    async def respond(
        self,
        messages: Sequence[Message],
        params: ModelParams | None = None,
        *,
        output: JsonOutput | None = None,
    ) -> Response:
        """The model's answer to ``messages``; raises ProviderError when there is none.

        With ``output``, the answer's text is one JSON object asked for through the API's
        structured outputs (see `JsonOutput`).
        """
        ...

    def respond_sync(
        self,
        messages: Sequence[Message],
        params: ModelParams | None = None,
        *,
        output: JsonOutput | None = None,
    ) -> Response:
        """Blocking form of `respond`, for callers without an event loop."""
        ...

    def request_body(
        self, messages: Sequence[Message], params: ModelParams, output: JsonOutput | None = None
    ) -> dict[str, Any]:
        """What would be sent for ``messages`` (the plan and the budget estimate from it)."""
        ...

    def close(self) -> None: ...


class SdkProvider(ABC, Generic[SyncClient, AsyncClient]):
    """Client setup, concurrency limit, timing and error translation for one SDK.

    Subclasses say how to build a request body, send it, and read the answer. Async SDK
    clients are made per event loop (their connection pools belong to one loop).
    """

    def __init__(
        self,
        ref: ModelRef,
        endpoint: Endpoint,
        settings: ProviderSettings,
        registry: Registry,
        *,
        http: HttpClients | None = None,
    ) -> None:
        self.ref = ref
        self.endpoint = endpoint
        self.settings = settings
        self._http = http
        self._limit = registry.limit(endpoint.name)
        self._bounds = registry.bounds
        key = endpoint.api_key(registry.environ)
        if key is None:
            if endpoint.key_required and endpoint.key_env is not None and not settings.replay:
                raise MissingKeyError(str(ref), endpoint.key_env)
            # Keyless (or replaying): the SDKs insist on some key, and left to themselves would
            # read OPENAI_API_KEY / ANTHROPIC_API_KEY and send that to whatever server this is.
            key = NO_KEY
        self._key = key
        self._sync_client: SyncClient | None = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    # -- what subclasses provide ---------------------------------------------------------
    @abstractmethod
    def _new_sync_client(self, options: dict[str, Any]) -> SyncClient: ...

    @abstractmethod
    def _new_async_client(self, options: dict[str, Any]) -> AsyncClient: ...

    @abstractmethod
    def request_body(
        self, messages: Sequence[Message], params: ModelParams, output: JsonOutput | None = None
    ) -> dict[str, Any]:
        """The SDK call's keyword arguments (also what the cassette matches on)."""

    @abstractmethod
    def _send_sync(self, client: SyncClient, body: dict[str, Any]) -> Sent: ...

    @abstractmethod
    async def _send_async(self, client: AsyncClient, body: dict[str, Any]) -> Sent: ...

    @abstractmethod
    def _parse(self, raw: Any, latency_s: float) -> Response: ...

    @property
    @abstractmethod
    def sdk(self) -> Any:
        """The SDK module (openai, anthropic), imported on first use: both name their exceptions alike."""

    #: The wire format's name, for an answer that does not have its shape.
    shape: str
    #: Fields every answer of the wire format has as a list (checked before `_parse`).
    answer_fields: tuple[str, ...] = ()

    def _translate(self, err: Exception) -> ProviderError | None:
        """The ProviderError for an SDK exception, or None for anything else."""
        sdk, ref, retries = self.sdk, str(self.ref), self.retries_note()
        if isinstance(err, sdk.APITimeoutError):
            return ProviderError(ref, f"timed out after {self.read_timeout_s:g} s{retries}")
        if isinstance(err, sdk.APIConnectionError):
            cause = err.__cause__ or err
            return ProviderError(
                ref, f"could not reach {self.endpoint.base_url}{retries}: {type(cause).__name__}"
            )
        if isinstance(err, sdk.APIStatusError):
            return ProviderError(
                ref,
                f"HTTP {err.status_code}{self.retries_note(err.status_code)}",
                provider_message=self.scrub(error_message(err.body, err.message)),
                status_code=err.status_code,
                request_id=err.request_id,
            )
        if isinstance(err, sdk.APIResponseValidationError):
            return ProviderError(ref, f"the API's answer did not have the {self.shape} shape: {err}")
        return None

    # -- shared --------------------------------------------------------------------------
    def _client_options(self) -> dict[str, Any]:
        return {
            "api_key": self._key,
            "base_url": self.endpoint.base_url,
            "max_retries": self.settings.effective_retries,
            "timeout": self.read_timeout_s,
            "default_headers": dict(DEFAULT_HEADERS),
        }

    def _async_client(self) -> AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            options = self._client_options()
            hooks = ASYNC_HOOKS.get()
            if self._http is not None:
                options["http_client"] = self._http.async_client()
            elif hooks is not None:
                options["http_client"] = hooks.http_client(self.endpoint.name, self._bounds.max_body_bytes)
            client = self._async_clients[loop] = self._new_async_client(options)
        return client

    async def respond(
        self,
        messages: Sequence[Message],
        params: ModelParams | None = None,
        *,
        output: JsonOutput | None = None,
    ) -> Response:
        body = self.request_body(messages, params or ModelParams(), output)
        client = self._async_client()
        hooks = ASYNC_HOOKS.get()
        async with self._limit.for_loop() if hooks is None else hooks.slot(self, body):
            started = time.perf_counter()
            try:
                raw, headers = await asyncio.wait_for(self._send_async(client, body), self.deadline_s)
            except asyncio.TimeoutError as err:  # from wait_for (the SDK's own is APITimeoutError)
                raise self._deadline_error() from err
            except Exception as err:
                translated = self._translate_any(err)
                if translated is None:
                    raise  # not an API failure (e.g. a cassette miss): the caller must see it as is
                raise translated from err
            latency = recorded_latency(headers) or time.perf_counter() - started
        return self._without_keys(self._answer(raw, latency, headers))

    def respond_sync(
        self,
        messages: Sequence[Message],
        params: ModelParams | None = None,
        *,
        output: JsonOutput | None = None,
    ) -> Response:
        body = self.request_body(messages, params or ModelParams(), output)
        if self._sync_client is None:
            options = self._client_options()
            if self._http is not None:
                options["http_client"] = self._http.sync_client()
            self._sync_client = self._new_sync_client(options)
        with self._limit.for_threads:
            started = time.perf_counter()
            try:
                raw, headers = self._send_within_deadline(self._sync_client, body)
            except Exception as err:
                translated = self._translate_any(err)
                if translated is None:
                    raise
                raise translated from err
            latency = recorded_latency(headers) or time.perf_counter() - started
        return self._without_keys(self._answer(raw, latency, headers))

    # -- the outer bounds of one call ----------------------------------------------------
    @property
    def read_timeout_s(self) -> float:
        """The SDK's timeout (per read: a server that answers only when done sends nothing
        before that). An endpoint's ``timeout:`` is how long its server may take, so it raises
        the SDK's too: a CPU-bound local model taking 150 s must not be cut at 120 s and retried."""
        return max(self.settings.timeout_s, self.endpoint.timeout_s or 0.0)

    @property
    def deadline_s(self) -> float:
        """The overall deadline of one call: the model's own ``timeout`` (its params), else the
        endpoint's ``timeout:``, else the run's."""
        return self.settings.deadline_s or self.endpoint.timeout_s or self._bounds.deadline_s

    def _deadline_error(self) -> ProviderError:
        return ProviderError(
            str(self.ref),
            f"no complete answer within the request deadline of {self.deadline_s:g} s "
            f"(the server may be sending slowly or not at all); {DEADLINE_FIX}",
        )

    def _send_within_deadline(self, client: SyncClient, body: dict[str, Any]) -> Any:
        """`_send_sync` in a worker thread, given up on at the deadline.

        A blocking read cannot be interrupted, so at the deadline the client is closed
        (its sockets with it: the worker's read fails and the thread ends) and dropped;
        the next call builds a new one.
        """
        outcome: dict[str, Any] = {}
        done = threading.Event()
        context = contextvars.copy_context()

        def send() -> None:
            try:
                outcome["raw"] = context.run(self._send_sync, client, body)
            except BaseException as err:  # handed to the caller's thread as is
                outcome["error"] = err
            finally:
                done.set()

        threading.Thread(target=send, name=f"spec-pytest {self.ref}", daemon=True).start()
        if not done.wait(self.deadline_s):
            if self._sync_client is client:
                self._sync_client = None
            client.close()  # type: ignore[attr-defined]
            raise self._deadline_error()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["raw"]

    def _answer(self, raw: Any, latency_s: float, headers: Mapping[str, str] | None = None) -> Response:
        """`_parse` of an answer that has the wire format's shape, within the size cap."""
        problem = self.unexpected_body(raw)
        if problem is not None:
            kind = (headers or {}).get("content-type")
            arrived = f" (content-type {kind!r})" if kind else ""
            raise ProviderError(
                str(self.ref),
                f"the API answered with {problem}{arrived}; is {self.endpoint.base_url} a "
                f"{self.shape} endpoint?",
            )
        response = self._parse(raw, latency_s)
        cap = self._bounds.max_answer_chars
        if len(response.text) > cap:
            raise ProviderError(
                str(self.ref),
                f"the answer is {len(response.text):,} characters, over the cap of {cap:,}; {ANSWER_CAP_FIX}",
                request_id=response.request_id,
            )
        return response

    def unexpected_body(self, raw: Any) -> str | None:
        """What arrived, when it is not an answer of this wire format (else None).

        Without strict validation the SDKs hand back a non-JSON body as its text and a
        JSON body of another shape as an object without the answer's fields.
        """
        if isinstance(raw, (str, bytes)):
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            return f"a body that is not JSON (HTTP 2xx, not a {self.shape} answer): {self._shown(text)}"
        missing = [f for f in self.answer_fields if not isinstance(getattr(raw, f, None), list)]
        if not missing:
            return None
        dump = getattr(raw, "model_dump_json", None)
        shown = self._shown(dump() if callable(dump) else repr(raw))
        return f"JSON without {', '.join(missing)} (not a {self.shape} answer): {shown}"

    def _shown(self, text: str) -> str:
        """The first 200 characters of a body, on one line, with this provider's key removed."""
        return repr(excerpt(self.scrub(text) or ""))

    async def aclose(self) -> None:
        """Close the running loop's async client: call before that loop closes."""
        client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()  # type: ignore[attr-defined]

    def close(self) -> None:
        """Close the sync client, and the async clients whose loops are idle (no socket left open)."""
        if self._sync_client is not None:
            self._sync_client.close()  # type: ignore[attr-defined]
            self._sync_client = None
        for loop, client in list(self._async_clients.items()):
            if not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(client.close())  # type: ignore[attr-defined]
            self._async_clients.pop(loop, None)

    def _translate_any(self, err: Exception) -> ProviderError | None:
        """Our error for SDK failures; None for anything else (e.g. a cassette miss)."""
        # our transport stopped a body past the cap: openai's SDK lets it through as it is,
        # anthropic's retries it and wraps it as a connection error; either way, not the network
        too_large = err if isinstance(err, BodyTooLarge) else err.__cause__
        if isinstance(too_large, BodyTooLarge):
            return ProviderError(str(self.ref), f"{too_large.reason}; {ANSWER_CAP_FIX}")
        translated = self._translate(err)
        if translated is None and isinstance(err, json.JSONDecodeError):
            translated = ProviderError(
                str(self.ref), f"the API answered with a body that is not JSON ({err})"
            )
        return translated

    def retries_note(self, status: int | None = None) -> str:
        """The "after N retries" note when the SDK retries this kind of failure, else ""."""
        retried = status is None or status in (408, 409, 429) or status >= 500
        n = self.settings.effective_retries
        return f" after {n} retr{'y' if n == 1 else 'ies'}" if retried and n else ""

    def _without_keys(self, response: Response) -> Response:
        """The answer with keys scrubbed as it arrives: a proxy may echo the key, and the judges
        (another account, maybe another company) must not receive it. Live and replayed answers
        pass here alike, so a recording run and its replay judge the same text."""
        text, refusal = self.scrub(response.text) or "", self.scrub(response.refusal_message)
        if text == response.text and refusal == response.refusal_message:
            return response
        return replace(response, text=text, refusal_message=refusal)

    def scrub(self, text: str | None) -> str | None:
        """Remove keys from text the API sent back (errors may echo them): this provider's own
        key, and whatever the one scrubber knows (`spec_pytest.secrets`)."""
        if text is None:
            return text
        placeholder = f"<{self.endpoint.key_env}>" if self.endpoint.key_env else "<key>"
        return scrub(text, {} if self._key == NO_KEY else {placeholder: self._key})


def recorded_latency(headers: Mapping[str, str]) -> float | None:
    """The API's latency noted in a recorded answer (`RECORDED_LATENCY_HEADER`), if any."""
    try:
        value = float(headers.get(RECORDED_LATENCY_HEADER) or "")
    except ValueError:
        return None
    return value if 0 <= value < float("inf") else None


def error_message(body: object, fallback: str) -> str:
    """The human-readable message inside an error body of either wire format, or of a
    FastAPI server's validation error (``{"detail": [{"loc": [...], "msg": ...}]}``, e.g.
    llama-cpp-python's server)."""
    while isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return body["message"]
        detail = body.get("detail")
        if isinstance(detail, list) and detail and all(isinstance(d, dict) for d in detail):
            return "; ".join(
                f"{'.'.join(map(str, d.get('loc') or []))}: {d.get('msg', '')}".lstrip(": ") for d in detail
            )
        if isinstance(detail, str):
            return detail
        body = body.get("error")
    return body if isinstance(body, str) and body else fallback


#: What a judge is told when the endpoint cannot hold it to the schema itself (`JSON_OBJECT`,
#: `PROMPTED`): the answer is still validated against the schema, with the usual retry.
SCHEMA_INSTRUCTION = (
    "Answer with one JSON object and nothing else: no code fence, no text before or after it. "
    "The object must follow this JSON schema:\n{schema}"
)


def with_schema_in_prompt(messages: Sequence[Message], output: JsonOutput) -> list[Message]:
    """``messages`` with the output schema spelled out at the end of the last user message
    (not as a message of its own: many chat templates require user and assistant turns to
    alternate)."""
    instruction = SCHEMA_INSTRUCTION.format(schema=json.dumps(dict(output.schema), sort_keys=True))
    out = list(messages)
    for i in range(len(out) - 1, -1, -1):
        if out[i].role == "user":
            out[i] = Message("user", f"{out[i].content}\n\n{instruction}")
            return out
    return [*out, Message("user", instruction)]


def split_system(messages: Sequence[Message], params: ModelParams) -> tuple[list[str], list[Message]]:
    """System/developer texts (params' first, then the conversation's) and the rest."""
    system = [params.system] if params.system else []
    rest: list[Message] = []
    for m in messages:
        if m.role in ("system", "developer"):
            system.append(m.content)
        else:
            rest.append(m)
    return system, rest
