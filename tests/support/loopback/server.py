"""A fake LLM API on 127.0.0.1: the test double sits at the network boundary, nowhere else.

The real ``openai`` and ``anthropic`` SDKs talk to it over a real socket, so what the tests
see is the real wire traffic: headers the SDKs send, retries they make, bodies they post.
It speaks OpenAI Chat Completions (``POST /v1/chat/completions``) and Anthropic Messages
(``POST /v1/messages``), JSON or SSE (``"stream": true``), and is scripted per test:

* ``enqueue(r1, r2, ...)``: the next requests get these replies, in order;
* ``when(pattern, reply)``: requests whose prompt matches the regex get ``reply``;
* ``respond_with(fn)``: ``fn(body)`` picks the reply (or None to fall through), e.g. a
  scripted judge that reads the prompt and answers per its content;
* ``always(reply)``: every other request gets ``reply`` (e.g. a permanent 500);
* otherwise a deterministic answer quoting the last user message.

Structured outputs are understood as the real APIs do: OpenAI's ``response_format``
(``json_schema``, ``strict``) and Anthropic's ``output_config.format``. A schema the real API
would reject (an object without ``additionalProperties: false``, or, under OpenAI's strict
mode, with properties left out of ``required``) gets a 400; an unscripted request with a
schema gets a JSON answer that follows it.

Replies can be errors with ``Retry-After``, delays (latency, or hangs past the client's
timeout), malformed JSON, or answers cut off mid-body / mid-stream. Answers that are not
answers have builders of their own, each in the shape a real API sends (`cut_before_text`,
`content_filtered`, `api_refusal`, `text_blocks`; an empty answer is ``answer("")``). Every request is kept
(`requests`) with its arrival time, and the peak number in flight is tracked.

aiohttp on its own event loop in a background thread: one process, dozens of concurrent
requests, started on an ephemeral port and stopped by the fixture.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``text=None`` means "the default answer for this prompt"."""

    text: str | None = None
    status: int = 200
    message: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    finish_reason: str | None = None
    refusal: str | None = None
    model: str | None = None
    malformed: bool = False
    truncate: bool = False
    shape: str | None = None  # one of the real shapes below (`cut_before_text`...), else plain
    blocks: tuple[tuple[str, str], ...] = ()  # Anthropic content blocks as (type, text)
    spent: int = 0  # output tokens a `cut_before_text` answer used up
    echo_key: bool = False  # "{key}" in text and message becomes the key the request carried
    raw_body: bytes | None = None  # sent as is (see `html`, `trickle`)
    content_type: str = "application/json"
    trickle_s: float = 0.0  # with raw_body: one byte every trickle_s seconds


def answer(text: str | None = None, **options: Any) -> Reply:
    return Reply(text=text, **options)


def error(
    status: int, message: str = "loopback error", *, retry_after: float | None = None, **options: Any
) -> Reply:
    headers = dict(options.pop("headers", {}))
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return Reply(status=status, message=message, headers=headers, **options)


def echo_key(text: str | None = None, **options: Any) -> Reply:
    """An answer (or, with ``status``/``message``, an error) quoting the key the request carried
    wherever it says ``{key}``: what a proxy echoing the ``Authorization`` header sends back."""
    return Reply(text=text, echo_key=True, **options)


def _echoed(reply: Reply, headers: Mapping[str, str]) -> Reply:
    auth = headers.get("authorization", "")
    key = auth.removeprefix("Bearer ").strip() or headers.get("x-api-key", "")
    fill = (lambda t: t.replace("{key}", key)) if key else (lambda t: t)
    return dataclasses.replace(
        reply,
        text=None if reply.text is None else fill(reply.text),
        message=None if reply.message is None else fill(reply.message),
    )


def hang(seconds: float) -> Reply:
    """Answer only after ``seconds`` (a client with a shorter timeout gives up first)."""
    return Reply(delay=seconds)


def malformed() -> Reply:
    return Reply(malformed=True)


def truncated(text: str | None = None) -> Reply:
    """Start the answer (JSON body or SSE stream), then drop the connection mid-way."""
    return Reply(text=text, truncate=True)


def cut_before_text(limit: int = 1024) -> Reply:
    """The output limit reached before any text: all ``limit`` tokens went to reasoning.

    OpenAI: ``content: ""``, ``finish_reason: "length"`` and ``completion_tokens_details``
    counting them all as reasoning (``finish_reason: length`` as in pydantic-ai's recorded
    cassette test_huggingface/test_max_completion_tokens.yaml, which still had some text;
    ``completion_tokens_details.reasoning_tokens`` as in the recorded usage of Mirascope's
    python/tests/e2e/output/snapshots/test_refusal/openai_gpt_4o_completions_snapshots.py).
    Anthropic: one ``thinking`` block (with its ``signature``) and no text block, with
    ``stop_reason: "max_tokens"`` (the thinking block as in pydantic-ai's cassette
    test_anthropic/test_anthropic_model_thinking_part.yaml; the stop reason from the SDK's
    ``StopReason``).
    """
    return Reply(text="", shape="cut", finish_reason="length", spent=limit)


