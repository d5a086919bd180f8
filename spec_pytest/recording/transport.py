"""The capture transport: the fan-out's SDK clients send through it, to the tape of their context.

It does for one request what vcrpy's httpx2 stub does for the whole process, with the
cassette taken from `CURRENT_TAPE` instead of a global patch:

* the tape can play the request (recorded earlier, e.g. a resumed run): play it;
* the tape is write-protected (record mode none, or once with content): a miss, raised as
  vcrpy raises it, so `cassette_error` names the cassette and what changed;
* otherwise send it for real and append the exchange, noting how long the API took in the
  recorded response (`RECORDED_LATENCY_HEADER`: the items replay it and report that
  latency). `Cassette.append` applies the same filters `use_cassette` does: request
  headers from the allow-list, gzip decoded, account headers dropped, and
  401/403/408/409/429/5xx not recorded at all, so only the final answer of the SDK's own
  retry loop (the only retry loop) reaches the file.

"For real" must bypass vcrpy: while the fan-out records on its own thread, an item on the
main thread may be replaying inside `use_cassette`, which patches
``httpx2.AsyncHTTPTransport.handle_async_request`` for the whole process. So the real
method is kept from before any patch (`_UNPATCHED`) and called directly.

Every attempt's status also goes to the endpoint's limiter (429 and Retry-After feed the
adaptive limit), and a recorded answer's token usage to the progress counter.
"""

from __future__ import annotations

import contextvars
import email.utils
import inspect
import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import httpx2
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.request import Request as VcrRequest

from spec_pytest.providers.base import RECORDED_LATENCY_HEADER
from spec_pytest.providers.bounds import BodyMeter
from spec_pytest.providers.families import answer_usage
from spec_pytest.recording.tape import CURRENT_TAPE, Tape


def _unpatched(function: Callable[..., Any]) -> Callable[..., Any]:
    """The function under any vcrpy wrapper (vcrpy wraps with functools.wraps)."""
    while getattr(function, "__module__", "").startswith("vcr.") and hasattr(function, "__wrapped__"):
        function = function.__wrapped__
    return function


_UNPATCHED = _unpatched(inspect.getattr_static(httpx2.AsyncHTTPTransport, "handle_async_request"))

#: Observes every attempt: (status, headers, request start time on the monotonic clock).
AttemptObserver = Callable[[int, httpx2.Headers, float], None]
#: Told about each recorded answer's token usage: (model reference, input tokens, output tokens).
UsageObserver = Callable[[str, int, int], None]
#: The model reference ("openai:gpt-4.1") of the current request, set by the fan-out's slot:
#: prices are per reference, while the answer only names the API's model id.
CURRENT_REF: contextvars.ContextVar[str | None] = contextvars.ContextVar("spec_pytest_ref", default=None)


class NoTapeError(RuntimeError):
    """A fan-out client sent a request outside any tape: a bug, never sent to the network."""


