"""What a model said, as every later stage (judges, verdicts, reports) reads it.

One shape for every API family, so a judge or a report never branches on the provider.
Fields the API does not give stay ``None`` instead of being guessed: ``refused`` is
``None`` for an endpoint with no refusal signal, which is not the same as "did not refuse".

Why an answer ended is one of a closed set, `Ending`, read by the answer's family from its
own wire words (``finish_reason`` / ``stop_reason``, the refusal field, the text): later
stages decide on the portable word (an empty answer cut by the limit is an error, an API
refusal is a refusal), and the raw reason stays beside it for the reader.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum

#: Finish reasons meaning "cut off by the token limit" (OpenAI-style, Anthropic).
_TRUNCATED = frozenset({"length", "max_tokens", "model_context_window_exceeded"})


class Ending(str, Enum):
    """Why an answer ended, whatever the API's own word for it.

    ``stop``: the model ended its turn (any reason not below; the raw one is kept);
    ``length``: it stopped at the output-token limit; ``content_filter``: the provider's
    filter withheld the answer; ``refusal``: the API itself reported a refusal (OpenAI's
    ``refusal`` field, Anthropic's ``stop_reason: refusal``); ``empty``: it ended with no
    text and no other signal.
    """

    STOP = "stop"
    LENGTH = "length"
    CONTENT_FILTER = "content_filter"
    REFUSAL = "refusal"
    EMPTY = "empty"

    def __str__(self) -> str:
        return self.value


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
    ``ending`` is the portable reading (set by the family that parsed the answer), and
    `truncated` / `api_refusal` are the questions later stages ask. ``latency_s`` is wall
    time of the call as the caller saw it, SDK retries included; a replayed cassette gives
    ~0, so it describes the run, not the model.
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
    ending: Ending = Ending.STOP

    @property
    def truncated(self) -> bool:
        """Whether the answer stopped at the token limit (a judge should know)."""
        return self.ending is Ending.LENGTH or self.finish_reason in _TRUNCATED

    @property
    def api_refusal(self) -> str | None:
        """Where the API said the answer is a refusal (``api:refusal``, ``api:content_filter``),
        or None: the refusal source a verdict records and the judges are told of."""
        if self.ending is Ending.CONTENT_FILTER:
            return "api:content_filter"
        if self.ending is Ending.REFUSAL or self.refused:
            return "api:refusal"
        return None

    @property
    def has_text(self) -> bool:
        """Whether the answer holds any text (whitespace alone is none)."""
        return bool(self.text.strip())

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready record (for results files and reports)."""
        data = asdict(self)
        data["ending"] = self.ending.value
        return data
