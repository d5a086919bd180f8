"""``--batch``: send a run's pending requests through the batch APIs, then write cassettes.

A run is naturally two rounds: the models' answers first, then the judges' requests, which
enclose those answers. Rather than rebuilding either request here, each round runs every
case through the run's own case pipeline (`spec_pytest.pipeline.case_run.run_case`) with
the batch as its recorder (`ServedRecorder`): exchanges that already replay come from their
cassettes, exchanges with a batch result are recorded into their cassettes, and the rest
are collected as the next batch. A judge whose first answer is unusable asks once more,
which is simply one more round. The budget is the pipeline's (`spec_pytest.pipeline.budget`):
a stage is reserved, at batch prices, when its requests are collected (before any batch
is submitted), kept while they wait, and charged when their results are recorded.

Every batch id is saved to the state file before polling starts, so an interrupted run
resumes polling the same batches; the file goes away when every result is in its cassette.
Requests that come back errored or expired get a `.failed` note (see `notes`), never a pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from spec_pytest.core.case import Case
from spec_pytest.errors import RunError
from spec_pytest.judge.panel import run_blocking
from spec_pytest.pipeline.ask import model_cassette
from spec_pytest.pipeline.batch.apis import BatchApi, batch_api
from spec_pytest.pipeline.batch.notes import clear_note, write_note
from spec_pytest.pipeline.batch.served import (
    BatchResult,
    PendingRequest,
    Served,
    ServedRecorder,
    ServedRegistry,
)
from spec_pytest.pipeline.batch.state import BatchState, SubmittedBatch, default_state_path, now
from spec_pytest.pipeline.budget import Budget, BudgetExhausted
from spec_pytest.pipeline.case_run import run_case
from spec_pytest.pipeline.cost import Spend
from spec_pytest.providers import ModelRef, Registry
from spec_pytest.providers.batch import api_failure
from spec_pytest.recording.cassettes import will_replay
from spec_pytest.secrets import scrub

if TYPE_CHECKING:  # the run's settings hold the batch hooks; only their type is needed here
    from spec_pytest.pipeline.run import RunSettings


class BatchPending(RunError):
    """Batches are still running after the wait allowed; re-running resumes polling them."""


class BatchApiError(RunError):
    """A provider's batch API refused or failed a call (submit, poll, results): the run stops
    with the API's message, and the state file keeps every batch submitted before it."""


@contextmanager
def _api_call(endpoint: str, what: str, state: Path) -> Iterator[None]:
    """Turn an SDK failure of one batch API call into `BatchApiError` (never a traceback)."""
    try:
        yield
    except Exception as err:
        said = api_failure(err)
        if said is None:
            raise
        raise BatchApiError(
            f"the batch API of endpoint {endpoint!r} failed to {what}: {scrub(said)}. "
            f"{state} keeps the batches submitted so far: run the same command again with --batch "
            "to resume (nothing is submitted twice)"
        ) from None


@dataclass
class BatchSettings:
    """How a batch run waits. The defaults suit real APIs (most batches end within hours)."""

    state_path: Path | None = None  # default: beside the cassettes (`default_state_path`)
    poll_interval_s: float = 30.0
    max_poll_interval_s: float = 600.0
    backoff: float = 1.5
    max_wait_s: float = 26 * 3600.0  # the APIs' 24 h window, and some slack to collect results
    max_rounds: int = 4  # answers, judges, judge retries, and one spare
    budget: Budget | None = None
    spend: Spend | None = None  # counted at batch prices (budget.spend when a budget is given)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    progress: Callable[[str], None] = lambda message: None
    on_submitted: Callable[[SubmittedBatch], None] | None = None  # after the state file is saved


@dataclass
class BatchOutcome:
    written: list[str] = field(default_factory=list)  # cassettes recorded from batch results
    failed: dict[str, str] = field(default_factory=dict)  # cassette -> what the batch answered
    errors: dict[str, str] = field(default_factory=dict)  # case name -> error the pytest run will show
    batches: list[str] = field(default_factory=list)  # batch ids submitted or resumed
    rounds: int = 0

    def lines(self) -> list[str]:
        out = [
            f"batch: {len(self.batches)} batch(es) over {self.rounds} round(s); "
            f"{len(self.written)} cassette(s) written, {len(self.failed)} request(s) failed"
        ]
        out += [f"  failed: {path}: {message}" for path, message in sorted(self.failed.items())]
        out += [
            f"  not batched: {name}: {message.splitlines()[0]}"
            for name, message in sorted(self.errors.items())
        ]
        return out


