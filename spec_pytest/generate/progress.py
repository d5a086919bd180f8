"""A progress display on stderr, small enough not to need a dependency.

On a terminal one line is redrawn in place; in a CI log (not a TTY) a plain line is
printed every so often instead, because carriage returns turn a log into one huge line.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class GenerationProgress:
    def __init__(
        self, total: int, label: str = "generating", stream: TextIO | None = None, every_s: float = 10.0
    ) -> None:
        self.total = total
        self.done = 0
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.every_s = every_s
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._started = time.monotonic()
        self._last = float("-inf")

    def advance(self, n: int = 1, note: str = "") -> None:
        self.done += n
        now = time.monotonic()
        if self._tty:
            self.stream.write(f"\r\x1b[2K{self._line(note)}")
            self.stream.flush()
        elif now - self._last >= self.every_s or self.done >= self.total:
            self.stream.write(self._line(note) + "\n")
            self.stream.flush()
            self._last = now

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()

    def _line(self, note: str) -> str:
        elapsed = time.monotonic() - self._started
        width = 24
        filled = width * self.done // self.total if self.total else width
        bar = "#" * filled + "." * (width - filled)
        text = f"{self.label} [{bar}] {self.done}/{self.total} pairs, {elapsed:.0f}s"
        return f"{text} {note}".rstrip()
