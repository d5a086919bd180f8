"""Agreement between raters (judges, or a judge and the spec's labels): pure functions.

* Fleiss' kappa for categorical rulings by several judges (Fleiss 1971): every item rated
  by the same number of raters.
* Cohen's kappa for two raters (a judge against the labels, in calibration).
* Krippendorff's alpha for positions on the 0-6 spectrum, with the ordinal metric (the
  points are ordered, their distances are not known to be equal) or the interval one;
  missing ratings allowed (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability").

Each returns None when the statistic is undefined, which happens when every rating is the
same category, so chance agreement is already perfect: 0/0, not a number to report. A run
where all judges always say "compliant" has no measurable agreement, and must not show 1.0.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import permutations
from typing import Any, Literal

from spec_pytest.core.judgement import Judgement

Level = Literal["nominal", "ordinal", "interval"]


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> float | None:
    """Fleiss' kappa of ``ratings``: one row per item, holding the label each rater gave."""
    categories = sorted({label for row in ratings for label in row}, key=repr)
    table = [[Counter(row)[c] for c in categories] for row in ratings]
    return fleiss_kappa_counts(table)


def fleiss_kappa_counts(table: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa from a count table: ``table[i][j]`` raters put item i in category j."""
    if not table:
        return None
    raters = sum(table[0])
    if raters < 2 or any(sum(row) != raters for row in table):
        raise ValueError("Fleiss' kappa needs the same number (at least 2) of ratings per item")
    items = len(table)
    observed = sum((sum(n * n for n in row) - raters) / (raters * (raters - 1)) for row in table) / items
    shares = [sum(row[j] for row in table) / (items * raters) for j in range(len(table[0]))]
    expected = sum(p * p for p in shares)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float | None:
    """Cohen's kappa between two raters who rated the same items, in the same order."""
    if len(first) != len(second):
        raise ValueError("Cohen's kappa needs two ratings per item")
    if not first:
        return None
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    left, right = Counter(first), Counter(second)
    expected = sum(left[c] * right[c] for c in left) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha(units: Sequence[Sequence[float | None]], level: Level = "ordinal") -> float | None:
    """Krippendorff's alpha: one row per unit (item), one value (or None, missing) per rater.

    Units with fewer than two values carry no information on agreement and are skipped.
    """
    coincidences: defaultdict[tuple[float, float], float] = defaultdict(float)
    for unit in units:
        values = [v for v in unit if v is not None]
        if len(values) < 2:
            continue
        weight = 1.0 / (len(values) - 1)
        for a, b in permutations(values, 2):
            coincidences[(a, b)] += weight
    totals: defaultdict[float, float] = defaultdict(float)
    for (a, _), count in coincidences.items():
        totals[a] += count
    n = sum(totals.values())
    if n <= 1:
        return None
    delta = _metric(level, totals)
    disagreement = sum(count * delta(a, b) for (a, b), count in coincidences.items())
    chance = sum(totals[a] * totals[b] * delta(a, b) for a in totals for b in totals)
    if chance == 0:
        return None
    return 1.0 - (n - 1) * disagreement / chance


def _metric(level: Level, totals: Mapping[float, float]) -> Callable[[float, float], float]:
    """The squared difference function δ² of a measurement level."""
    if level == "nominal":
        return lambda a, b: 0.0 if a == b else 1.0
    if level == "interval":
        return lambda a, b: float(a - b) ** 2
    if level != "ordinal":
        raise ValueError(f"level must be nominal, ordinal or interval, got {level!r}")
    # Ordinal: the distance between two values is how many pairable values lie between
    # them (counting the two ends half), so only the order of the values matters.
    ordered = sorted(totals)
    cumulative: dict[float, float] = {}
    running = 0.0
    for value in ordered:
        running += totals[value]
        cumulative[value] = running

    def ordinal(a: float, b: float) -> float:
        low, high = (a, b) if a <= b else (b, a)
        between = cumulative[high] - cumulative[low] + totals[low]
        return (between - (totals[low] + totals[high]) / 2) ** 2

    return ordinal


@dataclass(frozen=True, slots=True)
class PanelAgreement:
    """How much a run's judges agreed with each other (None where undefined or one judge)."""

    items: int  # panels counted: those where every judge ruled
    judges: int
    compliance_kappa: float | None  # Fleiss
    refusal_kappa: float | None  # Fleiss
    position_alpha: float | None  # Krippendorff, ordinal
    #: Per-value rubric: Krippendorff's alpha (ordinal) on each value's own positions (the
    #: pair's first value, its second); None when no judge ruled per value.
    value_alphas: tuple[float | None, float | None] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "items": self.items,
            "judges": self.judges,
            "compliance_kappa": self.compliance_kappa,
            "refusal_kappa": self.refusal_kappa,
            "position_alpha": self.position_alpha,
        }
        if self.value_alphas is not None:
            data["value_alphas"] = list(self.value_alphas)
        return data


def panel_agreement(panels: Sequence[Sequence[Judgement]]) -> PanelAgreement:
    """Inter-judge agreement over a run: one entry per item, its judgements in panel order.

    Panels with fewer judgements than the largest (a judge failed there) are left out of the
    kappas, which need every rater on every item; positions tolerate the gaps.
    """
    size = max((len(p) for p in panels), default=0)
    full = [p for p in panels if len(p) == size]
    if size < 2 or not full:
        return PanelAgreement(len(full), size, None, None, None)
    return PanelAgreement(
        items=len(full),
        judges=size,
        compliance_kappa=fleiss_kappa([[j.compliance for j in p] for p in full]),
        refusal_kappa=fleiss_kappa([[j.refusal for j in p] for p in full]),
        position_alpha=krippendorff_alpha(
            [[j.position for j in p] + [None] * (size - len(p)) for p in panels], "ordinal"
        ),
        value_alphas=_value_alphas(panels, size),
    )


def _value_alphas(
    panels: Sequence[Sequence[Judgement]], size: int
) -> tuple[float | None, float | None] | None:
    """Krippendorff's alpha per value of the pair, over the judgements ruled per value."""
    if not any(j.value_positions is not None for p in panels for j in p):
        return None

    def on(index: int) -> float | None:
        rows: list[list[int | None]] = [
            [None if j.value_positions is None else j.value_positions[index] for j in p]
            + [None] * (size - len(p))
            for p in panels
        ]
        return krippendorff_alpha(rows, "ordinal")

    return (on(0), on(1))
