"""What a family's batch adapter is: submit synchronous requests as one batch, poll, read results.

Every adapter returns, per ``custom_id``, the body the synchronous endpoint would have
answered, or a readable error (an errored, expired or cancelled request), so ``--batch``
(`spec_pytest.pipeline.batch`) can write the synchronous exchanges' cassettes and stay
unaware of the API behind them. The families' adapters: `openai_batch`, `anthropic_batch`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class BatchStatus:
    ended: bool
    status: str  # the API's own word, with its request counts when it gives them


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One request's outcome in a batch: the synchronous answer body, or why there is none.

    ``headers`` are those the synchronous answer would have carried (its request id), in
    the family's own names.
    """

    body: dict[str, Any] | None = None
    error: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.body is not None and self.error is None


class BatchRequest(Protocol):
    """A synchronous request to send in a batch (``PendingRequest`` is one)."""

    @property
    def custom_id(self) -> str: ...

    @property
    def method(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def body(self) -> dict[str, Any]: ...


class BatchApi(Protocol):
    #: The batch API's name, as the state file records it.
    api: str
    #: Requests per batch the API accepts.
    max_requests: int

    def submit(self, requests: Sequence[BatchRequest]) -> tuple[str, str | None]:
        """Create one batch of ``requests``; returns its id (and the uploaded file's, if any)."""
        ...

    def status(self, batch_id: str) -> BatchStatus: ...

    def results(self, batch_id: str, custom_ids: Iterable[str]) -> dict[str, BatchResult]:
        """A result for every id in ``custom_ids`` (an error result when the batch has none)."""
        ...


def jsonl(text: str) -> list[dict[str, Any]]:
    """The objects of a JSON Lines text (blank lines and non-objects skipped)."""
    rows = []
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            if isinstance(row, dict):
                rows.append(row)
    return rows


def api_failure(err: BaseException) -> str | None:
    """What an SDK's failure of a batch call says ("HTTP 400: ..."), or None if ``err`` is not
    one (a bug of ours must keep its traceback)."""
    # deferred: the SDKs load only for runs that call an API; a --batch run has them by now
    import anthropic
    import openai

    if not isinstance(err, (openai.APIError, anthropic.APIError)):
        return None
    status = getattr(err, "status_code", None)
    return (f"HTTP {status}: " if status is not None else "") + str(err)
