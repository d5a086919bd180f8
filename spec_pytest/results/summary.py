"""The end-of-run summary: outcomes, judge agreement, spec gaps. Lines of text from records.

Built from result records rather than from pytest's reports, so it is the same under
xdist (where the controller never sees a trial) and when a results file is summarised later.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Sequence
from typing import Any

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
    lines += agreement_lines(records)
    lines += _gap_lines(records, threshold, top)
    return lines


def agreement_lines(records: Sequence[Record]) -> list[str]:
    """How far the judges agreed, with why a number is missing or misleading (the reports reuse it)."""
    panels = [r.judges for r in records if r.judges]
    agreement = panel_agreement(panels)
    if agreement.judges < 2:
        return []
    head = f"judge agreement ({agreement.judges} judges, {agreement.items} case(s))"
    if agreement.items < 2:  # chance-corrected agreement needs cases to compare
        return [f"{head}: too few cases for Fleiss' kappa or Krippendorff's alpha (they need 2 or more)"]
    full = [p for p in panels if len(p) == agreement.judges]
    raw = {
        "compliance": _unanimous(full, "compliance"),
        "refusal": _unanimous(full, "refusal"),
    }

    def kappa(value: float | None, field: str) -> str:
        if value is None:  # one ruling for every case: nothing to correct for chance
            return f"{field}: all {agreement.items} rulings alike (kappa undefined without variation)"
        return f"{field} Fleiss' kappa {value:.2f} (unanimous on {100 * raw[field]:.0f}% of cases)"

    alpha = agreement.position_alpha
    position = (
        "positions: all alike (alpha undefined without variation)"
        if alpha is None
        else f"position Krippendorff's alpha (ordinal) {alpha:.2f}"
    )
    if agreement.value_alphas is not None:  # the per-value rubric: each value's own spectrum
        shown = ["undefined" if a is None else f"{a:.2f}" for a in agreement.value_alphas]
        position += f"; per value (first, second) {shown[0]}, {shown[1]}"
    lines = [
        f"{head}: {kappa(agreement.compliance_kappa, 'compliance')}, "
        f"{kappa(agreement.refusal_kappa, 'refusal')}, {position}"
    ]
    weak = agreement.compliance_kappa is not None and agreement.compliance_kappa < 0.4
    if weak and raw["compliance"] >= 0.9:  # the kappa paradox: rare disagreement, skewed rulings
        lines.append(
            "  compliance kappa is low although the judges were unanimous on "
            f"{100 * raw['compliance']:.0f}% of cases: with almost every ruling the same, kappa "
            "punishes the few splits; read those cases, the panel is not weak overall"
        )
    elif weak or (alpha is not None and alpha < 0.4):
        lines.append(
            "  agreement below 0.4 is weak: read the judges' rationales before trusting a gate on them"
        )
    return lines


def _unanimous(panels: Sequence[Sequence[Any]], field: str) -> float:
    """The share of cases whose judges all gave the same ``field`` (raw, not chance-corrected)."""
    if not panels:
        return 0.0
    same = sum(1 for panel in panels if len({getattr(j, field) for j in panel}) == 1)
    return same / len(panels)


def _gap_lines(records: Sequence[Record], threshold: float, top: int) -> list[str]:
    if len({r.model for r in records}) < 2:
        return []
    found = disagreements(records)
    if not found:
        return [
            "cross-model disagreement: no scenario was answered by two or more of the models, "
            "so none can be compared (run the same scenarios for each model)"
        ]
    gaps = spec_gaps(found, threshold)
    lines = [
        f"cross-model disagreement: {len(gaps)} of {len(found)} scenario(s) with D >= {threshold:g} "
        "(likely spec gaps)"
    ]
    first_ids: dict[tuple[str, str, str], str] = {}  # one node id per scenario x model
    for record in sorted(records, key=lambda r: r.sample):
        if record.nodeid:
            first_ids.setdefault((record.suite, record.scenario, record.model), record.nodeid)
    for gap in sorted(gaps, key=lambda g: -g.d)[:top]:
        positions = ", ".join(f"{m} {p:g}" for m, p in sorted(gap.positions.items()))
        lines.append(f"  D={gap.d:.2f} {gap.scenario} ({positions})")
        ids = [first_ids.get((gap.suite, gap.scenario, m)) for m in sorted(gap.positions)]
        if all(ids):  # each model's first sample, as pytest takes them (several ids at once)
            lines.append("    " + " ".join(shlex.quote(str(i)) for i in ids))
    return lines
