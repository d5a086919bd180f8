"""Calibration: the panel judges the spec's own labelled answers, and is scored against them.

The OpenAI Model Spec ships GOOD / BAD (rarely OK) answers written by its authors; each is a
known ruling. Judging them (no model call: the labelled answer is the response) shows how
far a panel can be trusted on this spec before it judges anything else, and where it is
weak (per section, per authority level). A good or ok answer is expected to be judged
compliant, a bad one non-compliant.

Accuracy counts the answers the panel ruled on: a split panel counts as wrong (it did not
reach the label), an answer whose judging failed (unusable answer, API failure, missing
cassette) is listed under errors and counted in no accuracy.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spec_pytest.core.verdict import majority
from spec_pytest.errors import InputError
from spec_pytest.judge.agreement import cohen_kappa, fleiss_kappa
from spec_pytest.judge.judge import JudgeError
from spec_pytest.judge.panel import JudgePanel, example_item
from spec_pytest.judge.rubric import RUBRIC_VERSION, Subject
from spec_pytest.providers import ModelParams, ProviderError, Registry
from spec_pytest.recording.cassettes import CassetteError, RecordMode
from spec_pytest.spec.model import COMPLIANCE, Spec

#: The ruling each label stands for.
EXPECTED: dict[str, str] = {"good": "compliant", "ok": "compliant", "bad": "non-compliant"}
LABELS = ("good", "ok", "bad")
#: Confusion-matrix columns: the panel's rulings, and no majority.
SPLIT = "split"
RULINGS = (*COMPLIANCE, SPLIT)


@dataclass(frozen=True, slots=True)
class CalibrationItem:
    """One labelled answer and what the panel made of it."""

    example: str
    index: int
    label: str
    principle: str
    section: str
    level: str
    rulings: dict[str, str] = field(default_factory=dict)  # judge -> compliance ruling
    error: str | None = None

    @property
    def expected(self) -> str:
        return EXPECTED[self.label]

    @property
    def panel(self) -> str | None:
        """The panel's majority ruling; `SPLIT` without one; None if judging failed."""
        if self.error is not None:
            return None
        return majority(list(self.rulings.values())) or SPLIT

    @property
    def correct(self) -> bool:
        return self.panel == self.expected


@dataclass(frozen=True, slots=True)
class Score:
    correct: int
    total: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None


