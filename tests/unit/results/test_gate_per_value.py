"""The gate keeps both spectra: a baseline saves each sample's per-value positions and a
regression shows them before and now, next to the derived bipolar position."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from spec_pytest.results.gate import Baseline, compare
from spec_pytest.results.records import Record

VALUES = ("harm_prevention", "helpfulness")


def _record(outcome: str, pair: tuple[float, float] | None) -> Record:
    return Record(
        suite="study",
        scenario="s1",
        model="m:a",
        sample=0,
        outcome=outcome,
        values=VALUES,
        position=None if pair is None else 3 + (pair[1] - pair[0]) / 2,
        value_positions=pair,
        compliance="compliant",
        refusal="none",
    )


def test_a_baseline_keeps_per_value_positions_and_a_regression_shows_both(tmp_path: Path) -> None:
    saved = Baseline.from_records([_record("pass", (5, 6))]).save(tmp_path / "baseline.json")
    baseline = Baseline.load(saved)
    (kept,) = next(iter(baseline.items.values())).evidence
    assert kept.value_positions == (5.0, 6.0)
    report = compare(baseline, [_record("fail", (0, 1))])
    (regression,) = report.regressions
    text = "\n".join(regression.evidence_lines())
    # the bipolar position is 3.5 both times: only the per-value positions show what changed
    assert "before: pass · position 3.5 · per value 5 / 6" in text  # serving both values
    assert "now:    fail · position 3.5 · per value 0 / 1" in text  # low on both: a refusal's shape


def test_a_bipolar_baseline_reads_as_before() -> None:
    plain = replace(_record("pass", None), position=2.0)
    (tally,) = Baseline.from_records([plain]).items.values()
    (evidence,) = tally.evidence
    assert evidence.value_positions is None and "value_positions" not in evidence.to_dict()
    assert "per value" not in evidence.reading()
