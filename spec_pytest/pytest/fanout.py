"""The fan-out as pytest sees it: one plugin object the spec-pytest plugin registers.

Where the prefetch runs:

* without xdist, in the pytest process, from ``pytest_collection_finish``: the selected
  items (after -k/-m/--lf) are known, none has run yet; the prefetch thread starts and
  items replay as soon as their own case is settled (`settings_for`);
* under xdist, in the controller, from the first ``pytest_xdist_node_collection_finished``:
  the node ids the workers will run are known, and scheduling waits for this hook, so the
  manifest and the pending markers exist before any item starts. The controller loads the
  specs, maps ids to cases, and prefetches with each endpoint's whole budget (the workers
  only replay). Workers wait on the markers (`WorkerWait`).

Wiring (in spec_pytest.pytest.plugin / items): the options --concurrency and --no-prefetch;
``config.pluginmanager.register(FanoutPlugin(config), FanoutPlugin.NAME)`` at the end of
``pytest_configure``; ``run_case_blocking(item.case, settings_for(item.config, item.case))`` in
``SpecItem.setup`` (the blocking form of `spec_pytest.pipeline.case_run.run_case`).

What the terminal shows: the fetching thread never writes to the terminal itself (its writes
would land inside whichever item pytest is capturing, and a rewritten line would erase
pytest's own progress). One line before the items says what will be fetched, pytest's
progress shows the cases as they arrive, and the totals (requests, failures, time, tokens,
cost) are one line of the terminal summary, above pytest's last line. An item waits for its
case before its setup starts (`pytest_runtest_protocol`), so the wait is the session's
time: JUnit and ``--durations`` show what the item itself took.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from spec_pytest.core.case import Case, expand
from spec_pytest.pipeline.ask import declare_endpoints
from spec_pytest.pipeline.fetch_plan import case_key, to_fetch
from spec_pytest.pipeline.handoff import Markers, State
from spec_pytest.pipeline.prefetch import AllowFn, FanoutError, FanoutTimeout, Prefetch, replay_only
from spec_pytest.pipeline.progress import CostFn, Progress
from spec_pytest.pytest import options
from spec_pytest.pytest.items import SpecItem, spec_id_path
from spec_pytest.pytest.stash import FANOUT, RUN, SPEC_PATHS
from spec_pytest.recording.transport import UsageObserver
from spec_pytest.spec.load import load_spec_cached

WORKER_INPUT_KEY = "spec_fanout_dir"
MANIFEST = "manifest.json"


def settings_for(config: pytest.Config, case: Case) -> Any:
    """The `RunSettings` an item runs its case with (waits for the case's prefetch, if any).

    Raises the case's fetch error (a `SpecPytestError`: `FanoutError` or what the case raised).
    """
    run = config.stash[RUN]
    plugin = config.stash.get(FANOUT, None)
    return run if plugin is None else plugin.settings_for(case, run)


def prefetched_trial(config: pytest.Config, case: Case) -> Any:
    """The trial this process's fan-out already ran for ``case`` (after `settings_for`), or None
    when the item must run (replay) its case itself."""
    plugin = config.stash.get(FANOUT, None)
    if plugin is None or plugin.prefetch is None:
        return None
    return plugin.prefetch.trial_for(case)


class FanoutPlugin:
    """Starts, serves and stops the prefetch for one pytest process (see the module docstring).

    ``allow``, ``cost`` and ``on_usage`` are the budget and price hooks (`Prefetch`,
    `Progress`); they can also be set as attributes any time before collection finishes.
    """

    NAME = "spec-pytest-fanout"

    def __init__(
        self,
        config: pytest.Config,
        *,
        allow: AllowFn | None = None,
        cost: CostFn | None = None,
        on_usage: UsageObserver | None = None,
    ):
        self.config = config
        self.allow = allow
        self.cost = cost
        self.on_usage = on_usage
        self.prefetch: Prefetch | None = None
        self.worker: WorkerWait | None = None
        self.run_dir: Path | None = None
        config.stash[FANOUT] = self
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None and workerinput.get(WORKER_INPUT_KEY):
            self.worker = WorkerWait(Path(workerinput[WORKER_INPUT_KEY]))

    @property
    def enabled(self) -> bool:
        option = self.config.option
        return not (
            getattr(option, "spec_no_prefetch", False)
            or getattr(option, "collectonly", False)
            or getattr(option, "setupplan", False)
            or getattr(option, "setuponly", False)
        )

    # -- the item side ---------------------------------------------------------------------
    def settings_for(self, case: Case, run: Any) -> Any:
        if self.prefetch is not None:
            return self.prefetch.settings_for(case)
        if self.worker is not None:
            return self.worker.settings_for(case, run)
        return run

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        if isinstance(item, SpecItem):  # wait here, outside the item's setup, call and teardown
            if self.prefetch is not None:
                self.prefetch.wait_for(item.case)
            elif self.worker is not None:
                self.worker.wait_for(item.case, self.config.stash[RUN])
        return (yield)

    # -- without xdist -------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput") or not self.enabled:
            return
        self._start([item.case for item in session.items if isinstance(item, SpecItem)], markers=None)

    # -- under xdist: the controller -------------------------------------------------------------
    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if not self.enabled:
            return
        if self.run_dir is None:
            self.run_dir = Path(tempfile.mkdtemp(prefix="spec-pytest-fanout-"))
        node.workerinput[WORKER_INPUT_KEY] = str(self.run_dir)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        if self.prefetch is not None or self.run_dir is None:
            return  # every worker reports the same ids; the first report is enough
        markers = Markers(self.run_dir)
        self._start(cases_for_ids(self.config, ids), markers=markers)
        keys: list[str] = [p.key for p in self.prefetch.planned] if self.prefetch is not None else []
        (self.run_dir / MANIFEST).write_text(json.dumps(keys), encoding="utf-8")

    # -- shared ----------------------------------------------------------------------------------
    def _start(self, cases: list[Case], markers: Markers | None) -> None:
        run = self.config.stash[RUN]
        planned = to_fetch(run, cases)
        if not planned:
            return
        progress = Progress(mode="quiet", cost=self.cost)  # counts; shown by the reporter only
        concurrency = self.config.getoption("spec_concurrency", None)
        self.prefetch = Prefetch(
            run,
            planned,
            concurrency=concurrency,
            progress=progress,
            allow=self.allow,
            markers=markers,
            on_usage=self.on_usage,
        ).start()
        at_once = f"up to {concurrency} at once" if concurrency else "endpoint limits"
        self._say(
            f"spec-pytest fan-out: {progress.total} request(s) for {len(planned)} case(s), {at_once}; "
            "each item replays its case once fetched"
        )

    def _say(self, line: str) -> None:
        """A line through pytest's reporter (between lines, never inside an item's)."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and self.config.option.verbose >= 0:
            reporter.write_line(line)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.prefetch is not None and self.config.option.verbose >= 0:
            terminalreporter.write_line(self.prefetch.progress.line())

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.prefetch is not None:
            self.prefetch.close()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.prefetch is not None:
            self.prefetch.close()
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)