def run_batch(
    cases: Iterable[Case], settings: RunSettings, options: BatchSettings | None = None
) -> BatchOutcome:
    """Record every pending exchange of ``cases`` through the batch APIs; see the module docs.

    Raises `BatchPending` when batches outlive ``max_wait_s`` (the state file keeps them), and
    MissingKeyError when an endpoint's key is not set. Anything else goes into the outcome.
    """
    options = options or BatchSettings()
    cases = list(cases)
    base = settings.ask.registry
    state = BatchState(
        options.state_path or default_state_path(settings.ask.cassette_dir), base.key_env_vars()
    )
    served = Served()
    registry = ServedRegistry(base, served)
    budget = options.budget
    if budget is None and options.spend is not None:  # count at batch prices, stop at nothing
        budget = Budget.tally(options.spend)
    walker = _Walker(replace(settings, ask=replace(settings.ask, registry=registry)), served, budget)
    sender = _Sender(base, state, options)
    outcome = walker.outcome
    outcome.batches = sender.batch_ids
    try:
        for round_number in range(1, options.max_rounds + 2):
            served.new_round()
            for case in cases:
                walker.walk(case)
            pending = dict(served.unanswered)
            if not pending:
                break
            if round_number > options.max_rounds:
                for request in pending.values():
                    walker.fail(request.cassette, f"still unanswered after {options.max_rounds} batch rounds")
                break
            outcome.rounds = round_number
            options.progress(f"batch round {round_number}: {len(pending)} request(s)")
            for cid, result in sender.send(list(pending.values())).items():
                if result.ok:
                    served.results[cid] = result
                else:
                    walker.fail(pending[cid].cassette, result.error or "no result", sender.batch_of.get(cid))
    finally:
        registry.close()
    state.clear()
    return outcome


class _Walker:
    """Runs each case through the case pipeline against the served transport, and sorts what happens."""

    def __init__(self, settings: RunSettings, served: Served, budget: Budget | None) -> None:
        self.settings = settings
        self.served = served
        self.budget = budget
        self.outcome = BatchOutcome()
        self.recorder = ServedRecorder(served, self._written)
        self._failed: set[str] = set()
        self._done: set[str] = set()  # cases that raised a non-batch error

    def fail(self, cassette: str, message: str, batch_id: str | None = None) -> None:
        self._failed.add(cassette)
        self.outcome.failed[cassette] = message
        write_note(cassette, message, batch_id=batch_id)

    def _written(self, cassette: str) -> None:
        if cassette not in self.outcome.written:
            self.outcome.written.append(cassette)
            clear_note(cassette)

    def walk(self, case: Case) -> None:
        """One round of ``case``: what replays or has a batch result is recorded, the rest waits."""
        if case.name in self._done:
            return
        before = len(self.served.unanswered)
        try:
            if any(str(path) in self._failed for path in self._cassettes(case)):
                return
            run_blocking(run_case(case, self.settings, self.recorder, self.budget))
        except BudgetExhausted as exc:  # nothing of the refused stage was collected
            for path in self._unrecorded(case):
                self.fail(path, str(exc))
        except Exception as exc:
            if len(self.served.unanswered) == before:  # not waiting: an error the run will report
                self._done.add(case.name)
                self.outcome.errors[case.name] = str(exc)

    def _cassettes(self, case: Case) -> list[Path]:
        judges = self.settings.panel_for(case).case_cassettes(case)
        return [model_cassette(self.settings.ask, case), *judges.values()]

    def _unrecorded(self, case: Case) -> list[str]:
        """The cassettes of the stage a budget refused: the answer's, else the judges' to send."""
        model, *judges = self._cassettes(case)
        if not will_replay(model, self.settings.ask.record_mode):
            return [str(model)]
        mode = self.settings.judge_record_mode or self.settings.ask.record_mode
        return [str(path) for path in judges if not will_replay(path, mode)]


