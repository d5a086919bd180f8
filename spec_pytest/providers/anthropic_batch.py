"""Anthropic Message Batches for the ``anthropic-messages`` family, through the ``anthropic`` SDK.

Create (``/v1/messages/batches``) with the requests inline, poll ``processing_status``,
then stream the results JSONL. This traffic is never recorded: only the synchronous
exchanges it stands for become cassettes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anthropic

from spec_pytest.providers.base import error_message
from spec_pytest.providers.batch import BatchRequest, BatchResult, BatchStatus, jsonl

if TYPE_CHECKING:
    from spec_pytest.providers.endpoints import Endpoint


class AnthropicBatches:
    api = "anthropic"
    max_requests = 100_000

    def __init__(self, endpoint: Endpoint, client: anthropic.Anthropic) -> None:
        self.endpoint = endpoint
        self.client = client

    @classmethod
    def connect(cls, endpoint: Endpoint, client_options: Mapping[str, Any]) -> AnthropicBatches:
        return cls(endpoint, anthropic.Anthropic(**client_options))

    def submit(self, requests: Sequence[BatchRequest]) -> tuple[str, str | None]:
        # The bodies are the synchronous requests' JSON, not the SDK's typed params.
        inline: list[Any] = [{"custom_id": r.custom_id, "params": r.body} for r in requests]
        batch = self.client.messages.batches.create(requests=inline)
        return batch.id, None

    def status(self, batch_id: str) -> BatchStatus:
        batch = self.client.messages.batches.retrieve(batch_id)
        c = batch.request_counts
        detail = f" ({c.succeeded} succeeded, {c.errored} errored, {c.processing} processing)"
        return BatchStatus(batch.processing_status == "ended", f"{batch.processing_status}{detail}")

    def results(self, batch_id: str, custom_ids: Iterable[str]) -> dict[str, BatchResult]:
        # The raw JSONL, not the SDK's parsed models: the cassette gets the body as the API sent it.
        text = self.client.messages.batches.with_raw_response.results(batch_id).text()
        found = {str(row.get("custom_id")): anthropic_result(row) for row in jsonl(text)}
        missing = BatchResult(error=f"batch {batch_id} ended with no result for this request")
        return {cid: found.get(cid, missing) for cid in custom_ids}


def anthropic_result(row: dict[str, Any]) -> BatchResult:
    """One row of the results JSONL, as the synchronous answer it stands for."""
    result = row.get("result") or {}
    kind = result.get("type")
    if kind == "succeeded" and isinstance(result.get("message"), dict):
        return BatchResult(body=result["message"])
    if kind == "errored":
        return BatchResult(error=f"errored: {error_message(result.get('error'), 'no message')}")
    return BatchResult(error=f"{kind or 'unknown result'}: the request was not processed")
