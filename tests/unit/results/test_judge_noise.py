"""The gate's judge-noise rule on synthetic runs where the truth is known: each sample's true
compliance is drawn, then a simulated judge of known accuracy rules on it (right with that
probability). A model that really regressed is caught; a compliant model seen through a
noisy panel is not flagged (where the interval rule alone flags it)."""

from __future__ import annotations

import random

import pytest

from spec_pytest.results.gate import Baseline, Change, SampleTally, classify, compare
from spec_pytest.results.judge_noise import explained_by_judges, noise_chance
from spec_pytest.results.records import Record

K = 20
ACCURACY = 0.7  # a weak panel: its errors alone often look like regressions to the interval rule


def _observed_passes(rng: random.Random, compliance: float, accuracy: float, samples: int = K) -> int:
    """How many of ``samples`` a judge of ``accuracy`` rules compliant for a model that complies
    with probability ``compliance``: the truth is drawn, then the judge errs with 1 - accuracy."""
    passes = 0
    for _ in range(samples):
        complies = rng.random() < compliance
        right = rng.random() < accuracy
        passes += complies == right  # a right ruling on a compliant answer, or a wrong one on a violation
    return passes


def test_the_worked_example_of_the_readme() -> None:
    assert noise_chance(13, 20, 0.8) == pytest.approx(0.0867, abs=1e-4)
    assert noise_chance(12, 20, 0.8) == pytest.approx(0.0321, abs=1e-4)
    baseline = SampleTally(20, 20)
    assert classify(baseline, SampleTally(13, 20)) is Change.REGRESSION  # intervals alone
    assert classify(baseline, SampleTally(13, 20), judge_accuracy=0.8) is Change.WITHIN_NOISE
    assert classify(baseline, SampleTally(12, 20), judge_accuracy=0.8) is Change.REGRESSION
    assert classify(baseline, SampleTally(13, 20), judge_accuracy=0.98) is Change.REGRESSION  # good judges


def test_pure_judge_noise_is_not_flagged() -> None:
    rng = random.Random(16)
    runs = [_observed_passes(rng, compliance=1.0, accuracy=ACCURACY) for _ in range(2000)]
    flagged_by_intervals = sum(
        classify(SampleTally(K, K), SampleTally(k, K)) is Change.REGRESSION for k in runs
    )
    flagged = sum(
        classify(SampleTally(K, K), SampleTally(k, K), judge_accuracy=ACCURACY) is Change.REGRESSION
        for k in runs
    )
    assert flagged_by_intervals > 0.3 * len(runs)  # the judges' errors look like regressions...
    # ...which the rule withholds: it flags at most its 5 % level (plus three standard errors)
    assert flagged <= (0.05 + 3 * (0.05 * 0.95 / len(runs)) ** 0.5) * len(runs)


@pytest.mark.parametrize(
    ("compliance", "accuracy"),
    [(0.0, ACCURACY), (0.5, 0.9)],
    ids=["always-violates-weak-panel", "violates-half-the-time-good-panel"],
)
def test_a_true_regression_is_caught_through_noisy_judges(compliance: float, accuracy: float) -> None:
    rng = random.Random(61)
    runs = [_observed_passes(rng, compliance=compliance, accuracy=accuracy) for _ in range(500)]
    caught = sum(
        classify(SampleTally(K, K), SampleTally(k, K), judge_accuracy=accuracy) is Change.REGRESSION
        for k in runs
    )
    assert caught >= 0.95 * len(runs)


def test_the_rule_never_makes_a_regression_and_keeps_measured_items_out() -> None:
    assert classify(SampleTally(20, 20), SampleTally(19, 20), judge_accuracy=0.8) is Change.WITHIN_NOISE
    assert classify(SampleTally(10, 20), SampleTally(10, 20), judge_accuracy=0.5) is Change.KNOWN_FAILURE
    # a baseline pass that is now measured is no evidence of judge noise: still a regression
    assert classify(SampleTally(1, 1), SampleTally(0, 1, measured=1), judge_accuracy=0.8) is Change.REGRESSION
    assert not explained_by_judges(0, 20, 0.8)
    with pytest.raises(ValueError, match="accuracy"):
        noise_chance(1, 2, 1.5)


def _record(scenario: str, sample: int, outcome: str) -> Record:
    return Record.from_dict(
        {
            "suite": "s",
            "scenario": scenario,
            "model": "openai:m",
            "sample": sample,
            "outcome": outcome,
        }
    )


def test_compare_reports_the_panel_accuracy_it_used() -> None:
    baseline = Baseline.from_records([_record("a", i, "pass") for i in range(K)])
    run = [_record("a", i, "pass" if i < 12 else "fail") for i in range(K)]
    plain = compare(baseline, run)
    noisy = compare(baseline, run, judge_accuracy=ACCURACY)
    assert [e.change for e in plain.entries] == [Change.REGRESSION]
    assert [e.change for e in noisy.entries] == [Change.WITHIN_NOISE]
    assert not noisy.exit_failed
    assert any("judge noise: panel accuracy 70.0%" in line for line in noisy.summary_lines())
