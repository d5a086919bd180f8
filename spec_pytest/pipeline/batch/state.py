"""The batch state file: which batches this run submitted, and what each request is for.

Written atomically (temp file + ``os.replace``) the moment a batch is created, before any
polling: a run that is interrupted (Ctrl-C, a CI timeout, a crash) leaves a file that says
"these requests are already paid for, in batch X". The next run with ``--batch`` finds its
pending requests there by ``custom_id`` and resumes polling X instead of submitting again.
Once a run has written every result into cassettes, the file is removed.

It holds request bodies (prompts, as the cassettes do) and never a key: it is refused, like a
cassette, if the value of a key variable would end up in it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_pytest.errors import RunError
from spec_pytest.pipeline.batch.served import PendingRequest
from spec_pytest.recording.cassettes import secret_values

STATE_VERSION = 1
STATE_NAME = ".spec-pytest-batches.json"


class BatchStateError(RunError):
    """The state file cannot be read or written; the message names it and the fix."""


def default_state_path(cassette_dir: str | os.PathLike[str]) -> Path:
    """Beside the cassettes, so a resumed run (same cassette directory) finds it."""
    return Path(cassette_dir) / STATE_NAME


@dataclass
class SubmittedBatch:
    api: str  # openai | anthropic
    endpoint: str  # the registry's endpoint name
    batch_id: str
    submitted_at: float
    requests: dict[str, PendingRequest] = field(default_factory=dict)
    input_file_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "endpoint": self.endpoint,
            "batch_id": self.batch_id,
            "submitted_at": self.submitted_at,
            "input_file_id": self.input_file_id,
            "requests": {cid: r.to_dict() for cid, r in self.requests.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubmittedBatch:
        return cls(
            api=data["api"],
            endpoint=data["endpoint"],
            batch_id=data["batch_id"],
            submitted_at=float(data.get("submitted_at", 0)),
            input_file_id=data.get("input_file_id"),
            requests={cid: PendingRequest.from_dict(cid, r) for cid, r in data["requests"].items()},
        )


class BatchState:
    """The submitted batches of a run, persisted at ``path``."""

    def __init__(self, path: str | os.PathLike[str], secret_env_vars: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self._secret_env_vars = tuple(secret_env_vars)
        self.batches: list[SubmittedBatch] = []
        self._load()

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        try:
            data = json.loads(text)
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {STATE_VERSION}")
            self.batches = [SubmittedBatch.from_dict(b) for b in data["batches"]]
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise BatchStateError(
                f"batch state file {self.path} cannot be read ({err}). It lists batches already "
                "submitted: check them in the provider's console, then delete the file to start over"
            ) from None

    def batch_of(self, cid: str) -> SubmittedBatch | None:
        """The batch that already holds request ``cid`` (so it must not be submitted again)."""
        for batch in self.batches:
            if cid in batch.requests:
                return batch
        return None

    def add(self, batch: SubmittedBatch) -> None:
        self.batches.append(batch)
        self.save()

    def save(self) -> None:
        text = json.dumps(
            {"version": STATE_VERSION, "batches": [b.to_dict() for b in self.batches]},
            indent=1,
            ensure_ascii=False,
        )
        leaked = [
            name.strip("<>") for name, value in secret_values(self._secret_env_vars).items() if value in text
        ]
        if leaked:
            raise BatchStateError(
                f"refusing to write {self.path}: it would contain the value of {', '.join(leaked)}"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        finally:
            with suppress(FileNotFoundError):
                os.unlink(tmp)

    def clear(self) -> None:
        """Every result is in its cassette (or noted as failed): nothing left to resume."""
        self.batches = []
        with suppress(FileNotFoundError):
            self.path.unlink()


def now() -> float:
    return time.time()
