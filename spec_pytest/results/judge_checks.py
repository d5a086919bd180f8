"""The judge checks of a run, summed up: how far the panel agrees with the spec's authors.

Each judge-check item leaves a row (its labelled answer and every judge's ruling); the rows
become a `CalibrationReport`, so a run's judge accuracy is counted exactly as ``spec-pytest
calibrate`` counts it (a split panel is wrong, a failed judging is an error in no accuracy).
The accuracy is what the summary shows next to the model's results, what it warns about
below ``--judge-min-accuracy``, and what the gate's judge-noise rule uses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from spec_pytest.judge.calibrate import CalibrationItem, CalibrationReport
from spec_pytest.judge.rubric import RUBRIC_VERSION
from spec_pytest.results.records import ResultsError

#: The accuracy below which summaries warn (``--judge-min-accuracy``'s default).
MIN_ACCURACY = 0.9


def report_of(rows: Iterable[Mapping[str, Any]], rubric: str = RUBRIC_VERSION) -> CalibrationReport | None:
    """The rows of one run as a calibration report (None without rows)."""
    rows = list(rows)
    items = tuple(
        CalibrationItem(
            example=str(r["example"]),
            index=int(r["index"]),
            label=str(r["label"]),
            principle=str(r["principle"]),
            section=str(r["section"]),
            level=str(r["level"]),
            rulings=dict(r.get("rulings") or {}),
            error=r.get("error"),
        )
        for r in rows
    )
    if not items:
        return None
    judges = tuple(dict.fromkeys(judge for item in items for judge in item.rulings))
    suites = sorted({str(r["suite"]) for r in rows if r.get("suite")})
    return CalibrationReport(", ".join(suites) or "run", judges, rubric, items)


def summary_lines(report: CalibrationReport | None, min_accuracy: float | None) -> list[str]:
    """Judge accuracy and agreement for the terminal, with a warning below ``min_accuracy``."""
    if report is None:
        return []
    score = report.score
    accuracy = score.accuracy
    shown = "n/a" if accuracy is None else f"{100 * accuracy:.1f}%"
    errors = len(report.errors)
    lines = [
        f"judge checks: panel accuracy {shown} ({score.correct}/{score.total} labelled answers ruled "
        f"as labelled){f', {errors} could not be judged' if errors else ''}"
    ]
    per_judge = report.per_judge()
    if per_judge:
        lines.append("  per judge: " + ", ".join(f"{j} {_pct(s['accuracy'])}" for j, s in per_judge.items()))
    kappa = report.inter_judge_kappa()
    if kappa is not None:
        lines.append(f"  agreement between judges (Fleiss' kappa): {kappa:.3f}")
    if min_accuracy is not None and (accuracy is None or accuracy < min_accuracy):
        lines.append(
            f"WARNING: this run's verdicts rest on a panel whose accuracy on the spec's labelled "
            f"answers is {shown}, below {100 * min_accuracy:.1f}% (--judge-min-accuracy): treat its "
            "passes and failures with that doubt, or fix the judges (see the failed judge checks)"
        )
    return lines


def judges_path(results: Path) -> Path:
    """The sidecar beside a results file that keeps its judge checks: ``RESULTS.judges``."""
    return results.with_name(results.name + ".judges")


def save(report: CalibrationReport | None, results: Path) -> Path | None:
    """Write the run's judge checks beside its results (for ``spec-pytest report``)."""
    if report is None:
        return None
    path = judges_path(results)
    path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _pct(value: object) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f}%"  # type: ignore[arg-type]


def load(results_paths: Iterable[str | os.PathLike[str]]) -> CalibrationReport | None:
    """The judge checks saved beside these results files (their ``.judges`` sidecars), merged;
    None when none has one. A sidecar that does not read is a `ResultsError` naming it."""
    rows: list[dict[str, Any]] = []
    for results in results_paths:
        path = judges_path(Path(results))
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            errors = {(e["example"], int(e["index"])): e["error"] for e in data.get("errors", [])}
            for item in data["items"]:
                key = (item["example"], int(item["index"]))
                rows.append(item | {"suite": data.get("spec"), "error": errors.get(key)})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ResultsError(
                f"{path}: not a judge-check file written by spec-pytest ({exc}); delete it or rerun"
            ) from None
    return report_of(rows)
