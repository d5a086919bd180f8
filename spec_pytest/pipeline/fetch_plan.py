"""What a fan-out will fetch: the cases whose model or judge cassettes cannot simply replay.

Decided before any item runs, from the same settings the items use, so that the
prefetcher and the items agree on every cassette path and record mode. A case is planned
when at least one of its cassettes would touch the network (`will_replay` is false);
its other cassettes are then replayed from disk by the same pipeline, which is how a
resumed run continues: exchanges already recorded are played, not asked again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from spec_pytest.core.case import Case
from spec_pytest.pipeline.ask import model_cassette
from spec_pytest.pipeline.run import NoJudgeError, RunSettings
from spec_pytest.pipeline.trial import Trial
from spec_pytest.recording.cassettes import RecordMode, will_replay


@dataclass
class Planned:
    """One case to prefetch, and (once settled) how it went."""

    case: Case
    index: int
    model_path: Path
    judge_paths: tuple[Path, ...]
    settled: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    #: the case's trial as the fan-out ran it, for an item of the same process (see
    #: `spec_pytest.pipeline.prefetch.Prefetch.trial_for`); None once taken or not kept
    trial: Trial | None = None

    @property
    def key(self) -> str:
        return case_key_of(self.model_path)

    @property
    def requests(self) -> int:
        """Requests the case makes if every answer is usable (one per cassette)."""
        return 1 + len(self.judge_paths)


def case_key_of(model_path: Path) -> str:
    """A case's identity across processes: its model cassette's path (unique per case)."""
    return str(Path(model_path).resolve())


def case_key(run: RunSettings, case: Case) -> str:
    return case_key_of(model_cassette(run.ask, case))


def judge_mode(run: RunSettings) -> RecordMode:
    return run.judge_record_mode or run.ask.record_mode


def to_fetch(run: RunSettings, cases: Iterable[Case]) -> list[Planned]:
    """The cases among ``cases`` that need the network, in the order given (item order)."""
    planned: list[Planned] = []
    seen: set[str] = set()
    judges_mode = judge_mode(run)
    for case in cases:
        model_path = model_cassette(run.ask, case)
        try:
            panel = run.panel_for(case)
        except (NoJudgeError, ValueError):
            continue  # the item reports it, as without a fan-out
        judge_paths = tuple(panel.case_cassettes(case).values())
        needs = not will_replay(model_path, run.ask.record_mode) or any(
            not will_replay(path, judges_mode) for path in judge_paths
        )
        key = case_key_of(model_path)
        if needs and key not in seen:
            seen.add(key)
            planned.append(Planned(case, len(planned), model_path, judge_paths))
    return planned
