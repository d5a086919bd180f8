"""Markers: how the prefetching process (the xdist controller) tells workers where a case stands.

They live in the run's own directory (shared by the controller and its workers, removed at
the end), one per planned case, named by a hash of the case's model-cassette path:

* ``<key>.pending`` (JSON with the writer's pid and host) from before the case's first
  request until its cassettes are written;
* ``<key>.failed`` instead, holding the error text the item must end with (an ERROR,
  never a pass), when its exchanges could not be made.

Kept out of the cassette directory on purpose: nothing for ``git status`` to show, and no
marker from an earlier run can ever be read by a later one. Within a run, a marker only
binds while its writer lives: if the controller is killed, a waiting worker sees a
pending marker whose pid is gone (`State.STALE`) and runs the item itself. Resuming
across runs needs no marker at all: finished cassettes are on disk and replay.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
from contextlib import suppress
from enum import Enum
from pathlib import Path


class State(str, Enum):
    PENDING = "pending"  # a live process is still fetching it
    FAILED = "failed"  # the fetch failed: read the text with `failure`
    DONE = "done"  # no marker: the cassettes are written
    STALE = "stale"  # a pending marker whose writer is gone


class Markers:
    """The markers of one run directory, keyed by any string (the model cassette's path)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)

    def _base(self, key: str) -> Path:
        return self.run_dir / "markers" / hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]

    def pending(self, key: str) -> None:
        _write(self._base(key).with_suffix(".pending"), json.dumps(_me()))

    def done(self, key: str) -> None:
        with suppress(FileNotFoundError):
            self._base(key).with_suffix(".pending").unlink()

    def failed(self, key: str, text: str, missing_key: str | None = None) -> None:
        """Record the failure first, then drop the pending marker: a reader never sees neither.

        ``missing_key``: the fetch failed for want of this key variable (the workers' items
        then say so the way their own would, `spec_pytest.pytest.missing_keys`)."""
        if missing_key:
            _write(self._base(key).with_suffix(".missing-key"), missing_key)
        _write(self._base(key).with_suffix(".failed"), text)
        self.done(key)

    def missing_key(self, key: str) -> str | None:
        """The key variable whose absence failed the fetch of ``key``, if that is why."""
        try:
            return self._base(key).with_suffix(".missing-key").read_text(encoding="utf-8") or None
        except FileNotFoundError:
            return None

    def failure(self, key: str) -> str | None:
        try:
            return self._base(key).with_suffix(".failed").read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def state(self, key: str) -> State:
        base = self._base(key)
        if base.with_suffix(".failed").exists():
            return State.FAILED
        try:
            data = json.loads(base.with_suffix(".pending").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return State.FAILED if base.with_suffix(".failed").exists() else State.DONE
        except (ValueError, UnicodeDecodeError):
            return State.STALE
        if isinstance(data, dict) and data.get("host") == _me()["host"] and pid_alive(data.get("pid")):
            return State.PENDING
        return State.STALE


def _me() -> dict[str, object]:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)


def pid_alive(pid: object) -> bool:
    """Whether a process with this pid exists (on this host)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if os.name == "nt":  # signal 0 is CTRL_C_EVENT there: never send it; waiting times out instead
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True
