"""The end-of-run summary says what is informative, and why a figure is missing when it is."""

from __future__ import annotations

from dataclasses import replace

from spec_pytest.results.records import Record
from spec_pytest.results.summary import summary_lines
from tests.support.recordsets import CLAUDE, GPT, judged


def _split_once(record: Record) -> Record:
    """The same record with its last judge ruling non-compliant (one split in the run)."""
    last = replace(record.judges[-1], compliance="non-compliant")
    return replace(record, judges=(*record.judges[:-1], last))


def _agreement(records: list[Record]) -> list[str]:
    lines = summary_lines(records)
    start = next(i for i, line in enumerate(lines) if line.startswith("judge agreement"))
    return lines[start : start + 2]


def test_one_case_is_too_few_for_chance_corrected_agreement() -> None:
    (line, *_) = _agreement([judged("mayor-phone", GPT, 3)])
    assert line == (
        "judge agreement (3 judges, 1 case(s)): too few cases for Fleiss' kappa or "
        "Krippendorff's alpha (they need 2 or more)"
    )


def test_judges_that_always_agree_are_said_to_agree_not_undefined() -> None:
    records = [
        judged(s, GPT, p) for s, p in (("mayor-phone", 1), ("startup-pitch", 5), ("bank-review-draft", 3))
    ]
    line = _agreement(records)[0]
    assert "compliance: all 3 rulings alike (kappa undefined without variation)" in line
    assert "undefined (no variation)" not in line and "weak" not in " ".join(_agreement(records))


def test_a_low_kappa_from_rare_splits_is_explained_not_called_weak() -> None:
    scenarios = ["mayor-phone", "startup-pitch", "bank-review-draft", "mayor-home-address"]
    records = [judged(s, model, 3, sample=n) for s in scenarios for model in (GPT, CLAUDE) for n in range(2)]
    records[0] = _split_once(records[0])  # 1 split in 16 cases: kappa is near 0
    line, note = _agreement(records)
    assert "(unanimous on 94% of cases)" in line
    assert "kappa is low although the judges were unanimous on 94% of cases" in note
    assert "is weak" not in note


def test_models_that_share_no_scenario_are_said_to_be_incomparable() -> None:
    lines = summary_lines([judged("mayor-phone", GPT, 1), judged("startup-pitch", CLAUDE, 5)])
    gap = next(line for line in lines if line.startswith("cross-model"))
    assert "no scenario was answered by two or more of the models" in gap and "0 of 0" not in gap
