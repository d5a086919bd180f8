"""The two providers' batch APIs, through their official SDKs, behind one small protocol.

* OpenAI Batch: upload a JSONL file (``/v1/files``, purpose ``batch``), create a batch on it
  (``/v1/batches``), poll its status, then download the output and error files.
* Anthropic Message Batches: create (``/v1/messages/batches``) with the requests inline,
  poll ``processing_status``, then stream the results JSONL.

Both return, per ``custom_id``, the body the synchronous endpoint would have answered, or a
readable error (an errored, expired or cancelled request). This traffic is never recorded:
only the synchronous exchanges it stands for become cassettes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anthropic
import httpx2
import openai

from spec_pytest.pipeline.batch.served import BatchResult, PendingRequest
from spec_pytest.providers import Endpoint, MissingKeyError, Registry
from spec_pytest.providers.base import DEFAULT_HEADERS, NO_KEY, error_message

#: Requests per batch the APIs accept (OpenAI 50,000; Anthropic 100,000).
MAX_REQUESTS = {"openai": 50_000, "anthropic": 100_000}
OPENAI_TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass(frozen=True, slots=True)
class BatchStatus:
    ended: bool
    status: str  # the API's own word, with its request counts when it gives them


class BatchApi(Protocol):
    api: str

    def submit(self, requests: Sequence[PendingRequest]) -> tuple[str, str | None]:
        """Create one batch of ``requests``; returns its id (and the uploaded file's, if any)."""
        ...

    def status(self, batch_id: str) -> BatchStatus: ...

    def results(self, batch_id: str, custom_ids: Iterable[str]) -> dict[str, BatchResult]:
        """A result for every id in ``custom_ids`` (an error result when the batch has none)."""
        ...


def batch_api(registry: Registry, endpoint_name: str) -> BatchApi:
    """The batch client for an endpoint of the registry (its base URL, its key variable)."""
    endpoint = registry.endpoint(endpoint_name)
    key = endpoint.api_key(registry.environ)
    if key is None and endpoint.key_required:
        assert endpoint.key_env is not None
        raise MissingKeyError(f"{endpoint_name} (batch)", endpoint.key_env)
    options = {
        "api_key": key or NO_KEY,
        "base_url": endpoint.base_url,
        "max_retries": 2,
        "timeout": 300.0,
        "default_headers": dict(DEFAULT_HEADERS),
    }
    if endpoint.api == "anthropic-messages":
        return AnthropicBatches(endpoint, anthropic.Anthropic(**options))
    return OpenAIBatches(endpoint, openai.OpenAI(**options))


class OpenAIBatches:
    api = "openai"

    def __init__(self, endpoint: Endpoint, client: openai.OpenAI) -> None:
        self.endpoint = endpoint
        self.client = client

    def submit(self, requests: Sequence[PendingRequest]) -> tuple[str, str | None]:
        paths = {httpx2.URL(r.url).path for r in requests}
        if len(paths) != 1:
            raise ValueError(f"one OpenAI batch serves one endpoint path, got {sorted(paths)}")
        path = paths.pop()
        lines = [
            json.dumps(
                {"custom_id": r.custom_id, "method": r.method, "url": path, "body": r.body},
                ensure_ascii=False,
            )
            for r in requests
        ]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        upload = self.client.files.create(
            file=("spec-pytest-batch.jsonl", data, "application/jsonl"), purpose="batch"
        )
        batch = self.client.batches.create(
            input_file_id=upload.id,
            endpoint=path,  # type: ignore[arg-type]
            completion_window="24h",
            metadata={"created_by": "spec-pytest"},
        )
        return batch.id, upload.id

    def status(self, batch_id: str) -> BatchStatus:
        batch = self.client.batches.retrieve(batch_id)
        counts = batch.request_counts
        detail = f" ({counts.completed}/{counts.total} done, {counts.failed} failed)" if counts else ""
        return BatchStatus(batch.status in OPENAI_TERMINAL, f"{batch.status}{detail}")

    def results(self, batch_id: str, custom_ids: Iterable[str]) -> dict[str, BatchResult]:
        batch = self.client.batches.retrieve(batch_id)
        found: dict[str, BatchResult] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                for row in _jsonl(self.client.files.content(file_id).text):
                    found[str(row.get("custom_id"))] = _openai_result(row)
        problems = (
            "; ".join(e.message or e.code or "" for e in (batch.errors.data or [])) if batch.errors else ""
        )
        missing = BatchResult(
            error=f"batch {batch_id} ended '{batch.status}' with no result for this request"
            + (f": {problems}" if problems else "")
        )
        return {cid: found.get(cid, missing) for cid in custom_ids}


def _openai_result(row: dict[str, Any]) -> BatchResult:
    error = row.get("error")
    if error:
        return BatchResult(error=f"{error.get('code') or 'error'}: {error.get('message') or error}")
    response = row.get("response") or {}
    status = response.get("status_code")
    body = response.get("body")
    if status == 200 and isinstance(body, dict):
        return BatchResult(body=body, request_id=response.get("request_id"))
    return BatchResult(error=f"HTTP {status}: {error_message(body, 'no message')}")


class AnthropicBatches:
    api = "anthropic"

    def __init__(self, endpoint: Endpoint, client: anthropic.Anthropic) -> None:
        self.endpoint = endpoint
        self.client = client

    def submit(self, requests: Sequence[PendingRequest]) -> tuple[str, str | None]:
        batch = self.client.messages.batches.create(
            requests=[{"custom_id": r.custom_id, "params": r.body} for r in requests]  # type: ignore[misc]
        )
        return batch.id, None

    def status(self, batch_id: str) -> BatchStatus:
        batch = self.client.messages.batches.retrieve(batch_id)
        c = batch.request_counts
        detail = f" ({c.succeeded} succeeded, {c.errored} errored, {c.processing} processing)"
        return BatchStatus(batch.processing_status == "ended", f"{batch.processing_status}{detail}")

    def results(self, batch_id: str, custom_ids: Iterable[str]) -> dict[str, BatchResult]:
        # The raw JSONL, not the SDK's parsed models: the cassette gets the body as the API sent it.
        text = self.client.messages.batches.with_raw_response.results(batch_id).text()
        found = {str(row.get("custom_id")): _anthropic_result(row) for row in _jsonl(text)}
        missing = BatchResult(error=f"batch {batch_id} ended with no result for this request")
        return {cid: found.get(cid, missing) for cid in custom_ids}


def _anthropic_result(row: dict[str, Any]) -> BatchResult:
    result = row.get("result") or {}
    kind = result.get("type")
    if kind == "succeeded" and isinstance(result.get("message"), dict):
        return BatchResult(body=result["message"])
    if kind == "errored":
        return BatchResult(error=f"errored: {error_message(result.get('error'), 'no message')}")
    return BatchResult(error=f"{kind or 'unknown result'}: the request was not processed")


def _jsonl(text: str) -> list[dict[str, Any]]:
    rows = []
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            if isinstance(row, dict):
                rows.append(row)
    return rows
