"""What a report shows, computed once from the records so the HTML and the Markdown agree."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from spec_pytest.results.analysis import HIGH_DISAGREEMENT, Analysis, analyse
from spec_pytest.results.gate import Baseline, GateKey, GateReport, compare
from spec_pytest.results.records import Record

if TYPE_CHECKING:
    from spec_pytest.judge.calibrate import CalibrationReport

OUTCOMES = ("pass", "fail", "inconclusive", "error", "measured")
#: Authority levels in the order most specs use (highest first); unknown levels sort after.
USUAL_LEVELS = ("root", "platform", "system", "developer", "user", "guideline")


@dataclass(slots=True)
class Counts:
    """Outcomes of a group of items."""

    by_outcome: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.by_outcome.values())

    def __getitem__(self, outcome: str) -> int:
        return self.by_outcome[outcome]

    @property
    def pass_rate(self) -> float:
        """Passes among the items that had something to check (measurements are neither)."""
        checked = self.total - self.by_outcome["measured"]
        return self.by_outcome["pass"] / checked if checked else 0.0


def outcomes_by(records: Iterable[Record], groups: Callable[[Record], Iterable[str]]) -> dict[str, Counts]:
    """Outcome counts per group; a record counts once in each group it belongs to."""
    found: dict[str, Counts] = defaultdict(Counts)
    for record in records:
        for name in groups(record):
            found[name].by_outcome[record.outcome] += 1
    return dict(found)


@dataclass(frozen=True)
class ReportContent:
    records: list[Record]
    sources: tuple[str, ...]
    overall: Counts
    by_level: dict[str, Counts]
    by_principle: dict[str, Counts]
    principle_levels: dict[str, str | None]
    by_model: dict[str, Counts]
    analysis: Analysis
    gate: GateReport | None
    generated: str
    #: The run's judge checks (its ``.judges`` sidecars), None without any: judge accuracy
    judges: CalibrationReport | None = None

    @property
    def failing(self) -> list[Record]:
        return [r for r in self.records if not r.passed and r.outcome != "measured"]


def build(
    records: Sequence[Record],
    *,
    sources: Iterable[str] = (),
    baseline: Baseline | None = None,
    baseline_name: str | None = None,
    max_regressions: int = 0,
    threshold: float = HIGH_DISAGREEMENT,
    deselected: Collection[GateKey] = (),
    allow_missing: bool = False,
    gate_notes: Sequence[str] = (),
    judges: CalibrationReport | None = None,
) -> ReportContent:
    """The report's content; ``judges``: the run's judge checks, whose accuracy the gate's
    judge-noise rule uses (`spec_pytest.results.judge_noise`)."""
    records = list(records)
    levels = outcomes_by(records, lambda r: [r.level or "(no level)"])
    level_rank = {name: i for i, name in enumerate(USUAL_LEVELS)}
    principle_levels: dict[str, str | None] = {}
    for record in records:
        for principle in record.principles:
            principle_levels.setdefault(principle, record.level)
    by_principle = outcomes_by(records, lambda r: r.principles or ["(no principle)"])
    return ReportContent(
        records=records,
        sources=tuple(sources),
        overall=outcomes_by(records, lambda r: ["all"]).get("all", Counts()),
        by_level=dict(sorted(levels.items(), key=lambda kv: (level_rank.get(kv[0], len(level_rank)), kv[0]))),
        by_principle=dict(sorted(by_principle.items(), key=lambda kv: (kv[1].pass_rate, kv[0]))),
        principle_levels=principle_levels,
        by_model=dict(sorted(outcomes_by(records, lambda r: [r.model]).items())),
        analysis=analyse(records, threshold),
        gate=compare(
            baseline,
            records,
            max_regressions,
            baseline_name=baseline_name,
            deselected=deselected,
            allow_missing=allow_missing,
            notes=gate_notes,
            judge_accuracy=judges.score.accuracy if judges is not None else None,
        )
        if baseline
        else None,
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        judges=judges,
    )


def outcome_line(counts: Counts) -> str:
    """``12 items: 9 pass, 2 fail, 1 error`` (outcomes with no item are left out)."""
    parts = [f"{counts[o]} {o}" for o in OUTCOMES if counts[o]]
    return f"{counts.total} item{'s' if counts.total != 1 else ''}" + (
        ": " + ", ".join(parts) if parts else ""
    )
