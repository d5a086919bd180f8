"""The prefetch: every request the selected items will make, issued concurrently before they run.

One background thread runs one event loop. For each planned case, in item order, one task
runs the case pipeline items use (`spec_pytest.pipeline.case_run.run_case`: the answer,
then, as soon as it arrives, the judge panel, its judges at once), with the cassette
handling swapped for tapes (`spec_pytest.recording.tape.TapeRecorder`). The SDKs' async
clients are shared per provider on that loop, with the capture transport inside; each
endpoint admits requests through an `AdaptiveLimit`, judges first.

With ``--max-cost`` (``RunSettings.budget``), `run_case` reserves and charges each stage
as it does for an item (`spec_pytest.pipeline.budget`); a refused case settles with a
`FanoutError` saying the budget ran out.

When a case's exchanges are done its cassettes are written (off the loop) and the case is
settled. An item of the same process then takes the trial the fan-out's pipeline produced
(`Prefetch.trial_for`): the same `run_case` over the same exchanges, whose cassettes are now
on disk, so replaying them through vcrpy and the SDKs again would only repeat the work.
Where the trial is not kept (an xdist controller, whose items run in workers) the item
replays the cassettes in record mode ``none``: a miss at that point would be a bug, and it
is loud.
A failure (API error after the SDK's retries, unusable judge, stale cassette, budget)
settles the case with that error, and its item ends as an ERROR carrying it.

Interrupting the run cancels what is in flight; cassettes of finished exchanges stay on
disk (a failed judge does not discard its case's recorded answer), so the next run asks
only for the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import httpx2

from spec_pytest.core.case import Case
from spec_pytest.errors import RunError
from spec_pytest.pipeline.admission import AdaptiveLimit
from spec_pytest.pipeline.budget import BudgetExhausted  # the budget said no: no further request
from spec_pytest.pipeline.case_run import run_case
from spec_pytest.pipeline.fetch_plan import Planned, case_key, to_fetch
from spec_pytest.pipeline.handoff import Markers
from spec_pytest.pipeline.progress import Progress
from spec_pytest.pipeline.run import RunSettings
from spec_pytest.pipeline.trial import Trial
from spec_pytest.providers.base import ASYNC_HOOKS, SdkProvider
from spec_pytest.providers.errors import MissingKeyError
from spec_pytest.providers.families import input_tokens, output_limit
from spec_pytest.recording.cassettes import EndpointSite, RecordMode
from spec_pytest.recording.tape import TapeRecorder, save_all
from spec_pytest.recording.transport import CURRENT_REF, CaptureTransport, UsageObserver, retry_after

Kind = Literal["answer", "judge"]


@dataclass(frozen=True, slots=True)
class RequestEstimate:
    """What the next request may cost, for a budget check before it starts (rough: chars / 4)."""

    model: str
    kind: Kind
    input_tokens: int
    max_output_tokens: int | None


#: ``allow(estimate) -> bool``: False stops new requests (e.g. a --max-cost budget).
AllowFn = Callable[[RequestEstimate], bool]


class FanoutError(RunError):
    """The prefetch could not make this case's exchanges; the text says why and what to do."""

    def __init__(self, path: str | os.PathLike[str], message: str, missing_key: str | None = None) -> None:
        self.path = Path(path)
        self.missing_key = missing_key  # the fetch failed for want of this key variable
        super().__init__(message)


class FanoutBudgetError(FanoutError, BudgetExhausted):
    """The budget refused this case's requests in the fan-out: a budget error, like the item's."""


class FanoutTimeout(FanoutError, TimeoutError):
    """The case's prefetch did not settle in the time allowed (a stalled API or controller)."""


BUDGET_MESSAGE = (
    "the run's budget ran out before this case's requests were made ({done} of {total} requests "
    "done); exchanges already made are kept in their cassettes, so a run with a larger budget "
    "continues where this one stopped"
)

_KIND: contextvars.ContextVar[Kind] = contextvars.ContextVar("spec_pytest_fanout_kind", default="answer")
_INDEX: contextvars.ContextVar[int] = contextvars.ContextVar("spec_pytest_fanout_index", default=0)


