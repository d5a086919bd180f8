"""Judge agreement for the reports: the panel's overall figures and Cohen's kappa per judge pair.

The overall lines are the terminal summary's own (`spec_pytest.results.summary.agreement_lines`):
the same numbers and the same reasons when a number is missing (too few cases, every ruling
alike) or misleading (the kappa paradox), so the reports never say more than the terminal.
Per pair, a kappa is shown beside the raw share of cases the two judges agreed on, because a
low kappa over almost-always-equal rulings (the paradox) is only read right next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from spec_pytest.core.judgement import Judgement
from spec_pytest.judge.agreement import cohen_kappa, krippendorff_alpha
from spec_pytest.results.records import Record
from spec_pytest.results.summary import agreement_lines

#: Cases a pair must share before a chance-corrected figure means anything (as the panel's).
MIN_CASES = 2

__all__ = ["MIN_CASES", "Pair", "agreement_lines", "pairs"]


@dataclass(frozen=True, slots=True)
class PairRuling:
    """Cohen's kappa of one field for one pair, and the raw share of cases they agreed on."""

    kappa: float | None
    agreed: float

    def describe(self) -> str:
        if self.kappa is None:  # both judges gave one ruling throughout: nothing to correct for chance
            return f"all alike (kappa undefined), agreed on {self.agreed:.0%}"
        return f"{self.kappa:.2f} (agreed on {self.agreed:.0%})"


@dataclass(frozen=True, slots=True)
class Pair:
    """Two judges over the cases both ruled on."""

    first: str
    second: str
    cases: int
    compliance: PairRuling | None  # None: fewer than MIN_CASES shared cases
    refusal: PairRuling | None
    position_alpha: float | None  # Krippendorff (ordinal); None when undefined or too few

    def describe(self, field: str) -> str:
        """The cell text for ``compliance`` or ``refusal``; says why when there is no number."""
        ruling: PairRuling | None = getattr(self, field)
        if ruling is None:
            return f"too few cases ({self.cases}; needs {MIN_CASES})"
        return ruling.describe()

    def describe_position(self) -> str:
        if self.cases < MIN_CASES:
            return f"too few cases ({self.cases}; needs {MIN_CASES})"
        if self.position_alpha is None:
            return "all alike or unplaced (alpha undefined)"
        return f"{self.position_alpha:.2f}"


def pairs(records: Sequence[Record]) -> list[Pair]:
    """Every pair of judges that ruled on a common case, in the order judges first appear."""
    judges: dict[str, None] = {}
    for record in records:
        for judgement in record.judges:
            judges.setdefault(judgement.judge, None)
    found = []
    for a, b in combinations(judges, 2):
        shared: list[tuple[Judgement, Judgement]] = []
        for record in records:
            by_judge = {j.judge: j for j in record.judges}
            if a in by_judge and b in by_judge:
                shared.append((by_judge[a], by_judge[b]))
        if not shared:
            continue
        if len(shared) < MIN_CASES:
            found.append(Pair(a, b, len(shared), None, None, None))
            continue
        alpha = krippendorff_alpha([[x.position, y.position] for x, y in shared])
        found.append(
            Pair(a, b, len(shared), _ruling(shared, "compliance"), _ruling(shared, "refusal"), alpha)
        )
    return found


def _ruling(shared: Sequence[tuple[Judgement, Judgement]], field: str) -> PairRuling:
    left = [getattr(x, field) for x, _ in shared]
    right = [getattr(y, field) for _, y in shared]
    agreed = sum(x == y for x, y in zip(left, right, strict=True)) / len(shared)
    return PairRuling(cohen_kappa(left, right), agreed)
