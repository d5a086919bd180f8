"""Per-item notes for batch requests that came back without an answer.

An errored, expired or cancelled batch request leaves no cassette, and must not leave a
silent gap either: a ``<cassette>.failed`` file beside where the cassette would be says what
the batch answered. The plugin turns it into the item's ERROR (`failure_note`); it stops
counting once the cassette exists (a later run recorded it), and a later ``--batch`` run
that asks again removes it.
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from pathlib import Path

from spec_pytest.recording.cassettes import RecordMode, will_replay


def note_path(cassette: str | os.PathLike[str]) -> Path:
    path = Path(cassette)
    return path.with_name(path.name + ".failed")


def write_note(cassette: str | os.PathLike[str], message: str, *, batch_id: str | None = None) -> Path:
    target = note_path(cassette)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = {"cassette": str(cassette), "batch_id": batch_id, "error": message}
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def clear_note(cassette: str | os.PathLike[str]) -> None:
    with suppress(FileNotFoundError):
        note_path(cassette).unlink()


def failure_note(cassette: str | os.PathLike[str]) -> str | None:
    """The error to report for an item whose batch request failed; None when there is none.

    A cassette that has content since (recorded by a later run) wins over an old note.
    """
    if will_replay(cassette, RecordMode.ONCE):  # i.e. the cassette has content
        return None
    try:
        data = json.loads(note_path(cassette).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    batch = f" in batch {data['batch_id']}" if data.get("batch_id") else ""
    return (
        f"the batch request for {cassette} failed{batch}: {data.get('error')}. Nothing was recorded; "
        "re-run with --batch to ask again, or without it to record synchronously"
    )
