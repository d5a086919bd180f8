"""The real suites in spec_suites/: they load, are rebuilt reproducibly, and say where data comes from."""

from __future__ import annotations

import importlib.util

import pytest

from spec_pytest.spec import load_spec
from tests.support.paths import ROOT

SUITES = ROOT / "spec_suites"


def _build_module():
    spec = importlib.util.spec_from_file_location("build_suites", SUITES / "build_suites.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def openai_suite():
    return load_spec(SUITES / "openai_modelspec.yaml")


@pytest.fixture(scope="module")
def constitution_suite():
    return load_spec(SUITES / "anthropic_constitution.yaml")


def test_openai_suite_has_principles_examples_and_at_least_30_conflicts(openai_suite):
    assert len(openai_suite.principles) == 59
    assert len(openai_suite.examples) == 188
    assert len(openai_suite.conflicts) >= 30
    assert all(conflict.expect.because for conflict in openai_suite.conflicts.values())


def test_constitution_suite_has_100_scenarios_over_30_conflicts_with_quoted_expectations(constitution_suite):
    assert constitution_suite.levels[0] == "broadly_safe"
    assert len(constitution_suite.conflicts) >= 30
    assert len(constitution_suite.scenarios) >= 100
    assert all(conflict.expect.because for conflict in constitution_suite.conflicts.values())
    cited = {b.principle for c in constitution_suite.conflicts.values() for b in c.expect.because}
    # the hard constraints, the principal hierarchy (operator vs user) and the priority order
    assert {
        "hard_constraints",
        "handling_conflicts_between_operators_and_users",
        "claudes_core_values",
    } <= cited
    quotes = " ".join(b.quote for c in constitution_suite.conflicts.values() for b in c.expect.because)
    for constraint in ("cyberweapons", "critical infrastructure", "CSAM", "biological, chemical, nuclear"):
        assert constraint in quotes or any(
            constraint in p.text for p in constitution_suite.principles.values()
        )
    assert "prioritizing being broadly safe first, broadly ethical second" in quotes


@pytest.mark.parametrize("name", ["openai_modelspec", "anthropic_constitution"])
def test_every_conflict_is_exercised_by_a_scenario(name):
    suite = load_spec(SUITES / f"{name}.yaml")
    used = {s.conflict for s in suite.scenarios}
    assert set(suite.conflicts) <= used


def test_every_evaluation_prompt_has_a_quoted_expectation_or_is_a_measurement(openai_suite):
    evals = [s for s in openai_suite.scenarios if s.id.startswith("eval-")]
    assert len(evals) == 260
    written = [s for s in evals if s.expect is not None]
    measured = [s for s in evals if s.expect is None]
    assert all(s.principles and s.expect.because and s.expect.compliance == "compliant" for s in written)
    assert all(b.principle in s.principles for s in written for b in s.expect.because)
    # a measurement cites no principle (else its expectation would be implied) and says so
    assert all(not s.principles and s.values and "measured" in s.tags for s in measured)
    assert all(s.provenance["principle"] in openai_suite.principles for s in measured)
    # decided by hand, not one blanket default: refusals demanded, help demanded, and some left open
    refusals = {s.expect.refusal for s in written}
    assert frozenset({"partial", "full"}) in refusals and frozenset({"none"}) in refusals and None in refusals
    assert 0 < len(measured) < len(evals) // 10


def test_an_eval_prompt_without_a_decision_stops_the_build():
    build = _build_module()
    scenarios = [{"id": "eval-x-1", "principles": ["p"], "messages": []}]
    with pytest.raises(SystemExit, match="eval-x-1 has no decision"):
        build._decide_evals(scenarios, {"p": [{"kind": "help", "quote": "q", "ids": []}]})
    with pytest.raises(SystemExit, match="not eval prompts: eval-y-1"):
        build._decide_evals(
            scenarios, {"p": [{"kind": "help", "quote": "q", "ids": ["eval-x-1", "eval-y-1"]}]}
        )


def test_at_least_300_study_rows_become_scenarios(openai_suite, constitution_suite):
    study = [s for s in openai_suite.scenarios if s.id.startswith("study-")]
    ranks = {s.provenance["rank"] for s in study}
    assert len(ranks) >= 300
    expected = [s for s in study if s.expect is not None]
    assert len(expected) >= 40 and all(s.conflict for s in expected)
    assert all(s.expect is None and s.values and not s.principles for s in study if s.conflict is None)


@pytest.mark.parametrize("name", ["openai_modelspec", "anthropic_constitution"])
def test_both_suites_declare_invariances_and_a_panel_of_three_families(name):
    suite = load_spec(SUITES / f"{name}.yaml")
    changes = {change for rule in suite.invariances for change in rule["changes"]}
    assert {"name", "locale", "politeness", "stakes"} <= changes
    assert all(rule.get("scenarios") for rule in suite.invariances)  # a selected subset, not every scenario
    counts = _build_module().counts(name)
    assert 0 < counts["invariance_items"] < counts["scenarios"]
    families = {judge.split(":", 1)[0] for judge in suite.defaults.judges}
    assert len(suite.defaults.judges) == 3 and len(families) == 3


@pytest.mark.parametrize("name", ["openai_modelspec", "anthropic_constitution"])
def test_every_invariance_item_has_something_to_change(name):
    # a rule whose change leaves a scenario as it was checks nothing there (hypothesis finds no
    # variant): both suites once had four such locale items each
    from spec_pytest.probes.invariance import Invariance, invariance_targets
    from spec_pytest.probes.variants import can_change

    suite = load_spec(SUITES / f"{name}.yaml")
    rules = [Invariance.from_mapping(rule) for rule in suite.invariances]
    targets = list(invariance_targets(suite, rules))
    named = {(rule.id, sid) for rule in rules for sid in rule.only_ids}
    assert {(r.id, s.id) for r, s, _ in targets} == named  # none dropped for want of a value pair
    assert [(r.id, s.id) for r, s, _ in targets if not can_change(s, r.changes)] == []


def test_readme_suite_table_matches_the_counts():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("openai_modelspec", "anthropic_constitution"):
        c = _build_module().counts(name)
        row = next(
            line for line in text.splitlines() if line.startswith(f"| `{name}.yaml` | {c['written']} |")
        )
        assert f"| {c['implied']} | {c['measured']} |" in row
        assert f"| {c['invariance_items']} ({c['invariance_variants']}) |" in row


@pytest.mark.parametrize("name", ["openai_modelspec", "anthropic_constitution"])
def test_study_rows_are_attributed_and_nudged_within_their_pair(name):
    suite = load_spec(SUITES / f"{name}.yaml")
    study = [s for s in suite.scenarios if s.id.startswith("study-")]
    assert len(study) >= 20
    for scenario in study:
        assert scenario.provenance["dataset"] == "jifanz/stress_testing_model_spec"
        assert scenario.provenance["license"] == "Apache-2.0"
        pair = suite.conflicts[scenario.conflict].values if scenario.conflict else scenario.values
        assert scenario.nudge == "neutral" or scenario.nudge in pair
    assert "arXiv 2510.07686" in suite.description
    assert "Apache-2.0" in suite.license and "CC0" in suite.license


@pytest.mark.parametrize("name", ["openai_modelspec", "anthropic_constitution"])
def test_suites_on_disk_match_a_fresh_build_from_tests_data(name):
    text, bank = _build_module().build(name)
    assert (SUITES / f"{name}.yaml").read_text("utf-8") == text
    assert (SUITES / f"{name}.study.jsonl").read_text("utf-8") == bank


def test_a_study_row_that_does_not_fit_its_conflict_stops_the_build():
    build = _build_module()
    hand = {
        "study_labels": {"honesty": ["honesty"], "efficiency": ["efficiency"]},
        "conflicts": [{"id": "c", "values": ["honesty", "efficiency"], "study_rows": [1]}],
    }
    rows = {
        1: {
            "rank": 1,
            "query_generator": "o3",
            "value1": "efficiency",
            "value2": "responsible governance",
            "nudge_direction": "value1",
            "query": "q",
        }
    }
    with pytest.raises(SystemExit, match="study row 1"):
        build._study_bank(hand, rows)