class Prefetch:
    """The background fan-out for a list of planned cases (see the module docstring).

    ``concurrency`` replaces every endpoint's ``max_concurrency`` (the whole budget goes to
    this process). ``markers`` (xdist controller) publishes each case's state for workers.
    ``allow`` is asked before every new request; ``on_usage(model_ref, input, output)`` is
    told the tokens of every recorded answer (e.g. to charge a budget with real costs).
    """

    def __init__(
        self,
        run: RunSettings,
        planned: Sequence[Planned],
        *,
        concurrency: int | None = None,
        progress: Progress | None = None,
        allow: AllowFn | None = None,
        markers: Markers | None = None,
        on_usage: UsageObserver | None = None,
        wait_timeout: float = 3600.0,
    ) -> None:
        self.run = run
        self.planned = list(planned)
        self._by_key = {p.key: p for p in self.planned}
        self.concurrency = concurrency
        self.progress = progress or Progress(mode="quiet")
        self.progress.add(sum(p.requests for p in self.planned))
        self.allow = allow
        self.markers = markers
        self.on_usage = on_usage
        self.wait_timeout = wait_timeout
        #: keep each case's trial for the item that will ask for it (`trial_for`): only where
        #: the items run in this process (no ``markers``: not an xdist controller)
        self.keep_trials = markers is None
        self.replay_settings = replay_only(run)
        self._limits: dict[str, AdaptiveLimit] = {}
        self._budget_spent = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Future[Any] | None = None
        self.finished = threading.Event()
        self._deadlines: dict[str, float] = {}  # key -> when waiting for that case gives up

    # -- the item side ---------------------------------------------------------------------
    def wait_for(self, case: Any) -> bool:
        """Block until ``case``'s exchanges are fetched or failed (at most ``wait_timeout``);
        whether it settled (True also for a case not planned). Lets the caller wait outside an
        item's phases, so the wait is the session's time, not the item's; `settings_for`
        then answers at once."""
        planned = self._by_key.get(case_key(self.run, case))
        if planned is None:
            return True
        deadline = self._deadlines.setdefault(planned.key, time.monotonic() + self.wait_timeout)
        return planned.settled.wait(max(0.0, deadline - time.monotonic()))  # one wait a case

    def settings_for(self, case: Any) -> RunSettings:
        """The settings to run ``case`` with, once its exchanges are fetched.

        A case the prefetch did not plan runs as it would have anyway. A planned one waits
        for its cassettes, then replays them (record mode ``none``); if the fetch failed,
        that error is raised here, so the item ends as the ERROR the sync path would give.
        """
        planned = self._by_key.get(case_key(self.run, case))
        if planned is None:
            return self.run
        if not self.wait_for(case):
            raise FanoutTimeout(
                planned.model_path,
                f"waited {self.wait_timeout:g} s for the prefetch of this case's exchanges "
                f"({planned.model_path}); the API may be stalled: re-run to continue",
            )
        error = planned.error
        if error is None:
            return self.replay_settings
        if isinstance(error, Exception):
            raise error
        raise FanoutError(planned.model_path, f"the prefetch of this case was interrupted ({error!r})")

    def trial_for(self, case: Any) -> Trial | None:
        """The trial the fan-out ran for ``case``, once (None: not planned, failed, or not kept).

        Call after `settings_for` (which waits and raises the case's error). The trial is
        handed over and forgotten, so a run holds at most the trials of cases not yet run.
        """
        planned = self._by_key.get(case_key(self.run, case))
        if planned is None or not planned.settled.is_set() or planned.error is not None:
            return None
        trial, planned.trial = planned.trial, None
        return trial

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Prefetch:
        if self.markers is not None:
            for planned in self.planned:
                self.markers.pending(planned.key)
        self._thread = threading.Thread(target=self._thread_main, name="spec-pytest-fanout", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Stop: cancel what is in flight (finished cassettes stay written), wait for the thread."""
        loop, main = self._loop, self._main
        if loop is not None and main is not None and not loop.is_closed():
            loop.call_soon_threadsafe(main.cancel)
        if self._thread is not None:
            self._thread.join(timeout)
        self.progress.finish()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every planned case is settled (benchmarks, scripts)."""
        return self.finished.wait(timeout)

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        ASYNC_HOOKS.set(_Hooks(self))
        try:
            self._main = loop.create_task(self._run_all())
            loop.run_until_complete(self._main)
        except BaseException:  # cancelled by close(): every case has settled itself
            pass
        finally:
            for planned in self.planned:
                if not planned.settled.is_set():
                    self._settle(planned, asyncio.CancelledError())
            with contextlib.suppress(Exception):  # the SDK clients' sockets, before the loop goes
                loop.run_until_complete(self.run.ask.registry.aclose())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
            self.finished.set()

    async def _run_all(self) -> None:
        await asyncio.gather(*(self._run_case(p) for p in self.planned))

    # -- one case ------------------------------------------------------------------------------
    async def _run_case(self, planned: Planned) -> None:
        """`spec_pytest.pipeline.case_run.run_case` on this loop, through tapes; then settle."""
        _INDEX.set(planned.index)
        tapes = _Tapes()
        error: BaseException | None = None
        trial: Trial | None = None
        try:
            trial = await run_case(planned.case, self.run, tapes, self.run.budget)
        except BudgetExhausted:
            done, total = self.progress.done, self.progress.total
            error = FanoutBudgetError(planned.model_path, BUDGET_MESSAGE.format(done=done, total=total))
        except BaseException as err:
            error = err
        try:  # finished exchanges are kept whatever happened to the rest of the case
            if isinstance(error, asyncio.CancelledError):
                for tape in tapes.finished:
                    tape.save()
            else:
                await save_all(tapes.finished)
        except Exception as err:
            error = error or err
        # answers are scrubbed as they arrive (`providers.base`), live and replayed alike: the
        # kept trial holds the text a replay of its cassette gives
        if error is None and self.keep_trials and trial is not None:
            planned.trial = trial
        self._settle(planned, error)
        if isinstance(error, asyncio.CancelledError):
            raise error

    def _settle(self, planned: Planned, error: BaseException | None) -> None:
        planned.error = error
        if self.markers is not None:
            if error is None:
                self.markers.done(planned.key)
            else:
                missing = error.env_var if isinstance(error, MissingKeyError) else None
                self.markers.failed(planned.key, _error_text(error), missing)
        planned.settled.set()

    # -- limits and budget (called on the loop) -----------------------------------------------
    def limit(self, endpoint: str) -> AdaptiveLimit:
        limit = self._limits.get(endpoint)
        if limit is None:
            budget = self.concurrency or self.run.ask.registry.endpoint(endpoint).max_concurrency
            limit = self._limits[endpoint] = AdaptiveLimit(budget)
        return limit

    @asynccontextmanager
    async def slot(self, provider: SdkProvider[Any, Any], body: dict[str, Any]) -> AsyncIterator[None]:
        """Admission for one request: budget, adaptive endpoint limit, judges before answers."""
        if self._budget_spent:
            raise BudgetExhausted()
        kind = _KIND.get()
        CURRENT_REF.set(str(provider.ref))
        limit = self.limit(provider.endpoint.name)
        await limit.acquire(_priority(kind))
        answered = False
        try:
            if self.allow is not None and not self.allow(_estimate(str(provider.ref), kind, body)):
                self._budget_spent = True
                raise BudgetExhausted()
            yield
            answered = True
        finally:
            limit.release(answered=answered)
            self.progress.request_done(ok=answered)


class _Tapes(TapeRecorder):
    """Tapes that also tell the admission which kind of request is next (judges go first)."""

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
        _KIND.set("judge" if stage == "judges" else "answer")
        return super().__call__(
            path,
            mode,
            rerecord_hint=rerecord_hint,
            secret_env_vars=secret_env_vars,
            stage=stage,
            model=model,
            site=site,
        )


def _priority(kind: Kind) -> int:
    """Judges first (they finish a case), then answers in item order."""
    return (0 if kind == "judge" else 1) * 10**9 + _INDEX.get()


#: The most connections one inner transport pools (see `_Hooks.http_client`).
POOL_SIZE = 16


class _Hooks:
    """`providers.base.AsyncHooks` for the fan-out's loop."""

    def __init__(self, prefetch: Prefetch) -> None:
        self._prefetch = prefetch

    def http_client(self, endpoint: str, max_body_bytes: int) -> httpx2.AsyncClient:
        limit = self._prefetch.limit(endpoint)
        progress, extra = self._prefetch.progress, self._prefetch.on_usage

        def on_usage(model: str, spent_in: int, spent_out: int) -> None:
            progress.spent(model, spent_in, spent_out)
            if extra is not None:
                extra(model, spent_in, spent_out)

        def on_attempt(status: int, headers: httpx2.Headers, started: float) -> None:
            limit.on_attempt(status, retry_after(headers) if status in (429, 503) else None, started)

        # As many connections as the endpoint admits requests at once, in pools of at most
        # POOL_SIZE: httpcore walks every connection of a pool on each request (expiry checks),
        # which with one pool of 1,000 was a third of the fan-out thread at 256 requests at once
        shards = -(-limit.budget // POOL_SIZE)
        size = -(-limit.budget // shards)
        pool = httpx2.Limits(max_connections=size, max_keepalive_connections=size)
        transport = CaptureTransport(
            [httpx2.AsyncHTTPTransport(limits=pool) for _ in range(shards)],
            on_attempt=on_attempt,
            on_usage=on_usage,
            max_body_bytes=max_body_bytes,
        )
        return httpx2.AsyncClient(transport=transport, timeout=httpx2.Timeout(600.0), follow_redirects=True)

    def slot(self, provider: SdkProvider[Any, Any], body: dict[str, Any]) -> Any:
        return self._prefetch.slot(provider, body)


def _estimate(model: str, kind: Kind, body: dict[str, Any]) -> RequestEstimate:
    """The request's tokens as its family reads the body (the same estimate as the plan's)."""
    return RequestEstimate(model, kind, input_tokens(body), output_limit(body))


def replay_only(run: RunSettings) -> RunSettings:
    """``run`` with both record modes ``none``: what an item uses after its case was prefetched."""
    return replace(run, ask=replace(run.ask, record_mode=RecordMode.NONE), judge_record_mode=RecordMode.NONE)


def _error_text(error: BaseException) -> str:
    if isinstance(error, asyncio.CancelledError):
        return "the prefetch of this case was interrupted before it finished; re-run to continue"
    return str(error) or repr(error)


def start_prefetch(run: RunSettings, cases: Iterable[Case], **options: Any) -> Prefetch:
    """Plan ``cases`` under ``run`` and start fetching them; see `Prefetch` for ``options``."""
    return Prefetch(run, to_fetch(run, cases), **options).start()