def content_filtered() -> Reply:
    """OpenAI's content filter: ``content: null``, ``refusal: null``,
    ``finish_reason: "content_filter"`` (pydantic-ai's test_openai.py,
    test_openai_response_filter_error; a real gpt-3.5 body quoted in gystify-be's
    src/ai-summary/OpenAI.md has ``content: ""`` instead, which reads the same)."""
    return Reply(text="", shape="filtered", finish_reason="content_filter")


def api_refusal(message: str = "I'm sorry, but I can't help with that.") -> Reply:
    """A refusal the API reports itself.

    OpenAI: ``message.refusal`` holds the refusal, ``content`` is null, ``finish_reason``
    ``stop`` (the recorded gpt-4o refusals of Mirascope's
    python/tests/e2e/output/snapshots/test_refusal/openai_gpt_4o_completions_snapshots.py).
    Anthropic: ``content: []``, ``stop_reason: "refusal"``, ``stop_details`` of type
    ``refusal``, no output tokens (pydantic-ai's test_anthropic.py,
    test_anthropic_refusal_stop_details); the message is not sent there.
    """
    return Reply(text="", shape="refused", refusal=message)


def text_blocks(*blocks: tuple[str, str]) -> Reply:
    """An Anthropic answer of several content blocks, given as (type, text) in order:
    ``("text", ...)`` and, between passages, e.g. ``("server_tool_use", "")`` and
    ``("web_search_tool_result", "")`` (pydantic-ai's cassette
    test_anthropic/test_anthropic_text_parts_ahead_of_built_in_tool_call.yaml: text, a web
    search, text); adjacent text blocks are how cited pieces arrive (Claude's citations docs).
    OpenAI gets the text pieces concatenated as one content string."""
    return Reply(text="".join(t for kind, t in blocks if kind == "text"), shape="blocks", blocks=blocks)


@dataclass(frozen=True)
class Received:
    """One request as it arrived on the socket, and the reply it was given."""

    api: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    raw: bytes
    at: float
    reply: Reply

    @property
    def prompt(self) -> str:
        return prompt_text(self.body)


