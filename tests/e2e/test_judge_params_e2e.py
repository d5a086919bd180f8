"""Issue 12, judges that can be configured: family defaults (no temperature and room to reason
for OpenAI's reasoning models), --judge-param for every judge or one, the spec's `models:`
params for a judge model, and an API's 400 quoted in the item's ERROR.

Runs `pytest --spec` through the real SDKs against the loopback server (pytester).
"""

from __future__ import annotations

from typing import Any

import pytest

from spec_pytest.providers.openai_chat import reasoning_model
from tests.support.loopback.judges import is_judge_request, judge_json
from tests.support.loopback.server import answer, error


def judge_bodies(loopback) -> dict[str, dict[str, Any]]:
    return {r.body["model"]: r.body for r in loopback.requests if is_judge_request(r.body)}


def test_a_reasoning_judge_gets_no_temperature_and_room_to_reason(project, loopback):
    judges = ["--judge=openai:o3", "--judge=anthropic:judge-a"]
    result = project.runpytest("--spec=e2e.yaml", "-k", "poem", *judges)
    result.assert_outcomes(passed=1)
    bodies = judge_bodies(loopback)
    assert "temperature" not in bodies["o3"]
    assert bodies["o3"]["max_completion_tokens"] == 25_000
    # a judge that does not reason keeps today's request (so its recorded cassettes stay valid)
    assert bodies["judge-a"]["temperature"] == 0.0 and bodies["judge-a"]["max_tokens"] == 1024


def test_judge_params_for_every_judge_and_for_one(project, loopback):
    result = project.runpytest(
        "--spec=e2e.yaml",
        "-k",
        "poem",
        "--judge=openai:o3",
        "--judge=anthropic:judge-a",
        "--judge-param=timeout=30",
        "--judge-param=openai:o3:max_tokens=3000",
        "--judge-param=openai:o3:reasoning_effort=low",
        "--judge-param=anthropic:judge-a:thinking_budget=2048",
    )
    result.assert_outcomes(passed=1)
    bodies = judge_bodies(loopback)
    assert bodies["o3"]["max_completion_tokens"] == 3000 and bodies["o3"]["reasoning_effort"] == "low"
    # thinking: no default temperature, and max_tokens leaves the ruling room above the budget
    assert "temperature" not in bodies["judge-a"]
    assert bodies["judge-a"]["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert bodies["judge-a"]["max_tokens"] == 2048 + 1024


def test_the_specs_models_params_apply_to_a_judge_model(project, loopback):
    spec = project.path / "e2e.yaml"
    spec.write_text(
        spec.read_text("utf-8") + "models:\n  openai:judge-b: {max_tokens: 777, temperature: 0.2}\n",
        encoding="utf-8",
    )
    result = project.runpytest("--spec=e2e.yaml", "-k", "poem")
    result.assert_outcomes(passed=1)
    bodies = judge_bodies(loopback)
    assert bodies["judge-b"]["max_completion_tokens"] == 777 and bodies["judge-b"]["temperature"] == 0.2
    assert bodies["judge-a"]["max_tokens"] == 1024  # the other judges keep their defaults


@pytest.mark.parametrize(
    "value", ["timeout=0", "timeout=soon", "openai:temperature=0", "colour=blue", "openai:o3:nope=1"]
)
def test_a_bad_judge_param_is_a_usage_error(project, loopback, value):
    result = project.runpytest("--spec=e2e.yaml", f"--judge-param={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not loopback.requests


def test_a_judge_the_api_refuses_with_400_is_an_error_quoting_the_body(project, loopback):
    refusal = "Unsupported value: 'temperature' does not support 0 with this model."

    def script(body: Any):
        if is_judge_request(body) and body["model"] == "reasoner-x":
            return error(400, refusal)
        if is_judge_request(body):
            return answer(judge_json(position=1, compliance="compliant", cited=["avoid_sycophancy"]))
        return None

    loopback.respond_with(script)
    result = project.runpytest("--spec=e2e.yaml", "-k", "poem", "--judge=openai:reasoner-x", "-rA")
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert refusal in out
    assert "--judge-param" in out  # says where the judge's parameters are set


def test_reasoning_models_are_known_by_name():
    for model in ("o1", "o3", "o3-mini", "o4-mini-2025-04-16", "gpt-5", "gpt-5-mini", "gpt-5.1", "openai/o3"):
        assert reasoning_model(model), model
    for model in ("gpt-4.1", "gpt-4o-mini", "gpt-5-chat-latest", "judge-b", "omni"):
        assert not reasoning_model(model), model
