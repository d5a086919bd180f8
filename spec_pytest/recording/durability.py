"""When what a run wrote reaches the disk: once at the end of the run, not once per file.

Cassettes are written to a temp file and renamed over the old one, and result lines are
appended in one ``write`` each. From the moment the call returns the kernel holds the data, so
a process killed at any point (``kill -9``, a crashed xdist worker, an interrupted CI job)
loses nothing it wrote. Only the machine itself failing (a power loss, a kernel crash)
before the data is flushed can lose it; calling ``fsync`` after every file bought protection
against that alone and cost one disk flush per cassette and per result line, on the path of
every request. So each process flushes once, when its run ends (`flush_written`), and a
machine that dies mid-run loses at most what that run wrote since it started: the next run
asks for those cassettes again (a file cut short by the crash does not parse, which is an
error naming it, never a pass).
"""

from __future__ import annotations

import os

_written = False


def note_written() -> None:
    """Say that this process wrote a file that must reach the disk before the run ends."""
    global _written
    _written = True


def flush_written() -> bool:
    """Flush the filesystems' buffers if this process wrote anything since the last flush
    (one ``sync`` for every file, instead of an ``fsync`` each); True when it did."""
    global _written
    if not _written:
        return False
    _written = False
    if hasattr(os, "sync"):  # POSIX; elsewhere the OS flushes on its own schedule
        os.sync()
    return True
