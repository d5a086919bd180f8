"""One writer per cassette across processes, and a place for its half-written files.

Two runs on one cassette directory (two terminals, two CI jobs on a shared volume) used to
both find a cassette missing and both pay for the same requests. A run that is about to
record a cassette now takes that cassette's lock first (`CassetteLock`, a `filelock`
lock: released by the OS if the holder dies), and opens the cassette only once it holds
it: the run that came second finds the cassette the first one finished and replays it.
Replaying takes no lock (a cassette is replaced by an atomic rename, never half-written).

The lock file and the persister's temporary files live in `work_dir`, a directory
``.spec-pytest-tmp/`` beside the cassette that ignores itself (its ``.gitignore`` says
``*``): same filesystem, so ``os.replace`` stays atomic, and what a killed writer leaves
behind is never picked up by ``git add`` and needs no line in the project's .gitignore.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from filelock import FileLock, Timeout

WORK_DIR = ".spec-pytest-tmp"
#: How often a run waiting for another run's cassette looks again.
POLL_S = 0.05


def work_dir(cassette: str | os.PathLike[str]) -> Path:
    """The self-ignoring directory for ``cassette``'s lock and temporary files, created."""
    folder = Path(cassette).parent / WORK_DIR
    ignore = folder / ".gitignore"
    if not ignore.exists():
        folder.mkdir(parents=True, exist_ok=True)
        ignore.write_text("# spec-pytest's locks and half-written cassettes: never committed\n*\n")
    return folder


class CassetteLock:
    """The cross-process lock of one cassette; re-entrant within a process.

    ``acquire`` waits without blocking the event loop (the fan-out's other requests go on).
    """

    def __init__(self, cassette: str | os.PathLike[str]) -> None:
        self.cassette = Path(cassette)
        path = work_dir(cassette) / f"{self.cassette.name}.lock"
        self._lock = FileLock(path, thread_local=False, is_singleton=True)

    async def acquire(self) -> None:
        while True:
            try:
                self._lock.acquire(timeout=0)
                return
            except Timeout:
                await asyncio.sleep(POLL_S)

    def release(self) -> None:
        self._lock.release()

    @property
    def held(self) -> bool:
        return self._lock.is_locked
