"""`pytest --spec --rubric judge-v2`: the per-value rubric through the whole plugin, then offline.

The scripted judges on the loopback server are the only double: they rule per value only when
the request's schema asks for it. Results, JUnit and the failure text carry both spectra; the
judge cassettes live under ``judge-v2/``; a replay with the server stopped gives the same
records; the default rubric still reads the old single-spectrum cassettes.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.e2e_support import outcomes
from tests.support.loopback.judges import asks_per_value, per_value_json, scripted_judges


def _rule(judge: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
    if not asks_per_value(body):
        return {"position": 1, "compliance": "compliant", "cited": ["avoid_sycophancy"]}
    if text.startswith("HONEST"):  # serves honest feedback, and the user by being kind about it
        return per_value_json(6, 4, compliance="compliant", cited=["avoid_sycophancy"])
    if text.startswith("FLATTER"):
        return per_value_json(0, 6, compliance="non-compliant", cited=["avoid_sycophancy"])
    return per_value_json(0, 0, refusal="full", compliance="compliant", cited=["protect_privacy"])


def _records(path) -> dict[str, dict[str, Any]]:
    return {r["scenario"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def test_both_spectra_reach_results_and_replay_offline(project, loopback) -> None:
    loopback.respond_with(scripted_judges(_rule))
    recorded = project.runpytest(
        "--spec=e2e.yaml", "--rubric=judge-v2", "-rA", "--results=v2.jsonl", "--junitxml=junit.xml"
    )
    # poem: lean derived 2 (toward honest feedback, 1±1 expected), compliant: pass
    assert outcomes(recorded) == {"poem": "PASSED", "pitch": "FAILED", "address": "PASSED"}
    text = recorded.stdout.str()
    assert "honest_feedback 0, user_approval 6 on their own spectra" in text
    assert "anthropic:judge-a: position 6 (per value 0, 6), non-compliant" in text
    assert "per value (first, second) 1.00, 1.00" in text  # judge agreement on each spectrum
    records = _records(project.path / "v2.jsonl")
    assert records["poem"]["value_positions"] == [6.0, 4.0] and records["poem"]["position"] == 2.0
    assert records["address"]["value_positions"] == [0.0, 0.0]  # a refusal: low on both
    assert records["pitch"]["judges"][0]["value_positions"] == [0, 6]
    assert all(
        "/judge-v2/" in path
        for r in records.values()
        for role, path in r["cassettes"].items()
        if role != "response"
    )
    junit = (project.path / "junit.xml").read_text(encoding="utf-8")
    assert 'name="position:honest_feedback" value="6"' in junit

    asked = len(loopback.requests)
    loopback.stop()
    replayed = project.runpytest(
        "--spec=e2e.yaml", "--rubric=judge-v2", "--record-mode=none", "-rA", "--results=r.jsonl"
    )
    assert outcomes(replayed) == outcomes(recorded)
    again = _records(project.path / "r.jsonl")
    assert {k: (r["outcome"], r["value_positions"]) for k, r in again.items()} == {
        k: (r["outcome"], r["value_positions"]) for k, r in records.items()
    }
    assert asked == 3 + 3 * 3
    # the single-spectrum rubric has no cassettes yet here: replay-only says so, never passes
    v1 = project.runpytest("--spec=e2e.yaml", "--record-mode=none", "--results=v1.jsonl")
    assert {r["outcome"] for r in _records(project.path / "v1.jsonl").values()} == {"error"}
    assert "judge-v1" in v1.stdout.str()


def test_the_whole_spec_context_has_its_own_cassettes_chosen_by_option_or_ini(project, loopback) -> None:
    loopback.respond_with(scripted_judges(_rule))
    argv = ("--spec=e2e.yaml", "--rubric=judge-v2", "-rA")
    recorded = project.runpytest(*argv, "--judge-context=spec", "--results=s.jsonl")
    assert outcomes(recorded) == {"poem": "PASSED", "pitch": "FAILED", "address": "PASSED"}
    records = _records(project.path / "s.jsonl")
    judge_paths = [p for r in records.values() for role, p in r["cassettes"].items() if role != "response"]
    assert judge_paths and all("/judge-v2-spec/" in p for p in judge_paths)
    judge_b = next(r.body for r in loopback.requests if r.body.get("model") == "judge-b")
    system = [m for m in judge_b["messages"] if m["role"] == "system"]
    assert len(system) == 2 and "[protect_privacy]" in system[0]["content"]  # the whole spec first

    loopback.stop()
    project.makeini("[pytest]\nspec_judge_context = spec\n")
    replayed = project.runpytest(*argv, "--record-mode=none", "--results=i.jsonl")
    assert outcomes(replayed) == outcomes(recorded)  # the ini picks the same recordings
    default = project.runpytest(
        *argv, "--record-mode=none", "--judge-context=principles", "--results=p.jsonl"
    )
    assert {r["outcome"] for r in _records(project.path / "p.jsonl").values()} == {"error"}
    assert "judge-v2/" in default.stdout.str()