def _flatten(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            _flatten(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    return ""


def prompt_text(body: Any) -> str:
    """System text and every message's text, one per line (what patterns match against)."""
    if not isinstance(body, dict):
        return ""
    parts = [_flatten(body.get("system"))] if body.get("system") else []
    parts += [_flatten(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict)]
    return "\n".join(parts)


def _last_user(body: Any) -> str:
    if isinstance(body, dict):
        for m in reversed(body.get("messages") or []):
            if isinstance(m, dict) and m.get("role") == "user":
                return _flatten(m.get("content"))
    return ""


class LoopbackServer:
    #: Headers a real API sends that identify the account (the cassettes must drop them).
    ACCOUNT_HEADERS: ClassVar[dict[str, dict[str, str]]] = {
        "openai": {"openai-organization": "org-loopback-account", "openai-project": "proj_loopback"},
        "anthropic": {"anthropic-organization-id": "9f0c1d2e-loopback-org"},
    }

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._rules: list[tuple[re.Pattern[str], Reply]] = []
        self._fallback: Reply | None = None
        self._script: Callable[[Any], Reply | None] | None = None
        self._requests: list[Received] = []
        self._ids = itertools.count(1)
        self._in_flight = 0
        self.max_in_flight = 0
        self.in_flight_on_arrival: list[int] = []  # others already being answered, per request
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        from tests.support.loopback.batches import BatchEndpoints  # here: that module builds on this one

        self.batches = BatchEndpoints(self)  # OpenAI Batch + Anthropic Message Batches
        self._json_schema_refusal: int | None = None

    def refuse_json_schema(self, status: int | None = 422) -> None:
        """Answer a Chat Completions request with ``response_format`` ``json_schema`` as servers
        without it do: 422 is llama-cpp-python's server (FastAPI validating its request model,
        whose ``response_format.type`` is ``text`` or ``json_object``), 400 or 500 older
        llama.cpp / vLLM builds, both saying so in the message. None: accept it again."""
        with self._lock:
            self._json_schema_refusal = status

    # -- scripting ---------------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def when(self, pattern: str, reply: Reply) -> None:
        with self._lock:
            self._rules.append((re.compile(pattern, re.S), reply))

    def always(self, reply: Reply | None) -> None:
        with self._lock:
            self._fallback = reply

    def respond_with(self, script: Callable[[Any], Reply | None] | None) -> None:
        """``script(body)`` answers requests the queue does not (None: rules, then fallback)."""
        with self._lock:
            self._script = script

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def _choose(self, body: Any) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            script = self._script
        if script is not None:
            scripted = script(body)  # outside the lock: a script may read `requests`
            if scripted is not None:
                return scripted
        with self._lock:
            prompt = prompt_text(body)
            for pattern, reply in self._rules:
                if pattern.search(prompt):
                    return reply
            return self._fallback or Reply()

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.port is not None, "server not started"
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> LoopbackServer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="loopback-api", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._astart(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection; later requests are refused."""
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._astop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _astart(self) -> None:
        self._stopping = asyncio.Event()
        # a batch input file is one upload of every request (OpenAI takes up to 200 MB); aiohttp's
        # default 1 MiB would refuse a few hundred judge prompts with a 413 no real API sends
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1/messages", self._anthropic)
        self.batches.install(app)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self.port = site.port

    async def _astop(self) -> None:
        assert self._stopping is not None and self._runner is not None
        self._stopping.set()  # wakes hanging handlers
        await self._runner.cleanup()

    # -- request handling ----------------------------------------------------------------
    async def _receive(self, request: web.Request, api: str) -> Received:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        reply = self._choose(body)
        received = Received(
            api=api,
            method=request.method,
            path=request.path,
            query=request.query_string,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            raw=raw,
            at=time.monotonic(),
            reply=reply,
        )
        with self._lock:
            self._requests.append(received)
        return received

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            assert self._stopping is not None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    def _headers(self, api: str, reply: Reply) -> dict[str, str]:
        rid = f"req_loopback_{next(self._ids)}"
        headers = {"x-request-id" if api == "openai" else "request-id": rid}
        headers.update(self.ACCOUNT_HEADERS[api])
        headers["Set-Cookie"] = "__cf_bm=loopback-session-cookie; path=/; HttpOnly"
        headers.update(reply.headers)
        return headers

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, "openai")

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, "anthropic")

    async def _handle(self, request: web.Request, api: str) -> web.StreamResponse:
        received = await self._receive(request, api)
        reply = _echoed(received.reply, received.headers) if received.reply.echo_key else received.reply
        self.in_flight_on_arrival.append(self._in_flight)
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            await self._wait(reply.delay)
            headers = self._headers(api, reply)
            if reply.status >= 400:
                return web.json_response(_error_body(api, reply), status=reply.status, headers=headers)
            if reply.malformed:
                return web.Response(
                    text='{"id": "broken", "choi', content_type="application/json", headers=headers
                )
            if reply.raw_body is not None:
                return await _raw(request, headers, reply)
            body = received.body if isinstance(received.body, dict) else {}
            refusal = self._refusal_of_json_schema(api, body)
            if refusal is not None:
                return refusal
            problem, text, model = compose(api, body, reply)
            if problem is not None:
                bad = Reply(status=400, message=problem)
                return web.json_response(_error_body(api, bad), status=400, headers=headers)
            build = _openai_events if api == "openai" else _anthropic_events
            if body.get("stream"):
                return await self._stream(request, headers, build(body, reply, text, model), reply.truncate)
            final = (_openai_json if api == "openai" else _anthropic_json)(body, reply, text, model)
            return await self._json(request, headers, final, reply.truncate)
        finally:
            self._in_flight -= 1

    def _refusal_of_json_schema(self, api: str, body: dict[str, Any]) -> web.Response | None:
        fmt = body.get("response_format") if api == "openai" else None
        status = self._json_schema_refusal
        if status is None or not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            return None
        message = 'response_format type must be one of "text" or "json_object", but got: json_schema'
        if status == 422:  # FastAPI's validation error body
            detail = [{"type": "literal_error", "loc": ["body", "response_format", "type"], "msg": message}]
            return web.json_response({"detail": detail}, status=422)
        return web.json_response(_error_body(api, Reply(status=status, message=message)), status=status)

    async def _json(
        self, request: web.Request, headers: dict[str, str], data: dict[str, Any], truncate: bool
    ) -> web.StreamResponse:
        payload = json.dumps(data).encode()
        gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
        if gzipped:
            payload = gzip.compress(payload)
            headers["Content-Encoding"] = "gzip"
        if not truncate:
            return web.Response(body=payload, headers=headers, content_type="application/json")
        response = web.StreamResponse(headers=headers)
        response.content_type = "application/json"
        response.content_length = len(payload)
        await response.prepare(request)
        await response.write(payload[: len(payload) // 2])
        _drop_connection(request)
        return response

    async def _stream(
        self, request: web.Request, headers: dict[str, str], events: list[bytes], truncate: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={**headers, "Cache-Control": "no-cache"})
        response.content_type = "text/event-stream"
        await response.prepare(request)
        for event in events[: len(events) // 2] if truncate else events:
            await response.write(event)
        if truncate:
            _drop_connection(request)
            return response
        await response.write_eof()
        return response

    async def _unknown(self, request: web.Request) -> web.Response:
        await self._receive(request, "other")
        return web.json_response({"error": {"message": f"no route {request.path}"}}, status=404)


def output_schema(api: str, body: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON schema a request asks its answer to follow, and why the API would refuse it."""
    strict = False
    if api == "openai":
        fmt = body.get("response_format")
        if (
            isinstance(fmt, dict)
            and fmt.get("type") == "json_object"
            and "json" not in prompt_text(body).lower()
        ):
            return (
                None,
                "'messages' must contain the word 'json' in some form to use response_format json_object",
            )
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            return None, None
        spec = fmt.get("json_schema") or {}
        schema, strict = spec.get("schema"), bool(spec.get("strict"))
        if not spec.get("name"):
            return None, "response_format.json_schema.name is required"
    else:
        fmt = (body.get("output_config") or {}).get("format")
        if not isinstance(fmt, dict):
            return None, None
        if fmt.get("type") != "json_schema":
            return None, "output_config.format.type must be json_schema"
        schema, strict = fmt.get("schema"), True
    if not isinstance(schema, dict):
        return None, "the output format has no schema"
    problem = _schema_problem(schema, "schema", strict=strict, openai=api == "openai")
    return schema, problem


def _schema_problem(schema: dict[str, Any], where: str, *, strict: bool, openai: bool) -> str | None:
    if schema.get("type") == "object":
        properties = schema.get("properties") or {}
        if strict and schema.get("additionalProperties") is not False:
            return f"{where}: 'additionalProperties' must be set to false for objects"
        if strict and openai and sorted(schema.get("required") or []) != sorted(properties):
            return f"{where}: 'required' must list every property under strict mode"
        for name, sub in properties.items():
            problem = _schema_problem(sub, f"{where}.{name}", strict=strict, openai=openai)
            if problem:
                return problem
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return _schema_problem(schema["items"], f"{where}[]", strict=strict, openai=openai)
    return None


def instance_of(schema: dict[str, Any]) -> Any:
    """A value that follows ``schema`` (first enum value, a placeholder string, empty list)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: instance_of(sub) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return 0
    if kind == "boolean":
        return False
    return "Loopback placeholder."


def compose(api: str, body: dict[str, Any], reply: Reply) -> tuple[str | None, str, str]:
    """(problem, answer text, reported model) for a request: what both the synchronous routes
    and the batch endpoints answer. A problem is a schema the real API would refuse (a 400)."""
    schema, problem = output_schema(api, body)
    if reply.text is not None:
        text = reply.text
    elif schema is not None:
        text = json.dumps(instance_of(schema))
    else:
        text = f"Loopback answer to: {_last_user(body)[:80]}"
    return problem, text, reply.model or f"{body.get('model', 'unknown')}-2025-01-01"


def _drop_connection(request: web.Request) -> None:
    """Close the socket under a half-sent answer, as a crashed upstream would."""
    if request.transport is not None:
        request.transport.abort()


def _error_body(api: str, reply: Reply) -> dict[str, Any]:
    kind = {429: "rate_limit_error", 500: "api_error", 400: "invalid_request_error"}.get(
        reply.status, "error"
    )
    if api == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": reply.message}}
    return {"error": {"message": reply.message, "type": kind, "code": None, "param": None}}


def _tokens(text: str) -> int:
    return len(text) // 4 + 1


def _openai_json(body: dict[str, Any], reply: Reply, text: str, model: str) -> dict[str, Any]:
    prompt = prompt_text(body)
    message = {
        "role": "assistant",
        "content": None if reply.refusal or reply.shape == "filtered" else text,
        "refusal": reply.refusal,
    }
    spent = reply.spent or _tokens(text)
    usage: dict[str, Any] = {
        "prompt_tokens": _tokens(prompt),
        "completion_tokens": spent,
        "total_tokens": _tokens(prompt) + spent,
    }
    if reply.shape == "cut":
        usage["completion_tokens_details"] = {"reasoning_tokens": reply.spent}
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason or "stop"}],
        "usage": usage,
    }


def _anthropic_json(body: dict[str, Any], reply: Reply, text: str, model: str) -> dict[str, Any]:
    stop = reply.finish_reason or ("refusal" if reply.refusal else "end_turn")
    content: list[dict[str, Any]] = [{"type": "text", "text": reply.refusal or text}]
    extra: dict[str, Any] = {}
    output_tokens = _tokens(text)
    if reply.shape == "cut":
        stop, output_tokens = "max_tokens", reply.spent
        content = [{"type": "thinking", "thinking": "Weighing the request...", "signature": "c2lnbmF0dXJl"}]
    elif reply.shape in ("refused", "filtered"):
        stop, content, output_tokens = "refusal", [], 0
        extra["stop_details"] = {"type": "refusal", "category": None, "explanation": None}
    elif reply.shape == "blocks":
        content = [_anthropic_block(kind, piece, i) for i, (kind, piece) in enumerate(reply.blocks)]
    return {
        "id": "msg_loopback",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        **extra,
        "usage": {"input_tokens": _tokens(prompt_text(body)), "output_tokens": output_tokens},
    }


def _anthropic_block(kind: str, text: str, index: int) -> dict[str, Any]:
    """One content block of `text_blocks` in the Messages shape of its type."""
    if kind == "text":
        return {"type": "text", "text": text, "citations": None}
    tool_id = f"srvtoolu_loopback{index}"
    if kind == "server_tool_use":
        return {"type": "server_tool_use", "id": tool_id, "name": "web_search", "input": {"query": "capital"}}
    if kind == "web_search_tool_result":
        result = {"type": "web_search_result", "title": "Loopback", "url": "https://example.invalid/",
                  "encrypted_content": "ZW5j", "page_age": None}  # fmt: skip
        return {"type": kind, "tool_use_id": f"srvtoolu_loopback{index - 1}", "content": [result]}
    return {"type": kind, "thinking": text, "signature": "c2lnbmF0dXJl"}


def _pieces(text: str) -> list[str]:
    return re.findall(r".{1,12}", text, re.S) or [""]


def _openai_events(body: dict[str, Any], reply: Reply, text: str, model: str) -> list[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        data = {
            "id": "chatcmpl-loopback",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(data)}\n\n".encode()

    events = [chunk({"role": "assistant", "content": ""}, None)]
    events += [chunk({"content": piece}, None) for piece in _pieces(text)]
    events.append(chunk({}, reply.finish_reason or "stop"))
    return [*events, b"data: [DONE]\n\n"]


def _anthropic_events(body: dict[str, Any], reply: Reply, text: str, model: str) -> list[bytes]:
    def event(name: str, data: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

    start = _anthropic_json(body, reply, "", model)
    start.update(content=[], stop_reason=None)
    events = [
        event("message_start", {"message": start}),
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
    ]
    events += [
        event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}})
        for piece in _pieces(text)
    ]
    events += [
        event("content_block_stop", {"index": 0}),
        event(
            "message_delta",
            {
                "delta": {"stop_reason": reply.finish_reason or "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": _tokens(text)},
            },
        ),
        event("message_stop", {}),
    ]
    return events


# -- hostile replies: a wrong body, a slow body -------------------------------------------
def html(page: str = "<!DOCTYPE html><html><body><h1>Sign in to continue</h1></body></html>") -> Reply:
    """Status 200 with a web page (a captive portal, a proxy's login page, a wrong base URL)."""
    return Reply(raw_body=page.encode(), content_type="text/html")


def raw_json(data: Any) -> Reply:
    """Status 200 with this JSON, whatever its shape."""
    return Reply(raw_body=json.dumps(data).encode())


def trickle(every_s: float, body: bytes = b'{"id": "slow", "choices": []}') -> Reply:
    """Status 200 whose body arrives one byte every ``every_s`` seconds: each read is quick."""
    return Reply(raw_body=body, trickle_s=every_s)


async def _raw(request: web.Request, headers: dict[str, str], reply: Reply) -> web.StreamResponse:
    assert reply.raw_body is not None
    if not reply.trickle_s:
        return web.Response(body=reply.raw_body, headers=headers, content_type=reply.content_type)
    response = web.StreamResponse(headers=headers)
    response.content_type = reply.content_type
    response.content_length = len(reply.raw_body)
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError):  # the client gave up: the point of the test
        for i in range(len(reply.raw_body)):
            await response.write(reply.raw_body[i : i + 1])
            await asyncio.sleep(reply.trickle_s)
        await response.write_eof()
    return response
