"""Answering the synchronous SDK calls of a run from batch results, so vcrpy records them.

A batch result has the same body as the synchronous endpoint's answer. To turn it into the
cassette a normal run would have recorded, the run's own case pipeline
(`spec_pytest.pipeline.case_run.run_case`) runs as usual, through `ServedRecorder` (vcrpy's
`use_cassette` plus the exchange's name for the transport), with providers whose SDK clients sit on an
``httpx2.MockTransport``: vcrpy intercepts that transport like any other and writes the
exchange exactly as if it had gone over the network, so a later run replays it unchanged.

The transport answers a request with its batch result when there is one; otherwise it notes
the request as *unanswered* (the next batch to send) and answers a 400, which the SDK does
not retry and which keeps vcrpy from saving anything (the block raises).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from spec_pytest.judge import JudgeError
from spec_pytest.providers import ModelRef, ProviderError, ProviderSettings, Registry
from spec_pytest.providers.base import Provider
from spec_pytest.providers.batch import BatchResult
from spec_pytest.recording.cassettes import EndpointSite, RecordMode, body_fingerprint, use_cassette

#: What the transport answers for a request that has no batch result yet (never recorded).
UNANSWERED_MESSAGE = "spec-pytest --batch: this request waits for a batch result"


def custom_id(cassette: str | Path, method: str, url: str, body: bytes) -> str:
    """The batch ``custom_id`` of one exchange: stable across runs, unique per cassette.

    The cassette is part of it because two samples of a case send the same body and must
    still get two answers. 43 characters, within Anthropic's 64-character limit.
    """
    text = "\n".join((str(cassette), method.upper(), url, body_fingerprint(body)))
    return "sp-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """A synchronous request still to be sent through a batch, and the cassette it belongs to."""

    custom_id: str
    stage: str  # answers | judges
    model: str  # provider:model reference
    cassette: str
    method: str
    url: str
    body: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "model": self.model,
            "cassette": self.cassette,
            "method": self.method,
            "url": self.url,
            "body": self.body,
        }

    @classmethod
    def from_dict(cls, cid: str, data: Mapping[str, Any]) -> PendingRequest:
        return cls(
            cid, data["stage"], data["model"], data["cassette"], data["method"], data["url"], data["body"]
        )


@dataclass
class Exchange:
    """Which exchange the run's code is about to make: the transport cannot know it by itself."""

    stage: str
    model: str
    cassette: Path


@dataclass
class Served:
    """The batch results a run has so far, and the requests it asked for that had none."""

    results: dict[str, BatchResult] = field(default_factory=dict)
    unanswered: dict[str, PendingRequest] = field(default_factory=dict)
    current: Exchange | None = None
    hits: set[str] = field(default_factory=set)  # cassettes given a batch result in the current call
    #: the cassettes of `unanswered`, so asking whether one waits costs a lookup, not a scan of
    #: every request of the round (at 100k cases the scan made the judges' round quadratic)
    waiting: set[str] = field(default_factory=set)

    def new_round(self) -> None:
        """Forget the requests noted as unanswered: the next walk notes what still is."""
        self.unanswered.clear()
        self.waiting.clear()

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        assert self.current is not None, "Served.current must name the exchange being made"
        raw = request.read()
        url = str(request.url)
        cid = custom_id(self.current.cassette, request.method, url, raw)
        result = self.results.get(cid)
        if result is None or not result.ok:
            self.unanswered[cid] = PendingRequest(
                cid,
                self.current.stage,
                self.current.model,
                str(self.current.cassette),
                request.method,
                url,
                json.loads(raw) if raw else {},
            )
            self.waiting.add(str(self.current.cassette))
            return httpx2.Response(400, json={"error": {"message": UNANSWERED_MESSAGE, "type": "pending"}})
        self.hits.add(str(self.current.cassette))
        headers = {"content-type": "application/json", **result.headers}
        return httpx2.Response(200, content=json.dumps(result.body).encode("utf-8"), headers=headers)


class AwaitingBatch(JudgeError):
    """This judge's exchange waits for a batch result: a JudgeError so the panel's other
    judges are still asked in the same round (their requests join the same batch)."""


@dataclass
class ServedRecorder:
    """``--batch``'s `spec_pytest.recording.recorder.Recorder`: vcrpy records what `Served` answers.

    Around each exchange it tells the transport which exchange it is (``current``); a
    cassette given a batch result and closed cleanly is reported to ``on_written``.
    """

    served: Served
    on_written: Callable[[str], None] = lambda cassette: None
    concurrent = False  # vcrpy patches the process: one cassette at a time
    batch = True

    @contextmanager
    def __call__(
        self,
        path: str | os.PathLike[str],
        mode: RecordMode | str,
        *,
        rerecord_hint: str | None = None,
        secret_env_vars: Iterable[str] = (),
        stage: str = "answers",
        model: str = "",
        site: EndpointSite | None = None,
    ) -> Iterator[None]:
        served = self.served
        served.current = Exchange(stage, model, Path(path))
        served.hits.clear()
        try:
            with use_cassette(
                path, mode, rerecord_hint=rerecord_hint, secret_env_vars=secret_env_vars, site=site
            ):
                yield
        except ProviderError:
            if stage == "judges" and self.pending(path):
                raise AwaitingBatch(model, UNANSWERED_MESSAGE) from None
            raise
        finally:
            served.current = None
        if str(path) in served.hits:  # the block ended normally: vcrpy saved it
            self.on_written(str(path))

    def pending(self, path: str | os.PathLike[str]) -> bool:
        return str(path) in self.served.waiting


@dataclass(frozen=True)
class _ServedClients:
    """`providers.base.HttpClients` sending through the `Served` transport, and nowhere else."""

    transport: httpx2.MockTransport

    def sync_client(self) -> httpx2.Client:
        return httpx2.Client(transport=self.transport)

    def async_client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=self.transport)


class ServedRegistry(Registry):
    """The run's endpoints, with providers whose requests the `Served` transport answers.

    Request bodies, URLs and parsing are the real providers' (built by each endpoint's
    family, with only the HTTP clients swapped), so the cassettes written are the ones the
    synchronous run would write.
    """

    def __init__(self, base: Registry, served: Served) -> None:
        super().__init__([base.endpoint(name) for name in base.names()], environ=base.environ)
        self._clients = _ServedClients(served.transport())
        self._served_providers: dict[tuple[ModelRef, ProviderSettings], Provider] = {}

    def provider(self, ref: str | ModelRef, settings: ProviderSettings | None = None) -> Provider:
        model = ModelRef.parse(ref) if isinstance(ref, str) else ref
        settings = settings or ProviderSettings()
        key = (model, settings)
        built = self._served_providers.get(key)
        if built is None:
            endpoint = self.endpoint(model.provider)
            provider = endpoint.family.provider(model, endpoint, settings, self, http=self._clients)
            built = self._served_providers[key] = provider
        return built

    def close(self) -> None:
        for provider in self._served_providers.values():
            provider.close()
        self._served_providers.clear()
