"""The wiring of issue 8's options: `spec-pytest plan`, `--shard`, `--max-cost`, `--batch`."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from spec_pytest.cli.main import main
from tests.support.e2e_support import outcomes
from tests.support.paths import DATA


def test_plan_counts_requests_and_prices_them_without_sending(tmp_path, capsys):
    assert main(["plan", str(DATA / "example_suite.yaml"), "--json", "--cassette-dir", str(tmp_path)]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["cases"] == 7
    stages = {stage["stage"]: stage for stage in plan["stages"]}
    assert stages["answers"]["to_send"] == 7 and stages["judges"]["to_send"] == 7
    assert 0 < plan["cost_usd"]["low"] < plan["cost_usd"]["high"]
    assert main(["plan", str(DATA / "example_suite.yaml"), "--shard", "1/2", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["cases"]
    assert main(["plan", str(DATA / "example_suite.yaml"), "--shard", "2/2", "--json"]) == 0
    assert first + json.loads(capsys.readouterr().out)["cases"] == 7
    assert main(["plan", str(DATA / "example_suite.yaml"), "--shard", "3/2"]) == 2
    assert main(["plan", str(tmp_path / "nope.yaml")]) == 2


def test_shards_partition_the_items(pytester: pytest.Pytester):
    for name in ("example_suite.yaml", "example_bank.jsonl"):
        shutil.copy(DATA / name, pytester.path / name)
    seen: list[str] = []
    for index in (1, 2, 3):
        result = pytester.runpytest("--spec=example_suite.yaml", "--collect-only", "-q", f"--shard={index}/3")
        seen += [line for line in result.outlines if "::" in line]
    assert len(seen) == len(set(seen)) == 7
    bad = pytester.runpytest("--spec=example_suite.yaml", "--shard=0/3")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR


def test_max_cost_stops_new_requests_and_the_rest_are_errors(project, loopback, capsys):
    prices = project.path / "prices.yaml"
    prices.write_text(
        "openai:model-under-test: {input: 1000, output: 1000}\n"
        "anthropic:judge-a: {input: 1000, output: 1000}\nopenai:judge-b: {input: 1000, output: 1000}\n"
        "anthropic:judge-c: {input: 1000, output: 1000}\n",
        encoding="utf-8",
    )
    assert main(["plan", "e2e.yaml", "--prices", str(prices), "--json"]) == 0
    per_case = json.loads(capsys.readouterr().out)["cost_usd"]["high"] / 3
    limit = round(1.2 * per_case, 4)  # admits one case's upper bound, not a second one
    result = project.runpytest("--spec=e2e.yaml", "--prices=prices.yaml", f"--max-cost={limit}", "-rA")
    found = outcomes(result)
    assert list(found.values()).count("ERROR") == 2, found
    assert f"budget exhausted: --max-cost ${limit:.4f} reached" in result.stdout.str()
    # what finished is recorded: raising the budget continues, asking only for the rest
    asked = len(loopback.requests)
    again = project.runpytest("--spec=e2e.yaml", "--prices=prices.yaml", f"--max-cost={10 * limit}", "-rA")
    assert outcomes(again) == {"poem": "PASSED", "pitch": "FAILED", "address": "FAILED"}
    assert len(loopback.requests) == asked + 2 * 4  # two cases: one answer and three judges each
    unpriced = project.runpytest("--spec=e2e.yaml", "--max-cost=1", "--record-mode=rewrite")
    assert unpriced.ret == pytest.ExitCode.USAGE_ERROR
    assert "--max-cost: no price for" in unpriced.stderr.str()


def test_batch_records_through_the_batch_api_then_items_replay(project, loopback):
    result = project.runpytest("--spec=e2e.yaml", "--batch", "-rA")
    assert outcomes(result) == {"poem": "PASSED", "pitch": "FAILED", "address": "FAILED"}
    assert re.search(r"batch: \d+ batch\(es\) over \d+ round\(s\)", result.stdout.str())
    assert loopback.batches.creates == 4  # answers (one model), then judges (three judge models)
    direct = [r for r in loopback.requests if r.path.endswith(("/chat/completions", "/messages"))]
    assert direct == []  # every exchange went through the batch endpoints
    assert project.runpytest("--spec=e2e.yaml", "--batch", "-n", "2").ret == pytest.ExitCode.USAGE_ERROR


def test_the_study_scale_recipe_records_per_shard_by_batch_replays_offline_and_merges(
    project, loopback, capsys
):
    """README's recipe: each shard records its own cases through the batch API without running
    an item, each shard replays with nothing sent, and one report merges the shards."""
    for index in (1, 2):
        recorded = project.runpytest(
            "--spec=e2e.yaml", f"--shard={index}/2", "--batch", "--collect-only", "-q"
        )
        assert recorded.ret == 0, recorded.stdout.str()
        assert "batch:" in recorded.stdout.str()
    assert loopback.batches.creates > 0
    assert [r for r in loopback.requests if r.path.endswith(("/chat/completions", "/messages"))] == []
    loopback.stop()  # the replay sends nothing: there is nothing to send it to
    found: dict[str, str] = {}
    for index in (1, 2):
        replayed = project.runpytest(
            "--spec=e2e.yaml",
            f"--shard={index}/2",
            "--record-mode=none",
            f"--results=shard{index}.jsonl",
            "-rA",
        )
        found.update(outcomes(replayed))
    assert found == {"poem": "PASSED", "pitch": "FAILED", "address": "FAILED"}  # as a direct run decides
    shards = [str(project.path / f"shard{index}.jsonl") for index in (1, 2)]
    capsys.readouterr()  # the pytest runs above print here too
    assert main(["report", *shards, "--md", str(project.path / "merged.md")]) == 0
    assert capsys.readouterr().out.startswith("3 records")