class _Sender:
    """Submits pending requests (unless the state file shows them submitted) and collects results."""

    def __init__(self, registry: Registry, state: BatchState, options: BatchSettings) -> None:
        self.registry = registry
        self.state = state
        self.options = options
        self.batch_ids: list[str] = []
        self.batch_of: dict[str, str] = {}  # custom_id -> batch id
        self._apis: dict[str, BatchApi] = {}

    def api(self, endpoint: str) -> BatchApi:
        if endpoint not in self._apis:
            self._apis[endpoint] = batch_api(self.registry, endpoint)
        return self._apis[endpoint]

    def send(self, pending: Sequence[PendingRequest]) -> dict[str, BatchResult]:
        results: dict[str, BatchResult] = {}
        wanted: dict[str, SubmittedBatch] = {}
        fresh: dict[tuple[str, str], list[PendingRequest]] = {}
        for request in pending:
            known = self.state.batch_of(request.custom_id)
            if known is not None:
                wanted[known.batch_id] = known
                self.batch_of[request.custom_id] = known.batch_id
            else:
                fresh.setdefault((ModelRef.parse(request.model).provider, request.model), []).append(request)
        for (endpoint, _), group in sorted(fresh.items()):
            api = self.api(endpoint)
            size = api.max_requests
            for start in range(0, len(group), size):
                chunk = group[start : start + size]
                submitted = self._submit(endpoint, api, chunk, results)
                if submitted is not None:
                    wanted[submitted.batch_id] = submitted
        for batch_id in wanted:
            if batch_id not in self.batch_ids:
                self.batch_ids.append(batch_id)
        ids = {r.custom_id for r in pending}
        for batch in self._wait(list(wanted.values())):
            mine = [cid for cid in batch.requests if cid in ids]
            with _api_call(batch.endpoint, f"return the results of batch {batch.batch_id}", self.state.path):
                results.update(self.api(batch.endpoint).results(batch.batch_id, mine))
        return results

    def _submit(
        self, endpoint: str, api: BatchApi, chunk: list[PendingRequest], results: dict[str, BatchResult]
    ) -> SubmittedBatch | None:
        """Submit one chunk (its budget was reserved by the case pipeline that collected it)."""
        with _api_call(endpoint, f"accept a batch of {len(chunk)} request(s)", self.state.path):
            batch_id, file_id = api.submit(chunk)
        submitted = SubmittedBatch(
            api.api, endpoint, batch_id, now(), {r.custom_id: r for r in chunk}, input_file_id=file_id
        )
        self.state.add(submitted)  # saved before anything else can go wrong
        for r in chunk:
            self.batch_of[r.custom_id] = batch_id
        self.options.progress(f"submitted batch {batch_id} ({len(chunk)} request(s), {endpoint})")
        if self.options.on_submitted is not None:
            self.options.on_submitted(submitted)
        return submitted

    def _wait(self, batches: list[SubmittedBatch]) -> list[SubmittedBatch]:
        options = self.options
        remaining = {b.batch_id: b for b in batches}
        ended: list[SubmittedBatch] = []
        started = options.clock()
        interval = options.poll_interval_s
        while True:
            for batch_id, batch in list(remaining.items()):
                with _api_call(batch.endpoint, f"report the status of batch {batch_id}", self.state.path):
                    status = self.api(batch.endpoint).status(batch_id)
                options.progress(f"batch {batch_id}: {status.status}")
                if status.ended:
                    ended.append(remaining.pop(batch_id))
            if not remaining:
                return ended
            if options.clock() - started + interval > options.max_wait_s:
                waited = options.clock() - started
                raise BatchPending(
                    f"batch(es) {', '.join(remaining)} still running after {waited:.0f} s. "
                    f"{self.state.path} keeps them: run the same command again with --batch to resume "
                    "polling (nothing is submitted twice)"
                )
            options.sleep(interval)
            interval = min(interval * options.backoff, options.max_poll_interval_s)
