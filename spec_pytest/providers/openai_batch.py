"""The OpenAI Batch API for the ``openai-chat`` family, through the official ``openai`` SDK.

Upload a JSONL file (``/v1/files``, purpose ``batch``), create a batch on it
(``/v1/batches``), poll its status, then download the output and error files. This traffic
is never recorded: only the synchronous exchanges it stands for become cassettes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx2
import openai

from spec_pytest.providers.base import error_message
from spec_pytest.providers.batch import BatchRequest, BatchResult, BatchStatus, jsonl

if TYPE_CHECKING:
    from spec_pytest.providers.endpoints import Endpoint

OPENAI_TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
#: The header the synchronous Chat Completions answer carries its request id in.
REQUEST_ID_HEADER = "x-request-id"


class OpenAIBatches:
    api = "openai"
    max_requests = 50_000

    def __init__(self, endpoint: Endpoint, client: openai.OpenAI) -> None:
        self.endpoint = endpoint
        self.client = client

    @classmethod
    def connect(cls, endpoint: Endpoint, client_options: Mapping[str, Any]) -> OpenAIBatches:
        return cls(endpoint, openai.OpenAI(**client_options))

    def submit(self, requests: Sequence[BatchRequest]) -> tuple[str, str | None]:
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
                for row in jsonl(self.client.files.content(file_id).text):
                    found[str(row.get("custom_id"))] = openai_result(row)
        problems = (
            "; ".join(e.message or e.code or "" for e in (batch.errors.data or [])) if batch.errors else ""
        )
        missing = BatchResult(
            error=f"batch {batch_id} ended '{batch.status}' with no result for this request"
            + (f": {problems}" if problems else "")
        )
        return {cid: found.get(cid, missing) for cid in custom_ids}


def openai_result(row: dict[str, Any]) -> BatchResult:
    """One row of an output or error file, as the synchronous answer it stands for."""
    error = row.get("error")
    if error:
        return BatchResult(error=f"{error.get('code') or 'error'}: {error.get('message') or error}")
    response = row.get("response") or {}
    status = response.get("status_code")
    body = response.get("body")
    if status == 200 and isinstance(body, dict):
        request_id = response.get("request_id")
        return BatchResult(body=body, headers={REQUEST_ID_HEADER: request_id} if request_id else {})
    return BatchResult(error=f"HTTP {status}: {error_message(body, 'no message')}")
