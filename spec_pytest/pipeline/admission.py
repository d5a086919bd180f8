"""Per-endpoint admission for the fan-out: a window that adapts to 429s, and a queue with priorities.

* The window starts at the endpoint's budget (``max_concurrency``, or ``--concurrency``) and
  is the number of requests allowed in flight. A 429 halves it (at most once per round
  trip: 429s from requests that started before the last cut are the same congestion
  event); each answered request grows it by 1/window, so it climbs back by about one per
  window's worth of answers, up to the budget (AIMD, as TCP does).
* ``Retry-After`` on any attempt closes the endpoint to *new* requests until then; the
  SDK's own retry of that very request honours the header by itself.
* Waiters are served by priority, then arrival: the fan-out gives a judge call priority
  over a new answer, so a case finishes (and its item can run) as soon as possible.

The budget is for this process: under xdist the controller prefetches alone and gets an
endpoint's whole budget (workers only replay), unlike `providers.limits.EndpointLimit`,
which splits it across workers that each call the API.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass, field


@dataclass
class AdaptiveLimit:
    """One endpoint's in-flight window (see the module docstring). Use on one event loop."""

    budget: int
    window: float = 0.0
    in_flight: int = 0
    not_before: float = 0.0  # monotonic time before which no new request starts
    last_cut: float = field(default=-1.0)
    throttled: int = 0  # 429s seen
    _waiters: list[tuple[int, int, asyncio.Future[None]]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _wakeup: asyncio.TimerHandle | None = None

    def __post_init__(self) -> None:
        self.budget = max(1, int(self.budget))
        self.window = float(self.window or self.budget)

    @property
    def capacity(self) -> int:
        return max(1, int(self.window))

    async def acquire(self, priority: int = 0) -> float:
        """Wait for a slot; returns the monotonic time the request may start at."""
        if not self._waiters and self._can_start():
            self.in_flight += 1
            return time.monotonic()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        self._grant()  # may be this one (an earlier waiter left), or arm the Retry-After timer
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(answered=False)  # granted just as we were cancelled: give it back
            raise
        return time.monotonic()

    def release(self, *, answered: bool = True) -> None:
        """Free a slot. It is handed on two loop turns later, not at once: the request that
        just finished usually continues its case (its judges, started as tasks), and those
        must be queued, with their priority, before the slot goes to a new answer."""
        self.in_flight -= 1
        if answered:
            self.window = min(float(self.budget), self.window + 1.0 / max(self.window, 1.0))
        if self._waiters:
            loop = asyncio.get_running_loop()
            loop.call_soon(loop.call_soon, self._grant)

    def on_attempt(self, status: int, retry_after: float | None, started: float) -> None:
        """Told of every HTTP attempt (the SDK's retries included)."""
        now = time.monotonic()
        if status == 429:
            self.throttled += 1
            if started >= self.last_cut:
                self.window = max(1.0, self.window / 2)
                self.last_cut = now
        if retry_after:
            self.not_before = max(self.not_before, now + retry_after)

    def _can_start(self) -> bool:
        return self.in_flight < self.capacity and time.monotonic() >= self.not_before

    def _grant(self) -> None:
        while self._waiters and self._can_start():
            _, _, future = heapq.heappop(self._waiters)
            if future.done():  # cancelled while waiting
                continue
            self.in_flight += 1
            future.set_result(None)
        if self._waiters and self.in_flight < self.capacity and self._wakeup is None:
            delay = max(0.0, self.not_before - time.monotonic())
            self._wakeup = asyncio.get_running_loop().call_later(delay, self._wake)

    def _wake(self) -> None:
        self._wakeup = None
        self._grant()
