"""Durability without a disk flush per file: a killed process loses nothing it wrote, and each
process flushes once, when its run ends (`spec_pytest.recording.durability`).

The flush calls are counted on the real ``os`` functions (what the kernel is asked to do), not
stubbed: every file is really written and read back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spec_pytest.recording import durability
from spec_pytest.recording.cassettes import AtomicPersister, JsonSerializer
from spec_pytest.results.records import ResultsWriter, read_results
from tests.support.paths import ROOT
from tests.support.recordsets import GPT, judged

CASSETTE = {"requests": [], "responses": []}


class Calls:
    """How often the run asked the kernel to flush, by function."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fsync = self.sync = 0
        real_fsync, real_sync = os.fsync, os.sync

        def fsync(fd: int) -> None:
            self.fsync += 1
            real_fsync(fd)

        def sync() -> None:
            self.sync += 1
            real_sync()

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "sync", sync)


def test_a_run_flushes_once_at_its_end_not_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    durability.flush_written()  # whatever an earlier test in this process left pending
    calls = Calls(monkeypatch)
    persister = AtomicPersister({})
    with ResultsWriter(tmp_path / "results.jsonl") as writer:
        for n in range(50):
            persister.save_cassette(str(tmp_path / f"c{n}.json"), CASSETTE, JsonSerializer)
            writer.append(judged("mayor-phone", GPT, 3, sample=n))
        assert (calls.fsync, calls.sync) == (0, 0)  # nothing flushed on the path of a request
    assert calls.fsync == 1  # the results file, when its writer closes
    assert durability.flush_written() and calls.sync == 1  # every cassette, with one sync
    assert not durability.flush_written() and calls.sync == 1  # nothing new: no second flush
    assert len(read_results([tmp_path / "results.jsonl"])) == 50
    assert all(json.loads((tmp_path / f"c{n}.json").read_text()) for n in range(50))


_KILLED = """
import os, signal, sys
from spec_pytest.recording.cassettes import AtomicPersister, JsonSerializer
from spec_pytest.results.records import ResultsWriter
from tests.support.recordsets import GPT, judged

where = sys.argv[1]
writer = ResultsWriter(where + "/results.jsonl")
for n in range(20):
    AtomicPersister({}).save_cassette(f"{where}/c{n}.json", {"requests": [], "responses": []}, JsonSerializer)
    writer.append(judged("mayor-phone", GPT, 3, sample=n))
os.kill(os.getpid(), signal.SIGKILL)  # no close, no flush: as a crashed xdist worker ends
"""


def test_a_killed_process_keeps_every_cassette_and_result_it_wrote(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-c", _KILLED, str(tmp_path)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == -9
    assert len(read_results([tmp_path / "results.jsonl"])) == 20
    for n in range(20):
        assert json.loads((tmp_path / f"c{n}.json").read_text()) == {"interactions": [], "version": 1}
