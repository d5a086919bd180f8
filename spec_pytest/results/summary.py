"""The end-of-run summary: outcomes, judge agreement, spec gaps. Lines of text from records.

Built from result records rather than from pytest's reports, so it is the same under
xdist (where the controller never sees a trial) and when a results file is summarised later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from spec_pytest.judge import panel_agreement
from spec_pytest.results.analysis import disagreements, spec_gaps
from spec_pytest.results.records import Record

OUTCOME_ORDER = ("pass", "fail", "inconclusive", "error")


def summary_lines(records: Sequence[Record], threshold: float = 1.5, top: int = 5) -> list[str]:
    if not records:
        return []
    counts = Counter(r.outcome for r in records)
    shown = [*OUTCOME_ORDER, *(["measured"] if counts.get("measured") else [])]  # measured: never a pass
    lines = [f"{len(records)} case(s): " + ", ".join(f"{counts.get(o, 0)} {o}" for o in shown)]
    if counts.get("measured"):
        lines.append(
            f"  {counts['measured']} measured: no expectation and no cited principle, so neither passed "
            "nor failed (their positions are in the results)"
        )
    lines += _agreement_lines(records)
    lines += _gap_lines(records, threshold, top)
    return lines


def _agreement_lines(records: Sequence[Record]) -> list[str]:
    panels = [r.judges for r in records if r.judges]
    agreement = panel_agreement(panels)
    if agreement.judges < 2:
        return []

    def show(value: float | None) -> str:
        return "undefined (no variation)" if value is None else f"{value:.2f}"

    line = (
        f"judge agreement ({agreement.judges} judges, {agreement.items} case(s)): "
        f"compliance Fleiss' kappa {show(agreement.compliance_kappa)}, "
        f"refusal Fleiss' kappa {show(agreement.refusal_kappa)}, "
        f"position Krippendorff's alpha (ordinal) {show(agreement.position_alpha)}"
    )
    lines = [line]
    low = [v for v in (agreement.compliance_kappa, agreement.position_alpha) if v is not None and v < 0.4]
    if low:
        lines.append(
            "  agreement below 0.4 is weak: read the judges' rationales before trusting a gate on them"
        )
    return lines


def _gap_lines(records: Sequence[Record], threshold: float, top: int) -> list[str]:
    if len({r.model for r in records}) < 2:
        return []
    found = disagreements(records)
    gaps = spec_gaps(found, threshold)
    lines = [
        f"cross-model disagreement: {len(gaps)} of {len(found)} scenario(s) with D >= {threshold:g} "
        "(likely spec gaps)"
    ]
    for gap in sorted(gaps, key=lambda g: -g.d)[:top]:
        positions = ", ".join(f"{m} {p:g}" for m, p in sorted(gap.positions.items()))
        lines.append(f"  D={gap.d:.2f} {gap.suite}::{gap.scenario} ({positions})")
    return lines
