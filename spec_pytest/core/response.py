"""What a model said, as every later stage (judges, verdicts, reports) reads it.

One shape for every API family, so a judge or a report never branches on the provider.
Fields the API does not give stay ``None`` instead of being guessed: ``refused`` is
``None`` for an endpoint with no refusal signal, which is not the same as "did not refuse".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: Finish reasons meaning "cut off by the token limit" (OpenAI-style, Anthropic).
_TRUNCATED = frozenset({"length", "max_tokens", "model_context_window_exceeded"})


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the API reported them (``None`` where it reported nothing)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Response:
    """One model answer.

    ``model`` is the id the API reports (e.g. a dated snapshot), not the one requested:
    that is what a baseline must be compared against. ``finish_reason`` is the API's own
    word (``stop``, ``length``, ``end_turn``, ``refusal``...), kept raw so nothing is lost;
    `truncated` is the portable question. ``latency_s`` is wall time of the call as the
    caller saw it, SDK retries included; a replayed cassette gives ~0, so it describes the
    run, not the model.
    """

    text: str
    model: str
    finish_reason: str | None
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    refused: bool | None = None
    refusal_message: str | None = None
    request_id: str | None = None
    model_ref: str | None = None

    @property
    def truncated(self) -> bool:
        """Whether the answer stopped at the token limit (a judge should know)."""
        return self.finish_reason in _TRUNCATED

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready record (for results files and reports)."""
        return asdict(self)
