"""Concurrent fan-out: every request the selected items will make, made before they run.

pytest runs items one after another and an LLM call takes seconds. Before the items run,
the plugin knows each case's requests; the fan-out issues them concurrently on the SDKs'
async clients (one shared client per provider on one event loop), pipelined (a case's
judges start as soon as its answer arrives), within adaptive per-endpoint limits, and
writes each case's cassettes as vcrpy would. Each item then replays its own exchanges
through vcrpy, so ids, -k/-m, --lf, outcomes and xdist behave as before.

Modules: `plan` (which cases need the network), `tape` and `transport` (recording per
request context instead of process-wide patching), `limits` (AIMD window, Retry-After,
priorities), `prefetch` (the scheduler), `markers` (cross-process state under xdist),
`progress` (the display), `glue` (the pytest side).
"""

from collections.abc import Iterable
from typing import Any

from spec_pytest.case import Case
from spec_pytest.run import RunSettings

from .glue import FanoutPlugin, settings_for
from .plan import Planned, plan
from .prefetch import AllowFn, BudgetExhausted, FanoutError, Prefetch, RequestEstimate, replay_only
from .progress import CostFn, Progress


def start_prefetch(run: RunSettings, cases: Iterable[Case], **options: Any) -> Prefetch:
    """Plan ``cases`` under ``run`` and start fetching them; see `Prefetch` for ``options``."""
    return Prefetch(run, plan(run, cases), **options).start()


__all__ = [
    "AllowFn",
    "BudgetExhausted",
    "CostFn",
    "FanoutError",
    "FanoutPlugin",
    "Planned",
    "Prefetch",
    "Progress",
    "RequestEstimate",
    "plan",
    "replay_only",
    "settings_for",
    "start_prefetch",
]
