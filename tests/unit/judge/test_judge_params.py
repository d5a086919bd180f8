"""What a judge is asked with: its family's defaults under the user's keys (issue 12)."""

from __future__ import annotations

import pytest

from spec_pytest.config.build import judge_params_of
from spec_pytest.errors import ConfigError
from spec_pytest.judge.judge import DEFAULT_JUDGE_PARAMS, judge_params
from spec_pytest.providers import ModelParams, Registry


def test_a_judge_that_does_not_reason_keeps_todays_parameters():
    registry = Registry()
    for judge in ("openai:gpt-4.1", "anthropic:claude-sonnet-4-5", "ollama:llama3.1:8b"):
        assert judge_params(registry, judge) == (DEFAULT_JUDGE_PARAMS, None)


@pytest.mark.parametrize("judge", ["openai:o3", "openai:gpt-5-mini", "openrouter:openai/o4-mini"])
def test_a_reasoning_judge_gets_no_temperature_and_room_to_reason(judge):
    params, timeout = judge_params(Registry(), judge)
    assert params == ModelParams(max_tokens=25_000) and timeout is None


def test_user_keys_win_and_null_sends_nothing():
    params, timeout = judge_params(Registry(), "openai:gpt-4.1", {"temperature": None, "timeout": 30})
    assert params == ModelParams(max_tokens=1024) and timeout == 30.0
    thinking, _ = judge_params(Registry(), "anthropic:claude-sonnet-4-5", {"thinking_budget": 4000})
    assert thinking == ModelParams(max_tokens=5024, thinking_budget=4000)


def test_judge_param_values_by_judge():
    parsed = judge_params_of(
        ["max_tokens=2000", "ollama:llama3.1:8b:temperature=0.5", "openai:o3:timeout=60"]
    )
    assert parsed == {
        "": {"max_tokens": 2000},
        "ollama:llama3.1:8b": {"temperature": 0.5},
        "openai:o3": {"timeout": 60},
    }


@pytest.mark.parametrize("value", ["max_tokens", "openai:temperature=0", "colour=blue", "timeout=-1", "=3"])
def test_bad_judge_param_values_are_config_errors(value):
    with pytest.raises(ConfigError, match="--judge-param"):
        judge_params_of([value])
