"""The keys under which a pytest run keeps spec-pytest's state on its `pytest.Config`.

Apart from the hooks so that the items, the options and the fan-out can read the run's
state without importing `spec_pytest.pytest.plugin` (which imports all of them): this module
imports only pytest, so any module of the package can depend on it without a cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    pass

SPEC_PATHS = pytest.StashKey[list[Path]]()  # the spec files of the run (--spec and ini spec_files)
SHARD = pytest.StashKey["tuple[int, int] | None"]()  # --shard I/N, or None
RUN = pytest.StashKey["RunSettings"]()  # how every case of the run is asked and judged
RESULTS = pytest.StashKey[Path]()  # the results file every process of the run appends to
PRIVATE_RESULTS = pytest.StashKey[Path]()  # the results file a run made for itself (no --results)
WRITER = pytest.StashKey["ResultsWriter"]()  # this process's appender to RESULTS
GATE = pytest.StashKey["GateReport"]()  # the --baseline comparison, once the session ends
RECORDS = pytest.StashKey[list[Any]]()  # the run's result records, read at session end
FANOUT = pytest.StashKey["FanoutPlugin"]()  # the prefetch plugin, when one is registered
