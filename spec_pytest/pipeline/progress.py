"""Progress of a fan-out: requests done / total, ETA, tokens and (optionally) cost so far.

Three ways to show it, chosen by the caller from the terminal and verbosity:

* ``tty``: one line rewritten in place (carriage return) at most a few times a second;
* ``lines``: a plain line every ``interval`` seconds and one at the end, which is what a
  CI log can hold (no control characters, no flood);
* ``quiet``: nothing (``-q``).

The price table is someone else's: pass ``cost(tokens, model) -> dollars`` to show money;
``tokens`` is ``(input, output)``. Thread-safe: the fan-out's loop counts, anyone reads.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TextIO

CostFn = Callable[[tuple[int, int], str], float | None]
Mode = Literal["tty", "lines", "quiet"]


@dataclass
class Progress:
    total: int = 0
    mode: Mode = "lines"
    stream: TextIO | None = None  # default: sys.stderr at write time
    interval: float = 30.0  # seconds between plain lines
    cost: CostFn | None = None
    done: int = 0
    failed: int = 0
    tokens: dict[str, list[int]] = field(default_factory=dict)  # model -> [input, output]
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None  # when the last planned request finished (the line's clock stops)
    _last_shown: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_terminal(cls, verbosity: int, stream: TextIO | None = None, **options: object) -> Progress:
        """``quiet`` under -q, ``tty`` on a terminal, else periodic ``lines``."""
        out = stream or sys.stderr
        mode: Mode = "quiet" if verbosity < 0 else ("tty" if out.isatty() else "lines")
        return cls(mode=mode, stream=out, **options)  # type: ignore[arg-type]

    def add(self, requests: int) -> None:
        """More requests are planned (a judge asked a second time, a new case)."""
        with self._lock:
            self.total += requests

    def request_done(self, *, ok: bool = True) -> None:
        with self._lock:
            self.done += 1
            self.failed += 0 if ok else 1
            self.total = max(self.total, self.done)
            self.ended = time.monotonic() if self.done >= self.total else None
        self._maybe_show()

    def spent(self, model: str, input_tokens: int, output_tokens: int) -> None:
        with self._lock:
            counts = self.tokens.setdefault(model, [0, 0])
            counts[0] += input_tokens
            counts[1] += output_tokens

    def line(self) -> str:
        """``spec-pytest fan-out: 120/400 requests, 2 failed, 12.3 s, ETA 20 s, 45.1k tokens, $0.12``."""
        with self._lock:
            done, total, failed = self.done, self.total, self.failed
            tokens = {m: (c[0], c[1]) for m, c in self.tokens.items()}
            ended = self.ended
        elapsed = (time.monotonic() if ended is None else ended) - self.started
        parts = [f"{done}/{total} requests"]
        if failed:
            parts.append(f"{failed} failed")
        parts.append(f"{elapsed:.1f} s")
        if 0 < done < total:
            parts.append(f"ETA {elapsed / done * (total - done):.0f} s")
        spent = sum(i + o for i, o in tokens.values())
        if spent:
            parts.append(f"{_short(spent)} tokens")
        if self.cost is not None and tokens:
            prices = [self.cost(t, m) for m, t in tokens.items()]
            if all(p is not None for p in prices):
                parts.append(f"${sum(p for p in prices if p is not None):.2f}")
        return "spec-pytest fan-out: " + ", ".join(parts)

    def _maybe_show(self) -> None:
        if self.mode == "quiet":
            return
        now = time.monotonic()
        gap = 0.25 if self.mode == "tty" else self.interval
        if now - self._last_shown < gap:
            return
        self._last_shown = now
        self._write(self.line(), final=False)

    def finish(self) -> None:
        """The last line (on a terminal: the updating line, completed with a newline)."""
        if self.mode != "quiet" and self.total:
            self._write(self.line(), final=True)

    def _write(self, text: str, *, final: bool) -> None:
        out = self.stream or sys.stderr
        try:
            if self.mode == "tty":
                out.write("\r\x1b[2K" + text + ("\n" if final else ""))
            else:
                out.write(text + "\n")
            out.flush()
        except (OSError, ValueError):  # a closed or broken stream must not stop the run
            pass


def _short(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10_000 else str(n)
