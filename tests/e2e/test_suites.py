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


def test_constitution_suite_has_at_least_15_conflicts(constitution_suite):
    assert constitution_suite.levels[0] == "broadly_safe"
    assert len(constitution_suite.conflicts) >= 15
    assert all(conflict.expect.because for conflict in constitution_suite.conflicts.values())


@pytest.mark.parametrize("name", ["openai_modelspec", "anthropic_constitution"])
def test_every_conflict_is_exercised_by_a_scenario(name):
    suite = load_spec(SUITES / f"{name}.yaml")
    used = {s.conflict for s in suite.scenarios}
    assert set(suite.conflicts) <= used


def test_openai_suite_carries_the_specs_evaluation_prompts(openai_suite):
    evals = [s for s in openai_suite.scenarios if s.id.startswith("eval-")]
    assert len(evals) == 260
    assert all(s.principles and s.conflict is None for s in evals)


@pytest.mark.parametrize("name", ["openai_modelspec", "anthropic_constitution"])
def test_study_rows_are_attributed_and_nudged_within_their_conflict(name):
    suite = load_spec(SUITES / f"{name}.yaml")
    study = [s for s in suite.scenarios if s.id.startswith("study-")]
    assert len(study) >= 20
    for scenario in study:
        assert scenario.provenance["dataset"] == "jifanz/stress_testing_model_spec"
        assert scenario.provenance["license"] == "Apache-2.0"
        assert scenario.nudge == "neutral" or scenario.nudge in suite.conflicts[scenario.conflict].values
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