class WorkerWait:
    """An xdist worker's view of the controller's prefetch: the manifest and the markers."""

    def __init__(self, run_dir: Path, timeout: float = 3600.0) -> None:
        self.markers = Markers(run_dir)
        self.run_dir = run_dir
        self.timeout = timeout
        self._planned: frozenset[str] | None = None
        self._deadlines: dict[str, float] = {}

    def planned(self) -> frozenset[str]:
        if self._planned is None:
            try:
                keys = json.loads((self.run_dir / MANIFEST).read_text(encoding="utf-8"))
            except (FileNotFoundError, ValueError):
                keys = []  # no manifest: the controller planned nothing
            self._planned = frozenset(keys)
        return self._planned

    def wait_for(self, case: Case, run: Any) -> State | None:
        """Block while the controller is fetching ``case`` (at most ``timeout``); the state it
        reached, or None when the controller did not plan it. Never raises: `settings_for`
        turns the state into settings or an error, at once when the wait already happened."""
        key = case_key(run, case)
        if key not in self.planned():
            return None
        deadline = self._deadlines.setdefault(key, time.monotonic() + self.timeout)  # one wait a case
        pause = 0.005
        while (state := self.markers.state(key)) is State.PENDING and time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
        return state

    def settings_for(self, case: Case, run: Any) -> Any:
        state = self.wait_for(case, run)
        key = case_key(run, case)
        if state is None or state is State.STALE:  # unplanned, or the controller is gone: ask
            return run  # and record here, as without a fan-out
        if state is State.DONE:
            return replay_only(run)
        if state is State.FAILED:
            raise FanoutError(
                Path(key),
                self.markers.failure(key) or "the prefetch of this case failed",
                self.markers.missing_key(key),
            )
        raise FanoutTimeout(
            Path(key),
            f"waited {self.timeout:g} s for the controller to fetch this case's exchanges "
            f"({key}); re-run to continue (finished exchanges are kept)",
        )


def cases_for_ids(config: pytest.Config, ids: Iterable[str]) -> list[Case]:
    """The cases behind xdist node ids ``<spec path>::<group>::<scenario>[<model>-s<N>]``.

    The controller does not collect, so it expands the specs itself, with the same options
    the workers used; ids that are not spec cases (invariance probes, ordinary tests) are
    skipped. Declares the specs' endpoints in the controller's registry, as collection does.
    """
    run = config.stash[RUN]
    by_id: dict[str, Case] = {}
    for path in config.stash.get(SPEC_PATHS, []):
        try:
            spec = load_spec_cached(path)
            declare_endpoints(run.ask.registry, [spec], options.endpoints_of(config))
            cases = list(expand(spec, config.getoption("spec_models"), config.getoption("spec_samples")))
        except Exception:  # collection on the workers reports it, located
            continue
        rel = spec_id_path(config, path)  # as the workers' ids name it
        for case in cases:
            by_id[f"{rel}::{case.group}::{case.name}"] = case
    return [by_id[i] for i in ids if i in by_id]