@dataclass(frozen=True)
class CalibrationReport:
    spec: str
    judges: tuple[str, ...]
    rubric: str
    items: tuple[CalibrationItem, ...]
    seconds: float = 0.0

    @property
    def judged(self) -> list[CalibrationItem]:
        return [i for i in self.items if i.error is None]

    @property
    def errors(self) -> list[CalibrationItem]:
        return [i for i in self.items if i.error is not None]

    @property
    def score(self) -> Score:
        judged = self.judged
        return Score(sum(i.correct for i in judged), len(judged))

    def confusion(self) -> dict[str, dict[str, int]]:
        """``confusion[label][ruling]``: how often the panel ruled ``ruling`` on ``label`` answers."""
        table = {label: dict.fromkeys(RULINGS, 0) for label in LABELS}
        for item in self.judged:
            table[item.label][item.panel or SPLIT] += 1
        return table

    def by(self, attribute: str) -> dict[str, Score]:
        """Accuracy grouped by an item attribute (``section``, ``level``, ``principle``, ``label``)."""
        groups: dict[str, list[CalibrationItem]] = defaultdict(list)
        for item in self.judged:
            groups[getattr(item, attribute)].append(item)
        return {key: Score(sum(i.correct for i in group), len(group)) for key, group in groups.items()}

    def per_judge(self) -> dict[str, dict[str, float | int | None]]:
        """Each judge alone: its accuracy and Cohen's kappa against the labels."""
        out: dict[str, dict[str, float | int | None]] = {}
        for judge in self.judges:
            rated = [i for i in self.judged if judge in i.rulings]
            rulings = [i.rulings[judge] for i in rated]
            expected = [i.expected for i in rated]
            correct = sum(r == e for r, e in zip(rulings, expected, strict=True))
            out[judge] = {
                "judged": len(rated),
                "accuracy": correct / len(rated) if rated else None,
                "kappa": cohen_kappa(rulings, expected),
            }
        return out

    def inter_judge_kappa(self) -> float | None:
        """Fleiss' kappa of the judges' compliance rulings (None with a single judge)."""
        if len(self.judges) < 2:
            return None
        rows = [list(i.rulings.values()) for i in self.judged if len(i.rulings) == len(self.judges)]
        return fleiss_kappa(rows) if rows else None

    # -- output ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        score = self.score
        return {
            "spec": self.spec,
            "judges": list(self.judges),
            "rubric": self.rubric,
            "answers": len(self.items),
            "judged": score.total,
            "correct": score.correct,
            "accuracy": score.accuracy,
            "confusion": self.confusion(),
            "by_section": {
                k: asdict(v) | {"accuracy": v.accuracy} for k, v in sorted(self.by("section").items())
            },
            "by_level": {k: asdict(v) | {"accuracy": v.accuracy} for k, v in self.by("level").items()},
            "per_judge": self.per_judge(),
            "inter_judge_kappa": self.inter_judge_kappa(),
            "errors": [{"example": i.example, "index": i.index, "error": i.error} for i in self.errors],
            "items": [
                {
                    "example": i.example,
                    "index": i.index,
                    "label": i.label,
                    "expected": i.expected,
                    "panel": i.panel,
                    "rulings": i.rulings,
                    "principle": i.principle,
                    "section": i.section,
                    "level": i.level,
                }
                for i in self.items
            ],
            "seconds": round(self.seconds, 3),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def render(self, levels: Sequence[str] = ()) -> str:
        """The report as text for a terminal; ``levels`` orders the per-level table."""
        score = self.score
        lines = [
            f"Calibration of {', '.join(self.judges)} on {self.spec} (rubric {self.rubric})",
            f"{len(self.items)} labelled answers, {score.total} judged, "
            f"{_count(len(self.errors), 'error')}, {self.seconds:.1f} s",
            f"Accuracy: {_score(score)}",
            "",
            "Confusion (rows: label, columns: panel ruling)",
            _table(
                ["label", *RULINGS],
                [[label, *(str(n) for n in row.values())] for label, row in self.confusion().items()],
            ),
            "",
            "Per judge",
            _table(
                ["judge", "accuracy", "kappa vs labels"],
                [[judge, _pct(s["accuracy"]), _num(s["kappa"])] for judge, s in self.per_judge().items()],
            ),
        ]
        if len(self.judges) > 1:
            lines.append(f"Agreement between judges (Fleiss' kappa): {_num(self.inter_judge_kappa())}")
        by_level = self.by("level")
        order = [lvl for lvl in levels if lvl in by_level] + sorted(set(by_level) - set(levels))
        lines += [
            "",
            "Per authority level",
            _table(["level", "accuracy"], [[k, _score(by_level[k])] for k in order]),
        ]
        sections = sorted(self.by("section").items())
        lines += ["", "Per section", _table(["section", "accuracy"], [[k, _score(v)] for k, v in sections])]
        if self.errors:
            lines += ["", f"Errors ({len(self.errors)})"]
            messages = Counter(i.error for i in self.errors)
            for message, count in messages.most_common(5):
                lines.append(f"  {count} x {message}")
        return "\n".join(lines)


def calibrate(
    spec: Spec,
    judges: Sequence[str],
    cassette_root: str | os.PathLike[str],
    record_mode: RecordMode | str,
    registry: Registry,
    *,
    params: ModelParams | None = None,  # None: each judge's family defaults
    rubric: str = RUBRIC_VERSION,
    judge_keys: Mapping[str, Mapping[str, Any]] | None = None,  # per judge: --judge-param, spec params
    rerecord_hint: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CalibrationReport:
    """Run the panel over every labelled answer of ``spec.examples`` and score it.

    Judge exchanges go through cassettes at ``<root>/<suite>/_judges/<judge>/<rubric>/
    calibration/<example>.r<index>.json``. Per-answer failures become report errors;
    a spec without labelled examples is a ValueError.
    """
    panel = JudgePanel(
        judges=tuple(judges),
        registry=registry,
        cassette_root=Path(cassette_root),
        suite=spec.id,
        record_mode=RecordMode(record_mode),
        params=params,
        rubric=rubric,
        rerecord_hint=rerecord_hint,
        judge_keys=dict(judge_keys or {}),
    )
    work = list(_labelled(spec))
    if not work:
        raise InputError(f"{spec.path}: the spec has no labelled examples (`examples:`) to calibrate on")
    started = time.perf_counter()
    items = asyncio.run(_run(panel, spec, work, progress))
    return CalibrationReport(spec.id, panel.judges, rubric, tuple(items), time.perf_counter() - started)


def _labelled(spec: Spec) -> Iterable[tuple[Any, int, Any]]:
    for example in spec.examples:
        for index, response in enumerate(example.responses):
            if response.label in EXPECTED:
                yield example, index, response


async def _run(
    panel: JudgePanel,
    spec: Spec,
    work: list[tuple[Any, int, Any]],
    progress: Callable[[int, int], None] | None,
) -> list[CalibrationItem]:
    items = []
    for done, (example, index, response) in enumerate(work, 1):
        principle = spec.principles[example.principle]
        subject = Subject.of_example(spec, example, response)
        rulings: dict[str, str] = {}
        error = None
        try:
            judgements = await panel.judge(subject, example_item(example.id, index))
            rulings = {j.judge: j.compliance for j in judgements}
        except (JudgeError, ProviderError, CassetteError) as err:
            error = str(err)
        items.append(
            CalibrationItem(
                example=example.id,
                index=index,
                label=response.label,
                principle=principle.id,
                section=principle.section or "(no section)",
                level=principle.level,
                rulings=rulings,
                error=error,
            )
        )
        if progress is not None:
            progress(done, len(work))
    return items


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _score(score: Score) -> str:
    return f"{_pct(score.accuracy)} ({score.correct}/{score.total})"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first, *rest = cells
        return "  " + "  ".join(
            [first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))]
        )

    return "\n".join([line(header), *(line(r) for r in rows)])
