"""Hooks spec-pytest calls, for a conftest or a plugin that wants the cases and the results.

Registered by `spec_pytest.pytest.entry.pytest_addoption` (``pluginmanager.add_hookspecs``),
so implementing one is writing a function of the same name in a ``conftest.py`` or a plugin;
pytest checks its arguments against these. Each is called for every implementation
(no first-result), and what an implementation returns is ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from spec_pytest.results.records import Record


@pytest.hookspec
def pytest_spec_case_finished(item: pytest.Item, record: Record) -> None:
    """A spec case finished: ``record`` is its result record, as appended to the results file.

    Called once per case item (not for invariance probes), in the process that ran it (an
    xdist worker under ``-n``), right after the record is written: after the call phase, or
    after setup when the case ended as an ERROR (missing cassette, API failure, budget...).
    ``record.to_dict()`` is the JSON line; ``item`` is the `SpecItem` (``item.case``).
    """


@pytest.hookspec
def pytest_spec_results_ready(config: pytest.Config, records: list[Record], path: Path) -> None:
    """A run's results are complete: every case's record, e.g. to post them elsewhere.

    Called once per run, at session end, in the controlling process (never in an xdist
    worker), after the records are read back from the results file and before the
    --baseline gate is applied; ``records`` holds one `Record` per case (the latest, in
    order) of all workers. ``path`` is the results file (``--results``, or a temporary file
    removed when pytest exits: copy it during this call to keep it).
    """
