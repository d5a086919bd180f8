"""How long one request may take, and how large its answer may be: the run's outer limits.

The SDKs' ``timeout`` is per socket read, so a server that trickles one byte every few
seconds holds a call (and the run) forever; and nothing stops a 100 MB answer from being
recorded and copied into every judge's request. `Bounds` is what a run allows instead:
an overall deadline per call (SDK retries included; ini ``spec_timeout``,
``--request-timeout``, or an endpoint's ``timeout:``) and a cap on the answer's text
(ini ``spec_max_answer_chars``, ``--max-answer-chars``). Going over either is a
`ProviderError` that names the limit and how to raise it.

The cap also bounds the raw body where spec-pytest reads it off the socket itself (the
fan-out's transport, which records every request of a default run): `BodyMeter` stops the
download once the body, or what it inflates to under gzip/deflate, passes
`Bounds.max_body_bytes`, so a hostile 100 MB body (or a small gzip bomb) is never held in
memory whole. The vcrpy path (``--no-prefetch``, xdist workers) reads bodies inside vcrpy's
stub, below which nothing of ours sits: there the deadline bounds the download and the
answer cap still refuses the text.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from spec_pytest.errors import RunError

#: Ten minutes: far beyond a sane answer (120 s per read, two retries), short of "forever".
DEFAULT_DEADLINE_S = 600.0
#: One million characters (~250k tokens): more than any output limit allows today.
DEFAULT_MAX_ANSWER_CHARS = 1_000_000

DEADLINE_FIX = "raise it with --request-timeout SECONDS, ini spec_timeout, or the endpoint's `timeout:`"
ANSWER_CAP_FIX = "raise it with --max-answer-chars N or ini spec_max_answer_chars"


@dataclass(frozen=True, slots=True)
class Bounds:
    """A run's outer limits on each provider call (see the module docstring)."""

    deadline_s: float = DEFAULT_DEADLINE_S
    max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS

    def __post_init__(self) -> None:
        if not self.deadline_s > 0:  # also refuses NaN
            raise ValueError(
                f"a request deadline must be a positive number of seconds, not {self.deadline_s}"
            )
        if self.max_answer_chars < 1:
            raise ValueError(f"the answer size cap must be at least 1 character, not {self.max_answer_chars}")

    @property
    def max_body_bytes(self) -> int:
        """The raw-body cap that follows the answer cap: up to 4 bytes a character in UTF-8,
        doubled for JSON escapes, plus 1 MB for the envelope (reasoning, logprobs, usage)."""
        return 8 * self.max_answer_chars + 1_000_000


class BodyTooLarge(RunError):
    """An answer's body passed `Bounds.max_body_bytes` while it was read (see `BodyMeter`).

    Raised inside the HTTP transport: openai's SDK passes it on as it is, anthropic's wraps
    it as a connection error after its retries; the provider turns either into a
    `ProviderError` naming the cap (`SdkProvider._translate_any`)."""

    def __init__(self, limit: int, inflated: bool) -> None:
        self.limit = limit
        what = "inflated (gzip/deflate) body" if inflated else "body"
        self.reason = f"the answer's {what} passed {limit:,} bytes, the cap that follows the answer cap"
        super().__init__(f"{self.reason}; {ANSWER_CAP_FIX}")


class BodyMeter:
    """Counts a response body chunk by chunk, raw and (for gzip or deflate) inflated, and
    raises `BodyTooLarge` at the first chunk past ``limit``. The chunks pass on unchanged:
    the meter only inflates to count, at most ``limit + 1`` bytes at a time."""

    def __init__(self, limit: int, content_encoding: str | None) -> None:
        self.limit = limit
        self.raw = 0
        self.inflated = 0
        encoding = (content_encoding or "").strip().lower()
        wbits = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
        self._inflate = zlib.decompressobj(wbits[encoding]) if encoding in wbits else None

    def feed(self, chunk: bytes) -> None:
        self.raw += len(chunk)
        if self.raw > self.limit:
            raise BodyTooLarge(self.limit, inflated=False)
        if self._inflate is None:
            return
        data = chunk
        while data:
            try:
                out = self._inflate.decompress(data, self.limit + 1)
            except zlib.error:  # not what the header says: the SDK's own decoding will say so
                self._inflate = None
                return
            self.inflated += len(out)
            if self.inflated > self.limit:
                raise BodyTooLarge(self.limit, inflated=True)
            data = self._inflate.unconsumed_tail
            if not out and not data:
                return


def excerpt(text: str, limit: int = 200) -> str:
    """The first ``limit`` characters of ``text``, on one line, marked when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."
