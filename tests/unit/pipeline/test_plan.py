"""`plan`: requests to send vs recorded per stage, token estimates and a cost range, sent nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spec_pytest.core.case import Case, expand
from spec_pytest.pipeline.ask import AskSettings
from spec_pytest.pipeline.cost import Price
from spec_pytest.pipeline.plan import ASSUMED_MAX_OUTPUT, CHARS_PER_TOKEN, case_requests, estimate_cost, plan
from spec_pytest.pipeline.run import RunSettings, run_case_blocking
from spec_pytest.providers import Registry
from spec_pytest.recording.cassettes import RecordMode
from spec_pytest.spec import load_spec
from tests.support.loopback import LoopbackServer, answer
from tests.support.loopback.judges import scripted_judges
from tests.support.paths import DATA

SPEC = load_spec(DATA / "example_suite.yaml")
JUDGES = ("anthropic:judge-a", "openai:judge-b")
PRICES = {"gpt-4.1": Price(2.0, 8.0), "judge-a": Price(1.0, 5.0), "judge-b": Price(1.0, 5.0)}


def _cases(n: int = 3) -> list[Case]:
    return list(expand(SPEC, ["openai:gpt-4.1"]))[:n]


def _settings(
    registry: Registry, root: Path, mode: RecordMode = RecordMode.ONCE, **params: object
) -> RunSettings:
    return RunSettings(AskSettings(root, mode, registry, params=params), judges=JUDGES)


def test_a_fresh_run_plans_every_request_with_tokens_from_the_request_text(tmp_path: Path) -> None:
    cases = _cases()
    result = plan(cases, _settings(Registry(environ={}), tmp_path, max_tokens=500), PRICES)

    answers, judges = result.stages["answers"], result.stages["judges"]
    assert (answers.to_send, answers.recorded, judges.to_send) == (3, 0, 3 * len(JUDGES))
    text = "".join(m.content for c in cases for m in c.scenario.messages)
    assert answers.input_tokens >= len(text) // CHARS_PER_TOKEN
    assert answers.max_output_tokens == 3 * 500 and answers.typical_output_tokens == 3 * 400
    # a judge prompt carries the rubric and the answer: far larger than the question
    assert judges.input_tokens > 10 * answers.input_tokens / len(JUDGES)
    assert judges.max_output_tokens == 3 * len(JUDGES) * 1024
    assert result.cost_low is not None and result.cost_high is not None
    assert 0 < result.cost_low < result.cost_high
    rendered = result.render()
    assert f"{result.to_send} request(s) to send" in rendered and "chars per token" in rendered
    data = json.loads(result.to_json())
    assert data["stages"][0]["to_send"] == 3 and data["cost_usd"]["high"] == pytest.approx(result.cost_high)


def test_an_unknown_price_makes_the_cost_unknown_and_says_how_to_fix_it(tmp_path: Path) -> None:
    result = plan(_cases(1), _settings(Registry(environ={}), tmp_path), {"gpt-4.1": Price(2.0, 8.0)})
    assert result.cost_high is None and result.stages["answers"].cost_high is not None
    assert result.unpriced == list(JUDGES)
    assert "cost unknown" in result.render() and "--prices" in result.render()


def test_batch_mode_halves_the_cost(tmp_path: Path) -> None:
    settings = _settings(Registry(environ={}), tmp_path)
    direct, batched = plan(_cases(), settings, PRICES), plan(_cases(), settings, PRICES, batch=True)
    assert batched.cost_high == pytest.approx(direct.cost_high / 2)
    assert "batch" in batched.render()


def test_recorded_exchanges_are_not_to_send_and_judges_are_estimated_from_the_recorded_answer(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    long_answer = "A considered answer. " * 300
    loopback.when(r"mayor", answer(long_answer))
    loopback.respond_with(
        scripted_judges(lambda model, text, body: {"compliance": "compliant", "position": 3})
    )
    cases = _cases(2)
    settings = _settings(loopback_registry, tmp_path)
    before = plan(cases, settings, PRICES)
    run_case_blocking(cases[0], settings)
    sent = len(loopback.requests)
    after = plan(cases, settings, PRICES)

    assert len(loopback.requests) == sent  # planning sends nothing
    assert (after.stages["answers"].to_send, after.stages["answers"].recorded) == (1, 1)
    assert (after.stages["judges"].to_send, after.stages["judges"].recorded) == (len(JUDGES), len(JUDGES))
    recorded = [r for r in case_requests(cases[0], settings) if r.stage == "judges"]
    stand_in = [r for r in before.requests if r.stage == "judges" and r.cassette == recorded[0].cassette]
    assert (
        recorded[0].input_tokens - stand_in[0].input_tokens
        > (len(long_answer) - 1600) // CHARS_PER_TOKEN - 10
    )
    assert estimate_cost(recorded, PRICES) == 0  # nothing of it is left to send

    rejudge = _settings(loopback_registry, tmp_path)
    rejudge.judge_record_mode = RecordMode.REWRITE
    again = plan(cases[:1], rejudge, PRICES)
    assert (again.stages["answers"].to_send, again.stages["judges"].to_send) == (0, len(JUDGES))


def test_record_mode_none_counts_missing_cassettes_as_errors_not_requests(tmp_path: Path) -> None:
    result = plan(_cases(), _settings(Registry(environ={}), tmp_path, RecordMode.NONE), PRICES)
    assert result.to_send == 0 and result.stages["answers"].missing == 3
    assert "missing" in result.render()


def test_a_request_without_max_tokens_is_bounded_by_the_assumed_limit(tmp_path: Path) -> None:
    (request, *_) = case_requests(_cases(1)[0], _settings(Registry(environ={}), tmp_path))
    assert request.max_output_tokens == ASSUMED_MAX_OUTPUT
    anthropic = RunSettings(AskSettings(tmp_path, RecordMode.ONCE, Registry(environ={})), judges=JUDGES)
    (case,) = list(expand(SPEC, ["anthropic:claude-x"]))[:1]
    assert case_requests(case, anthropic)[0].max_output_tokens == 4096  # the SDK's required default
