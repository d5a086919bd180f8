"""A tape: one cassette as the fan-out drives it, chosen per request by context, not by patching.

vcrpy installs one cassette for the whole process (it patches httpx2's transports), so many
items' cassettes cannot be open at once through it. The fan-out keeps vcrpy's `Cassette`
objects (same options, filters, serializer and atomic persister as `use_cassette`, via
`detached_cassette`) and decides which one a request belongs to with a context variable:
`tape_scope` sets it around a model or judge call, the capture transport
(`spec_pytest.recording.transport`) reads it. Every asyncio task has its own context, so
hundreds of tapes can be "open" at once on one event loop, each seeing only its own calls.

The file written is the one vcrpy would have written for the same exchanges, so an item
later replays it through `use_cassette` byte for byte.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcr.cassette import Cassette

from spec_pytest.recording.cassettes import EndpointSite, RecordMode, cassette_error, detached_cassette
from spec_pytest.recording.lock import CassetteLock


@dataclass
class Tape:
    """One cassette, loaded and not patched in; `recorded` counts exchanges added this run."""

    path: Path
    cassette: Cassette
    recorded: int = 0
    #: filled by the transport: (input, output) tokens per model of recorded exchanges
    tokens: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: the cassette's lock while this tape records (`through_cassette` hands it over):
    #: held until the tape is saved, so another run waits for the finished file
    lock: CassetteLock | None = None
    saved: bool = False

    @property
    def awaiting_save(self) -> bool:
        return not self.saved

    def save(self) -> None:
        """Write the cassette if it changed: the persister's temp file + rename, secrets checked."""
        try:
            self.cassette._save()  # what vcrpy's context manager calls on a clean exit
            self.saved = True
        finally:
            self.release()

    def release(self) -> None:
        """Let other runs at the cassette (after `save`, or when the tape is dropped)."""
        lock, self.lock = self.lock, None
        if lock is not None:
            lock.release()


#: The tape the current task's requests go through (None: no fan-out context).
CURRENT_TAPE: contextvars.ContextVar[Tape | None] = contextvars.ContextVar("spec_pytest_tape", default=None)


@contextmanager
def tape_scope(
    path: str | os.PathLike[str],
    mode: RecordMode | str = RecordMode.ONCE,
    *,
    rerecord_hint: str | None = None,
    secret_env_vars: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    finished: list[Tape] | None = None,
    site: EndpointSite | None = None,
) -> Iterator[Tape]:
    """`use_cassette`'s contract, for the fan-out: requests in the block go through ``path``.

    The same errors (`MissingCassetteError`, `StaleCassetteError` via `cassette_error`), and
    nothing saved when the block raises. With ``finished``, a clean tape is appended there
    instead of saved at once: the scheduler saves a case's tapes together, off the loop
    (`save_all`), so serialising and fsync never stall the other requests.
    """
    cassette = detached_cassette(
        path, mode, rerecord_hint=rerecord_hint, secret_env_vars=secret_env_vars, environ=environ, site=site
    )
    tape = Tape(Path(path), cassette)
    token = CURRENT_TAPE.set(tape)
    try:
        yield tape
    except Exception as err:
        translated = cassette_error(err, rerecord_hint, environ)
        if translated is None or translated is err:
            raise
        raise translated from None
    finally:
        CURRENT_TAPE.reset(token)
    if finished is None:
        tape.save()
    else:
        finished.append(tape)


@dataclass
class TapeRecorder:
    """The fan-out's `spec_pytest.recording.recorder.Recorder`: one tape per exchange, kept in
    ``finished`` when clean (the scheduler saves a case's tapes together, see `save_all`)."""

    finished: list[Tape] = field(default_factory=list)
    concurrent = True
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
        return tape_scope(
            path,
            mode,
            rerecord_hint=rerecord_hint,
            secret_env_vars=secret_env_vars,
            finished=self.finished,
            site=site,
        )

    def pending(self, path: str | os.PathLike[str]) -> bool:
        return False


async def save_all(tapes: list[Tape]) -> None:
    """Save finished tapes off the loop (serialising and fsync would stall every request)."""
    if not tapes:
        return
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, _save_each, list(tapes))
    tapes.clear()


def _save_each(tapes: list[Tape]) -> None:
    try:
        for tape in tapes:
            tape.save()
    finally:  # a tape that could not be saved (a secret in it) still lets other runs in
        for tape in tapes:
            tape.release()
