"""Issue 12, fail closed: bad option values, unpriced models and a corrupt baseline stop the run
before anything is sent; the gate decides only on evidence (missing items, shards, empty runs).

Every run drives the real SDKs against the loopback server, through pytester.
"""

from __future__ import annotations

import json

import pytest

from spec_pytest.results.records import read_results

USAGE = pytest.ExitCode.USAGE_ERROR


def sent(loopback) -> int:
    return len(loopback.requests)


@pytest.mark.parametrize(
    "option",
    [
        "--max-cost=nan",
        "--max-cost=.nan",
        "--concurrency=0",
        "--concurrency=-2",
        "--disagreement-threshold=-1",
        "--disagreement-threshold=nan",
        "--samples=0",
        "--samples=100000",
    ],
)
def test_absurd_option_values_are_usage_errors_before_any_request(project, loopback, option):
    result = project.runpytest("--spec=e2e.yaml", option)
    assert result.ret == USAGE, result.stdout.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert option.split("=")[0] in result.stderr.str()
    assert sent(loopback) == 0


@pytest.mark.parametrize("price", ["nan", "-1", ".nan"])
def test_a_price_table_with_nan_or_negative_prices_is_a_usage_error(project, loopback, price):
    (project.path / "prices.yaml").write_text(
        f"openai:model-under-test: {{input: {price}, output: 1}}\n", encoding="utf-8"
    )
    result = project.runpytest("--spec=e2e.yaml", "--prices=prices.yaml", "--max-cost=1")
    assert result.ret == USAGE, result.stdout.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert sent(loopback) == 0


def test_max_cost_refuses_an_unpriced_judge_before_the_first_request(project, loopback):
    (project.path / "prices.yaml").write_text(
        "openai:model-under-test: {input: 1, output: 1}\n", encoding="utf-8"
    )
    result = project.runpytest("--spec=e2e.yaml", "--prices=prices.yaml", "--max-cost=5", "-n", "2")
    assert result.ret == USAGE, result.stdout.str()
    assert "no price for" in result.stderr.str() and "judge-a" in result.stderr.str()
    assert sent(loopback) == 0


def test_a_corrupt_baseline_is_found_before_any_item_runs(project, loopback):
    (project.path / "baseline.json").write_text('{"kind": "spec-pytest baseline", "sch', encoding="utf-8")
    result = project.runpytest("--spec=e2e.yaml", "--baseline=baseline.json")
    assert result.ret == USAGE, result.stdout.str()
    assert "baseline.json" in result.stderr.str()
    assert sent(loopback) == 0


def _bless(project) -> None:
    first = project.runpytest("--spec=e2e.yaml", "--save-baseline=baseline.json", "-k", "poem or pitch")
    first.assert_outcomes(passed=1, failed=1)


def test_a_baseline_item_missing_without_deselection_fails_the_gate(project, loopback):
    _bless(project)
    # the spec loses a scenario: nothing deselected it, so the run has no evidence for it
    spec = project.path / "e2e.yaml"
    text = spec.read_text("utf-8")
    start = text.index("  - id: pitch")
    end = text.index("  - id: address")
    spec.write_text(text[:start] + text[end:], encoding="utf-8")
    results = project.path / "run.jsonl"
    result = project.runpytest(
        "--spec=e2e.yaml", "--baseline=baseline.json", "-k", "poem or pitch", f"--results={results}"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    out = result.stdout.str()
    assert "NOT-RUN e2e.yaml::flattering-critique::pitch[openai:model-under-test-s0]" in out
    # the reports list it too, by node id: a reader of the HTML or the CI summary sees why it failed
    from spec_pytest.cli.main import main

    assert main(["report", str(results), "--baseline=baseline.json", "--html=r.html", "--md=r.md"]) == 1
    html = (project.path / "r.html").read_text("utf-8")
    assert (
        "Not run (1)" in html
        and "<code>e2e.yaml::flattering-critique::pitch[openai:model-under-test-s0]</code>" in html
    )
    md = (project.path / "r.md").read_text("utf-8")
    assert (
        "### Not run (1)" in md
        and "- `e2e.yaml::flattering-critique::pitch[openai:model-under-test-s0]`" in md
    )
    allowed = project.runpytest(
        "--spec=e2e.yaml", "--baseline=baseline.json", "-k", "poem or pitch", "--allow-missing"
    )
    assert allowed.ret == 0, allowed.stdout.str()


def test_a_deselected_baseline_item_does_not_fail_the_gate_and_the_results_say_so(project, loopback):
    _bless(project)
    result = project.runpytest(
        "--spec=e2e.yaml", "--baseline=baseline.json", "-k", "poem", "--results=run.jsonl"
    )
    assert result.ret == 0, result.stdout.str()
    sidecar = (project.path / "run.jsonl.selection").read_text("utf-8").splitlines()
    headers = [json.loads(line) for line in sidecar]
    assert [h["kind"] for h in headers] == ["spec-pytest run"]
    assert ["e2e", "pitch", "openai:model-under-test", 0] in headers[0]["deselected"]
    assert headers[0]["keyword"] == "poem"
    # the results file itself holds records only, as before
    lines = [json.loads(line) for line in (project.path / "run.jsonl").read_text("utf-8").splitlines()]
    assert [line["scenario"] for line in lines] == ["poem"]
    assert [r.scenario for r in read_results([project.path / "run.jsonl"])] == ["poem"]


def test_a_crashed_xdist_worker_fails_the_gate(project, loopback):
    _bless(project)
    project.makeconftest(
        """
        import os
        def pytest_runtest_setup(item):
            if "pitch" in item.nodeid:
                os._exit(1)  # the worker dies: no record for this item
        """
    )
    result = project.runpytest(
        "--spec=e2e.yaml", "--baseline=baseline.json", "-k", "poem or pitch", "-n", "2"
    )
    assert result.ret != 0, result.stdout.str()
    assert "NOT-RUN e2e.yaml::flattering-critique::pitch[" in result.stdout.str()


def test_failing_items_under_a_passing_gate_say_why_the_run_is_green(project, loopback):
    _bless(project)
    result = project.runpytest("--spec=e2e.yaml", "--baseline=baseline.json", "-k", "poem or pitch")
    assert result.ret == 0
    last = result.stdout.lines[-1] if "spec-pytest" not in result.stdout.lines[-1] else ""
    summary = result.stdout.str()
    assert "exit status 0 although 1 item failed" in summary
    assert last == "" or "==" in last  # pytest's own closing line follows ours


def test_report_refuses_a_partial_shard_set_and_an_empty_run(project, loopback, tmp_path):
    _bless(project)
    shard = project.runpytest(
        "--spec=e2e.yaml", "--shard=1/2", "--results=shard1.jsonl", "-k", "poem or pitch"
    )
    assert shard.ret in (0, 1), shard.stdout.str()
    from spec_pytest.cli.main import main

    baseline = str(project.path / "baseline.json")
    code = main(["report", str(project.path / "shard1.jsonl"), "--baseline", baseline])
    assert code == 1
    (project.path / "empty.jsonl").write_text("", encoding="utf-8")
    code = main(["report", str(project.path / "empty.jsonl"), "--baseline", baseline])
    assert code == 1
