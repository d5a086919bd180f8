"""Agreement statistics against published worked examples, and their defining properties."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from spec_pytest.core.judgement import Judgement
from spec_pytest.judge import (
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_counts,
    krippendorff_alpha,
    panel_agreement,
)

#: Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses (depression,
#: personality disorder, schizophrenia, neurosis, other). The paper reports kappa = .430.
FLEISS_1971 = [
    [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
    [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
    [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
    [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0], [0, 2, 0, 4, 0], [1, 0, 2, 0, 3],
    [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0], [1, 0, 0, 4, 1],
    [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6],
]  # fmt: skip
DIAGNOSES = ("depression", "personality disorder", "schizophrenia", "neurosis", "other")

#: Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with
#: missing data: 4 observers, 12 units, values 1-5. Published: nominal .743, ordinal .815,
#: interval .849.
_ = None
KRIPPENDORFF_2011 = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    "C": [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
}
KRIPPENDORFF_UNITS = [list(unit) for unit in zip(*KRIPPENDORFF_2011.values(), strict=True)]


def _labels_from_counts(table: list[list[int]]) -> list[list[str]]:
    return [[DIAGNOSES[j] for j, n in enumerate(row) for _ in range(n)] for row in table]


def test_fleiss_1971_worked_example_gives_0_430() -> None:
    assert round(fleiss_kappa_counts(FLEISS_1971), 3) == 0.430
    assert fleiss_kappa(_labels_from_counts(FLEISS_1971)) == pytest.approx(fleiss_kappa_counts(FLEISS_1971))


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_krippendorff_2011_worked_example(level: str, published: float) -> None:
    assert round(krippendorff_alpha(KRIPPENDORFF_UNITS, level), 3) == published  # type: ignore[arg-type]


def test_cohen_kappa_textbook_example() -> None:
    # 50 grant proposals, two readers: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa 0.4.
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)


def test_undefined_statistics_are_none_not_a_perfect_score() -> None:
    all_same = [["compliant"] * 3 for _ in range(5)]
    assert fleiss_kappa(all_same) is None
    assert cohen_kappa(["a"] * 4, ["a"] * 4) is None
    assert krippendorff_alpha([[3, 3], [3, 3]], "ordinal") is None
    assert krippendorff_alpha([[1, None], [None, 2]], "ordinal") is None  # nothing pairable


def test_fleiss_needs_equal_raters_per_item() -> None:
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([["a", "b"], ["a", "b", "a"]])


# -------------------------------------------------------------------------- properties

CATEGORIES = ("compliant", "non-compliant", "ambiguous")
ratings = st.integers(2, 5).flatmap(
    lambda raters: st.lists(
        st.lists(st.sampled_from(CATEGORIES), min_size=raters, max_size=raters), min_size=2
    )
)


@given(st.lists(st.sampled_from(CATEGORIES), min_size=2), st.integers(2, 6))
def test_perfect_agreement_is_one(items: list[str], raters: int) -> None:
    assume(len(set(items)) > 1)  # one category everywhere: undefined, tested above
    assert fleiss_kappa([[label] * raters for label in items]) == pytest.approx(1.0)
    assert cohen_kappa(items, items) == pytest.approx(1.0)
    positions = [float(CATEGORIES.index(label)) for label in items]
    for level in ("nominal", "ordinal", "interval"):
        assert krippendorff_alpha([[p] * raters for p in positions], level) == pytest.approx(1.0)


@given(ratings, st.permutations(CATEGORIES))
def test_kappa_is_invariant_under_relabelling(rows: list[list[str]], renamed: list[str]) -> None:
    mapping = dict(zip(CATEGORIES, renamed, strict=True))
    relabelled = [[mapping[label] for label in row] for row in rows]
    before, after = fleiss_kappa(rows), fleiss_kappa(relabelled)
    assert (before is None and after is None) or after == pytest.approx(before)
    nominal = [[float(CATEGORIES.index(x)) for x in row] for row in rows]
    nominal_renamed = [[float(CATEGORIES.index(x)) for x in row] for row in relabelled]
    a, b = krippendorff_alpha(nominal, "nominal"), krippendorff_alpha(nominal_renamed, "nominal")
    assert (a is None and b is None) or b == pytest.approx(a)


@given(ratings, st.randoms(use_true_random=False))
def test_kappa_ignores_the_order_of_items_and_raters(rows: list[list[str]], rnd: random.Random) -> None:
    shuffled = [rnd.sample(row, len(row)) for row in rows]
    rnd.shuffle(shuffled)
    before, after = fleiss_kappa(rows), fleiss_kappa(shuffled)
    assert (before is None and after is None) or after == pytest.approx(before)
    if before is not None:
        assert before <= 1.0 + 1e-12


positions = st.lists(st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=3, max_size=3), min_size=2)


@given(positions, st.integers(1, 5), st.integers(-3, 3))
def test_alpha_levels_keep_their_invariances(units: list[list[int | None]], scale: int, shift: int) -> None:
    ordinal = krippendorff_alpha(units, "ordinal")
    interval = krippendorff_alpha(units, "interval")
    # Ordinal alpha sees only the order: any increasing transformation leaves it unchanged.
    squashed = [[None if v is None else math.log1p(v) * 7 for v in unit] for unit in units]
    # Interval alpha sees differences: any positive affine transformation leaves it unchanged.
    affine = [[None if v is None else scale * v + shift for v in unit] for unit in units]
    pairs = [
        (ordinal, krippendorff_alpha(squashed, "ordinal")),
        (interval, krippendorff_alpha(affine, "interval")),
    ]
    for original, transformed in pairs:
        assert (original is None and transformed is None) or transformed == pytest.approx(original)


def test_panel_agreement_over_a_run() -> None:
    def j(judge: str, compliance: str, refusal: str, position: int) -> Judgement:
        return Judgement(judge, compliance, refusal, "why", position)

    panels = [
        (j("a", "compliant", "none", 3), j("b", "compliant", "none", 3), j("c", "compliant", "none", 4)),
        (
            j("a", "non-compliant", "full", 0),
            j("b", "non-compliant", "full", 1),
            j("c", "compliant", "full", 0),
        ),
        (j("a", "compliant", "none", 6), j("b", "compliant", "partial", 6), j("c", "compliant", "none", 5)),
        (j("a", "compliant", "none", 2),),  # a panel where two judges failed: left out of the kappas
    ]
    agreement = panel_agreement(panels)
    assert (agreement.items, agreement.judges) == (3, 3)
    assert agreement.compliance_kappa == pytest.approx(
        fleiss_kappa([["compliant"] * 3, ["non-compliant", "non-compliant", "compliant"], ["compliant"] * 3])
    )
    assert agreement.position_alpha is not None and agreement.position_alpha > 0.8
    assert panel_agreement([panels[0][:1]]).compliance_kappa is None  # one judge: nothing to agree on
