"""How long one request may take, and how large its answer may be: the run's outer limits.

The SDKs' ``timeout`` is per socket read, so a server that trickles one byte every few
seconds holds a call (and the run) forever; and nothing stops a 100 MB answer from being
recorded and copied into every judge's request. `Bounds` is what a run allows instead:
an overall deadline per call (SDK retries included; ini ``spec_timeout``,
``--request-timeout``, or an endpoint's ``timeout:``) and a cap on the answer's text
(ini ``spec_max_answer_chars``, ``--max-answer-chars``). Going over either is a
`ProviderError` that names the limit and how to raise it.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def excerpt(text: str, limit: int = 200) -> str:
    """The first ``limit`` characters of ``text``, on one line, marked when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."