class CaptureTransport(httpx2.AsyncBaseTransport):
    """Routes each request to the tape in its context (see the module docstring)."""

    def __init__(
        self,
        inner: httpx2.AsyncHTTPTransport | Sequence[httpx2.AsyncHTTPTransport],
        *,
        on_attempt: AttemptObserver | None = None,
        on_usage: UsageObserver | None = None,
        max_body_bytes: int | None = None,
    ) -> None:
        # Several inner transports (each its own small pool) share the requests, each request
        # going to the least busy: httpcore checks every connection of a pool on each request,
        # so one pool of 256 connections costs 16 times the CPU per request of 16 pools of 16.
        self._shards = [inner] if isinstance(inner, httpx2.AsyncHTTPTransport) else list(inner)
        self._busy = [0] * len(self._shards)
        self._max_body_bytes = max_body_bytes
        self._on_attempt = on_attempt
        self._on_usage = on_usage

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        tape = CURRENT_TAPE.get()
        if tape is None:
            raise NoTapeError(f"{request.method} {request.url} was sent outside a cassette")
        stream = request.stream
        assert isinstance(stream, httpx2.AsyncByteStream)  # the fan-out's clients are async
        body = b"".join([part async for part in stream])
        request.stream = httpx2.ByteStream(body)
        wanted = VcrRequest(request.method, str(request.url), body, request.headers)
        cassette = tape.cassette
        if cassette.can_play_response_for(wanted):
            return to_response(cassette.play_response(wanted))
        if cassette.write_protected and cassette.filter_request(wanted):
            raise CannotOverwriteExistingCassetteException(cassette=cassette, failed_request=wanted)
        started = time.monotonic()
        shard = self._busy.index(min(self._busy))
        self._busy[shard] += 1
        try:
            return await self._send(tape, shard, wanted, request, started)
        finally:
            self._busy[shard] -= 1

    async def _send(
        self, tape: Tape, shard: int, wanted: VcrRequest, request: httpx2.Request, started: float
    ) -> httpx2.Response:
        """Send for real through inner transport ``shard``, read the whole answer, record it."""
        cassette = tape.cassette
        real = await _UNPATCHED(self._shards[shard], request)
        meter = (
            None
            if self._max_body_bytes is None
            else BodyMeter(self._max_body_bytes, real.headers.get("content-encoding"))
        )
        parts = []
        try:
            async for part in real.stream:
                if meter is not None:
                    meter.feed(part)  # BodyTooLarge: stop reading, record nothing
                parts.append(part)
        finally:
            await real.stream.aclose()
        content = b"".join(parts)
        real.stream = httpx2.ByteStream(content)
        if self._on_attempt is not None:
            self._on_attempt(real.status_code, real.headers, started)
        before = len(cassette)
        stored = from_response(real, content)
        # how long the API took, kept for the replay that reports it (a replay would otherwise
        # report its own milliseconds); the live answer carries the same note, so the trial
        # the fan-out hands to its item says what a replay of the cassette will say
        noted = f"{time.monotonic() - started:.3f}"
        stored["headers"][RECORDED_LATENCY_HEADER] = [noted]
        real.headers[RECORDED_LATENCY_HEADER] = noted
        cassette.append(wanted, stored)
        if len(cassette) > before:
            tape.recorded += 1
            self._count_usage(tape, real, content)
        return real

    def _count_usage(self, tape: Tape, real: httpx2.Response, raw: bytes) -> None:
        if self._on_usage is None:
            return
        usage = usage_of(httpx2.Response(real.status_code, headers=real.headers, content=raw))
        if usage is not None:
            model, spent_in, spent_out = usage
            self._on_usage(CURRENT_REF.get() or model, spent_in, spent_out)

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


def from_response(response: httpx2.Response, content: bytes) -> dict[str, Any]:
    """A response as vcrpy stores it (multi-valued headers as lists, the raw body)."""
    headers: dict[str, list[str]] = defaultdict(list)
    for name, value in response.headers.multi_items():
        headers[name].append(value)
    return {
        "status": {"code": response.status_code, "message": response.reason_phrase},
        "headers": dict(headers),
        "body": {"string": content},
    }


def to_response(stored: dict[str, Any]) -> httpx2.Response:
    """A stored response as the SDK receives it on replay (as vcrpy rebuilds it)."""
    message = stored["status"].get("message")
    return httpx2.Response(
        stored["status"]["code"],
        headers=[(name, value) for name, values in stored["headers"].items() for value in values],
        stream=httpx2.ByteStream(stored["body"]["string"]),
        extensions={"reason_phrase": message.encode("ascii")} if message else None,
    )


def usage_of(response: httpx2.Response) -> tuple[str, int, int] | None:
    """(model, input tokens, output tokens) of a 2xx answer, if its family's usage fields say."""
    if not 200 <= response.status_code < 300:
        return None
    try:
        data = json.loads(response.content)  # decodes gzip per the headers
    except (ValueError, UnicodeDecodeError):
        return None
    found = answer_usage(data) if isinstance(data, dict) else None
    if found is None:
        return None
    return found.model, int(found.usage.input_tokens or 0), int(found.usage.output_tokens or 0)


def retry_after(headers: httpx2.Headers, now: float | None = None) -> float | None:
    """Seconds the server asks to wait (``retry-after-ms``, ``retry-after`` seconds or date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
