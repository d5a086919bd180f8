"""The batch endpoints of the loopback API: OpenAI Batch and Anthropic Message Batches.

Enough of both for the real SDKs' batch calls to work end to end:

* OpenAI: ``POST /v1/files`` (multipart upload), ``POST /v1/batches``,
  ``GET /v1/batches/{id}``, ``GET /v1/files/{id}/content`` (output and error files);
* Anthropic: ``POST /v1/messages/batches``, ``GET /v1/messages/batches/{id}``,
  ``GET /v1/messages/batches/{id}/results``.

Each batched request is answered like the synchronous endpoint would answer it (the server's
queue, rules, scripts and fallback all apply), so a batch result and a direct call agree.
A scripted reply with an error status becomes an errored result. ``polls_before_done``
keeps a batch "in progress" for that many status checks, to exercise polling and resuming.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.support.loopback.server import Reply, _anthropic_json, _error_body, _openai_json, compose

if TYPE_CHECKING:
    from tests.support.loopback.server import LoopbackServer


@dataclass
class LoopbackBatch:
    id: str
    api: str  # openai | anthropic
    custom_ids: list[str]
    results: dict[str, tuple[int, dict[str, Any]]]  # custom_id -> (status, body)
    endpoint: str = ""
    input_file_id: str | None = None
    polls: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    bodies: dict[str, Any] = field(default_factory=dict)


class BatchEndpoints:
    """State and routes of both batch APIs on one `LoopbackServer`."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.polls_before_done = 0
        #: (status, message): every batch create is refused so, in its API's error shape
        #: (OpenAI's ``{"error": {...}}``, Anthropic's ``{"type": "error", "error": {...}}``)
        self.refuse_creates: tuple[int, str] | None = None
        self.expired: set[str] = set()  # custom_ids whose results come back expired
        self.batches: dict[str, LoopbackBatch] = {}
        self.files: dict[str, bytes] = {}
        self.calls: list[tuple[str, str]] = []  # (method, path) of every batch-API request
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # -- what tests look at ----------------------------------------------------------------
    def count(self, method: str, path: str) -> int:
        with self._lock:
            return sum(1 for call in self.calls if call == (method, path))

    @property
    def creates(self) -> int:
        return self.count("POST", "/v1/batches") + self.count("POST", "/v1/messages/batches")

    def install(self, app: web.Application) -> None:
        """Add the routes (before the server's catch-all route)."""
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files/{file_id}/content", self._file_content)
        app.router.add_post("/v1/batches", self._openai_create)
        app.router.add_get("/v1/batches/{batch_id}", self._openai_retrieve)
        app.router.add_post("/v1/messages/batches", self._anthropic_create)
        app.router.add_get("/v1/messages/batches/{batch_id}", self._anthropic_retrieve)
        app.router.add_get("/v1/messages/batches/{batch_id}/results", self._anthropic_results)

    # -- answering one batched request ---------------------------------------------------
    def answer(self, api: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """What the synchronous endpoint would answer ``body`` (status, JSON body)."""
        reply: Reply = self.server._choose(body)
        if reply.status >= 400:
            return reply.status, _error_body(api, reply)
        problem, text, model = compose(api, body, reply)
        if problem is not None:
            return 400, _error_body(api, Reply(status=400, message=problem))
        build = _openai_json if api == "openai" else _anthropic_json
        return 200, build(body, reply, text, model)

    def _log(self, request: web.Request) -> None:
        with self._lock:
            self.calls.append((request.method, request.path))

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def _done(self, batch: LoopbackBatch) -> bool:
        batch.polls += 1
        return batch.polls > self.polls_before_done

    # -- OpenAI ----------------------------------------------------------------------------
    async def _upload(self, request: web.Request) -> web.Response:
        self._log(request)
        form = await request.post()
        upload = form.get("file")
        data = upload.file.read() if hasattr(upload, "file") else str(upload or "").encode()
        file_id = self._new_id("file-loopback")
        self.files[file_id] = data
        return web.json_response(
            {
                "id": file_id,
                "object": "file",
                "bytes": len(data),
                "created_at": 1_700_000_000,
                "filename": getattr(upload, "filename", "upload.jsonl"),
                "purpose": form.get("purpose", "batch"),
                "status": "processed",
            }
        )

    async def _file_content(self, request: web.Request) -> web.Response:
        self._log(request)
        data = self.files.get(request.match_info["file_id"])
        if data is None:
            return web.json_response({"error": {"message": "no such file"}}, status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    async def _openai_create(self, request: web.Request) -> web.Response:
        self._log(request)
        if self.refuse_creates is not None:
            status, message = self.refuse_creates
            error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
            return web.json_response({"error": error}, status=status)
        params = await request.json()
        data = self.files.get(params.get("input_file_id", ""))
        if data is None:
            return web.json_response({"error": {"message": "input file not found"}}, status=400)
        lines = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
        batch = LoopbackBatch(
            self._new_id("batch_loopback"),
            "openai",
            [line["custom_id"] for line in lines],
            {line["custom_id"]: self.answer("openai", line["body"]) for line in lines},
            endpoint=params.get("endpoint", ""),
            input_file_id=params["input_file_id"],
            bodies={line["custom_id"]: line["body"] for line in lines},
        )
        self.batches[batch.id] = batch
        return web.json_response(self._openai_object(batch, "validating"))

    async def _openai_retrieve(self, request: web.Request) -> web.Response:
        self._log(request)
        batch = self.batches.get(request.match_info["batch_id"])
        if batch is None:
            return web.json_response({"error": {"message": "no such batch"}}, status=404)
        if not self._done(batch):
            return web.json_response(self._openai_object(batch, "in_progress"))
        if batch.output_file_id is None and batch.error_file_id is None:
            self._openai_files(batch)
        return web.json_response(self._openai_object(batch, "completed"))

    def _openai_files(self, batch: LoopbackBatch) -> None:
        good, bad = [], []
        for n, cid in enumerate(batch.custom_ids):
            status, body = batch.results[cid]
            if cid in self.expired:
                line = {
                    "id": f"batch_req_{n}",
                    "custom_id": cid,
                    "response": None,
                    "error": {
                        "code": "batch_expired",
                        "message": "This request could not be executed before the completion window expired.",
                    },
                }
                bad.append(line)
                continue
            line = {
                "id": f"batch_req_{n}",
                "custom_id": cid,
                "response": {"status_code": status, "request_id": f"req_batch_{n}", "body": body},
                "error": None,
            }
            (good if status == 200 else bad).append(line)
        for rows, attr in ((good, "output_file_id"), (bad, "error_file_id")):
            if rows:
                file_id = self._new_id("file-loopback")
                self.files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                setattr(batch, attr, file_id)

    def _openai_object(self, batch: LoopbackBatch, status: str) -> dict[str, Any]:
        failed = sum(1 for s, _ in batch.results.values() if s != 200)
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": status,
            "created_at": 1_700_000_000,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "request_counts": {
                "total": len(batch.custom_ids),
                "completed": len(batch.custom_ids) - failed if status == "completed" else 0,
                "failed": failed if status == "completed" else 0,
            },
        }

    # -- Anthropic -------------------------------------------------------------------------
    async def _anthropic_create(self, request: web.Request) -> web.Response:
        self._log(request)
        if self.refuse_creates is not None:
            status, message = self.refuse_creates
            error = {"type": "invalid_request_error", "message": message}
            return web.json_response({"type": "error", "error": error}, status=status)
        params = await request.json()
        requests = params.get("requests") or []
        batch = LoopbackBatch(
            self._new_id("msgbatch_loopback"),
            "anthropic",
            [r["custom_id"] for r in requests],
            {r["custom_id"]: self.answer("anthropic", r["params"]) for r in requests},
            bodies={r["custom_id"]: r["params"] for r in requests},
        )
        self.batches[batch.id] = batch
        return web.json_response(self._anthropic_object(batch, ended=False))

    async def _anthropic_retrieve(self, request: web.Request) -> web.Response:
        self._log(request)
        batch = self.batches.get(request.match_info["batch_id"])
        if batch is None:
            return _anthropic_not_found()
        return web.json_response(self._anthropic_object(batch, ended=self._done(batch)))

    async def _anthropic_results(self, request: web.Request) -> web.Response:
        self._log(request)
        batch = self.batches.get(request.match_info["batch_id"])
        if batch is None:
            return _anthropic_not_found()
        rows = []
        for cid in reversed(batch.custom_ids):  # out of order, as the real API may be
            status, body = batch.results[cid]
            if cid in self.expired:
                result: dict[str, Any] = {"type": "expired"}
            elif status == 200:
                result = {"type": "succeeded", "message": body}
            else:
                result = {"type": "errored", "error": body}
            rows.append(json.dumps({"custom_id": cid, "result": result}) + "\n")
        return web.Response(text="".join(rows), content_type="application/x-jsonl")

    def _anthropic_object(self, batch: LoopbackBatch, *, ended: bool) -> dict[str, Any]:
        ok = sum(1 for cid, (s, _) in batch.results.items() if s == 200 and cid not in self.expired)
        expired = sum(1 for cid in batch.custom_ids if cid in self.expired)
        total = len(batch.custom_ids)
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else total,
                "succeeded": ok if ended else 0,
                "errored": total - ok - expired if ended else 0,
                "canceled": 0,
                "expired": expired if ended else 0,
            },
            "created_at": "2025-01-01T00:00:00Z",
            "expires_at": "2025-01-02T00:00:00Z",
            "ended_at": "2025-01-01T01:00:00Z" if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.server.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }


def _anthropic_not_found() -> web.Response:
    return web.json_response(
        {"type": "error", "error": {"type": "not_found_error", "message": "no such batch"}}, status=404
    )
