"""Recorders: how one exchange reaches the cassette at its path, whoever drives the run.

A run makes the same exchanges whether an item asks one case at a time, the fan-out asks
hundreds at once, or a batch round answers them from batch results; only the way a request
gets into (or out of) its cassette differs. A `Recorder` is that difference, and nothing
else: vcrpy's process-wide patch for items (`VCR`), a tape chosen by context for the fan-out
(`spec_pytest.recording.tape.TapeRecorder`), batch results served into vcrpy for ``--batch``
(`spec_pytest.pipeline.batch.served.ServedRecorder`).

`through_cassette` is the one "call a model through a cassette" sequence: the provider
(replay-only when the cassette will replay, so no key is needed and a miss fails fast),
the cassette's lock when it will record (`spec_pytest.recording.lock`: a second run waits,
then replays what the first recorded), the recorder's scope around the call, the call. The model's answer
(`spec_pytest.pipeline.ask`) and every judge (`spec_pytest.judge.panel`) go through it.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from spec_pytest.providers import ModelRef, ProviderSettings, Registry
from spec_pytest.providers.base import Provider
from spec_pytest.recording.cassettes import EndpointSite, RecordMode, use_cassette, will_replay
from spec_pytest.recording.lock import CassetteLock

T = TypeVar("T")


class Recorder(Protocol):
    """Opens the cassette at ``path`` around one exchange (``stage``: answers | judges).

    ``site`` is the endpoint ``model`` is asked on in this run: the cassette matches its
    recorded URLs against that base URL, wherever they were recorded (`EndpointSite`).

    ``concurrent``: scopes may be open at once (nothing is patched process-wide), so a
    panel's judges may run together. ``batch``: exchanges are billed at batch prices.
    `pending` says whether the exchange at ``path`` is waiting for an answer that will come
    later (a batch result): its budget reservation is then kept, not charged.
    """

    @property
    def concurrent(self) -> bool: ...

    @property
    def batch(self) -> bool: ...

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
    ) -> AbstractContextManager[Any]: ...

    def pending(self, path: str | os.PathLike[str]) -> bool: ...


class VcrRecorder:
    """vcrpy's `use_cassette`: one cassette open per process at a time (the items' way)."""

    concurrent = False
    batch = False

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
    ) -> AbstractContextManager[Any]:
        return use_cassette(
            path, mode, rerecord_hint=rerecord_hint, secret_env_vars=secret_env_vars, site=site
        )

    def pending(self, path: str | os.PathLike[str]) -> bool:
        return False


VCR = VcrRecorder()


async def through_cassette(
    recorder: Recorder,
    registry: Registry,
    model: str,
    path: str | os.PathLike[str],
    mode: RecordMode,
    call: Callable[[Provider], Awaitable[T]],
    *,
    stage: str,
    rerecord_hint: str | None = None,
    settings: ProviderSettings | None = None,
    replay: bool | None = None,
) -> T:
    """``call(provider)`` for ``model`` with its requests going through the cassette at ``path``.

    ``replay``: `will_replay` of the cassette, when the caller has already read it. A
    cassette that will record is locked first, and opened only once the lock is held; a
    tape still to be saved (the fan-out's) takes the lock over and releases it when saved.
    """
    replay = will_replay(path, mode) if replay is None else replay
    provider = registry.provider(model, replace(settings or ProviderSettings(), replay=replay))
    endpoint = registry.endpoint(ModelRef.parse(model).provider)
    lock = None if replay else CassetteLock(path)
    if lock is not None:
        await lock.acquire()
    try:
        with recorder(
            path,
            mode,
            rerecord_hint=rerecord_hint,
            secret_env_vars=registry.key_env_vars(),
            stage=stage,
            model=model,
            site=EndpointSite(endpoint.name, endpoint.base_url),
        ) as scope:
            result = await call(provider)
        if lock is not None and getattr(scope, "awaiting_save", False):
            scope.lock, lock = lock, None  # a tape saved later (the fan-out's): released then
        return result
    finally:
        if lock is not None:
            lock.release()
