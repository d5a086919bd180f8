"""Concurrency limits per endpoint, shared by every model on it, split across xdist workers.

An API's rate limit is per account, not per process: with ``-n 8`` every worker is its own
process, so a limit of 16 in-flight requests means 2 per worker. The SDKs' retry on 429
is the backstop; this limit keeps a run from provoking the 429s in the first place.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Mapping


def worker_count(environ: Mapping[str, str] | None = None) -> int:
    """How many xdist workers share the account (1 outside xdist)."""
    env = os.environ if environ is None else environ
    try:
        return max(1, int(env.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    except ValueError:
        return 1


def per_worker_limit(total: int, workers: int) -> int:
    """This worker's share of ``total`` in-flight requests; never below 1 so work proceeds."""
    return max(1, total // max(1, workers))


class EndpointLimit:
    """At most ``limit`` requests in flight from this process, for sync and async callers.

    asyncio semaphores belong to one event loop, so one is made per running loop; sync
    callers (threads) share a separate threading semaphore. A run uses one or the other.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._thread_sem = threading.BoundedSemaphore(limit)
        self._loop_sems: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def for_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            sem = self._loop_sems.get(loop)
            if sem is None:
                sem = self._loop_sems[loop] = asyncio.Semaphore(self.limit)
            return sem

    @property
    def for_threads(self) -> threading.BoundedSemaphore:
        return self._thread_sem
