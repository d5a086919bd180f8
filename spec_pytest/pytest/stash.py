"""The keys under which a pytest run keeps spec-pytest's state on its `pytest.Config`.

Apart from the hooks so that the items, the options and the fan-out can read the run's
state without importing `spec_pytest.pytest.plugin` (which imports all of them): this module
imports only pytest at run time, so any module of the package can depend on it without a cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from spec_pytest.judge.calibrate import CalibrationReport
    from spec_pytest.pipeline.run import RunSettings
    from spec_pytest.pytest.fanout import FanoutPlugin
    from spec_pytest.results.gate import GateReport
    from spec_pytest.results.records import ResultsWriter

#: The spec files of the run (--spec and ini spec_files).
SPEC_PATHS: pytest.StashKey[list[Path]] = pytest.StashKey()
#: --shard I/N, or None.
SHARD: pytest.StashKey[tuple[int, int] | None] = pytest.StashKey()
#: How every case of the run is asked and judged.
RUN: pytest.StashKey[RunSettings] = pytest.StashKey()
#: The results file every process of the run appends to.
RESULTS: pytest.StashKey[Path] = pytest.StashKey()
#: The results file a run made for itself (no --results), removed when pytest exits.
PRIVATE_RESULTS: pytest.StashKey[Path] = pytest.StashKey()
#: This process's appender to RESULTS.
WRITER: pytest.StashKey[ResultsWriter] = pytest.StashKey()
#: The spec items this process's collection deselected (-k, -m, --lf, --shard), as item keys.
DESELECTED: pytest.StashKey[list[tuple[str, str, str, int]]] = pytest.StashKey()
#: Those of them --shard left out (another shard's results hold them).
SHARDED_OUT: pytest.StashKey[list[tuple[str, str, str, int]]] = pytest.StashKey()
#: The --baseline comparison, once the session ends.
GATE: pytest.StashKey[GateReport] = pytest.StashKey()
#: The run's result records, read back once at session end.
RECORDS: pytest.StashKey[list[Any]] = pytest.StashKey()
#: The prefetch plugin, when one is registered.
FANOUT: pytest.StashKey[FanoutPlugin] = pytest.StashKey()
#: The judge-check rows this process saw reported (on xdist's controller: every worker's).
JUDGE_CHECKS: pytest.StashKey[list[dict[str, Any]]] = pytest.StashKey()
#: The run's judge checks summed up (None: the run had none), for the summary and the gate.
JUDGE_REPORT: pytest.StashKey[CalibrationReport | None] = pytest.StashKey()
