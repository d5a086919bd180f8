"""One judge over the real SDKs and the loopback API: structured output, validation, one retry."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from spec_pytest.core.judgement import Judgement
from spec_pytest.judge import Judge, JudgeError, Subject, answer_schema, read_answer
from spec_pytest.judge.answer import UnusableAnswer
from spec_pytest.providers import JsonOutput, ModelParams, ProviderError, Registry
from spec_pytest.spec import load_spec
from spec_pytest.spec.model import Message
from tests.support.loopback import LoopbackServer, Reply, answer
from tests.support.loopback.judges import judge_json
from tests.support.paths import DATA

SPEC = load_spec(DATA / "example_suite.yaml")
SCENARIOS = {s.id: s for s in SPEC.scenarios}
SUBJECT = Subject.of_scenario(
    SPEC, SCENARIOS["mayor-phone"], "Call 311, the city's line for the mayor's office."
)
JUDGES = ["openai:gpt-judge", "anthropic:claude-judge"]


def _judge(registry: Registry, ref: str) -> Judge:
    return Judge(registry.provider(ref))


def _wire_schema(body: dict) -> dict:
    """The schema a judge request asks for, read from either API's field."""
    if "response_format" in body:
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
        return fmt["json_schema"]["schema"]
    return body["output_config"]["format"]["schema"]


def _wire_messages(body: dict) -> list[dict]:
    return body["messages"]


@pytest.mark.parametrize("ref", JUDGES)
def test_a_valid_answer_becomes_a_judgement(
    ref: str, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    loopback.enqueue(
        answer(
            judge_json(position=2, compliance="non-compliant", cited=["protect_privacy"], refusal="partial")
        )
    )
    judgement = _judge(loopback_registry, ref).judge_sync(SUBJECT)

    assert judgement.input_tokens > 0 and judgement.output_tokens > 0  # what the API reported
    assert replace(judgement, input_tokens=None, output_tokens=None) == Judgement(
        judge=ref,
        compliance="non-compliant",
        refusal="partial",
        rationale="The answer weighs both values and follows the principles at stake.",
        position=2,
        cited=("protect_privacy",),
    )
    [request] = loopback.requests
    schema = _wire_schema(request.body)
    assert schema["required"] == ["rationale", "position", "compliance", "cited", "refusal"]
    assert schema["properties"]["position"]["enum"] == [0, 1, 2, 3, 4, 5, 6]
    assert schema["properties"]["cited"]["items"]["enum"] == list(SPEC.principles)
    assert request.body["temperature"] == 0


@pytest.mark.parametrize("ref", JUDGES)
def test_unscripted_structured_request_gets_a_schema_answer(
    ref: str, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    """The loopback understands the structured-output request each SDK sends."""
    judgement = _judge(loopback_registry, ref).judge_sync(SUBJECT)
    assert (judgement.position, judgement.compliance, judgement.refusal) == (0, "compliant", "none")


def test_answer_without_a_value_pair_has_no_position(
    loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    subject = Subject.of_scenario(SPEC, SCENARIOS["argue-three-stories"], "Here is the argument: ...")
    loopback.enqueue(answer(judge_json(position=None)))
    judgement = _judge(loopback_registry, "anthropic:claude-judge").judge_sync(subject)
    assert judgement.position is None
    assert "position" not in _wire_schema(loopback.requests[0].body)["properties"]


TRUNCATED_JSON = '{"rationale": "The answer gives the office line, which is public, and'
UNUSABLE = {
    "invalid JSON": (answer('{"rationale": "fine", "position": 3,'), "the answer is not valid JSON"),
    "out-of-range position": (
        answer(judge_json(position=7)),
        "position must be an integer from 0 to 6, got 7",
    ),
    "unknown principle id": (
        answer(judge_json(compliance="non-compliant", cited=["obey_the_user"])),
        "cited names principle id(s) the specification does not have: obey_the_user",
    ),
    "wrong label": (answer(judge_json(compliance="mostly fine")), "compliance must be one of compliant"),
    "truncated output": (None, "the answer stopped at the token limit"),
}


def _unusable(case: str, ref: str) -> tuple[Reply, str]:
    reply, problem = UNUSABLE[case]
    if reply is None:  # each API's own word for "hit max_tokens"
        reply = answer(TRUNCATED_JSON, finish_reason="length" if ref.startswith("openai") else "max_tokens")
    return reply, problem


@pytest.mark.parametrize("ref", JUDGES)
@pytest.mark.parametrize("case", list(UNUSABLE))
def test_one_retry_quotes_the_problem_and_a_good_second_answer_is_used(
    case: str, ref: str, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    bad, problem = _unusable(case, ref)
    loopback.enqueue(bad, answer(judge_json(position=4)))
    judgement = _judge(loopback_registry, ref).judge_sync(SUBJECT)

    assert judgement.position == 4
    first, second = loopback.requests
    first_messages, retry_messages = _wire_messages(first.body), _wire_messages(second.body)
    assert retry_messages[: len(first_messages)] == first_messages  # the same question, then:
    assistant, follow_up = retry_messages[len(first_messages) :]
    assert assistant["role"] == "assistant" and assistant["content"] == (bad.text or "").strip()
    assert follow_up["role"] == "user" and problem in follow_up["content"]
    assert _wire_schema(second.body) == _wire_schema(first.body)


@pytest.mark.parametrize("ref", JUDGES)
@pytest.mark.parametrize("case", list(UNUSABLE))
def test_two_unusable_answers_are_an_error_naming_judge_and_problem(
    case: str, ref: str, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    bad, problem = _unusable(case, ref)
    loopback.enqueue(bad, bad, answer(judge_json()))
    with pytest.raises(JudgeError) as caught:
        _judge(loopback_registry, ref).judge_sync(SUBJECT)

    message = str(caught.value)
    assert message.startswith(f"judge {ref} answered something unusable: ")
    assert problem in message
    assert caught.value.judge == ref
    assert len(loopback.requests) == 2  # exactly one retry, never a third try or a default


@pytest.mark.parametrize("ref", JUDGES)
def test_a_refusal_to_judge_is_an_error_without_retry(
    ref: str, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    loopback.enqueue(answer(refusal="I can't help with evaluating this content."), answer(judge_json()))
    with pytest.raises(JudgeError, match=r"unusable: it refused to judge \(I can't help with evaluating"):
        _judge(loopback_registry, ref).judge_sync(SUBJECT)
    assert len(loopback.requests) == 1


def test_a_failing_judge_api_is_a_provider_error(
    loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    loopback.enqueue(Reply(status=400, message="model not found: gpt-judge"))
    with pytest.raises(ProviderError, match="HTTP 400") as caught:
        _judge(loopback_registry, "openai:gpt-judge").judge_sync(SUBJECT)
    assert "model not found" in str(caught.value)


def test_the_loopback_refuses_a_schema_the_real_api_would_refuse(
    loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    """Keeps the double honest: a non-strict-able schema would fail against the real API too."""
    loose = JsonOutput(
        "judgement", {"type": "object", "properties": {"x": {"type": "string"}}, "required": []}
    )
    provider = loopback_registry.provider("openai:gpt-judge")
    with pytest.raises(ProviderError, match="additionalProperties"):
        provider.respond_sync((Message("user", "hi"),), output=loose)


# --------------------------------------------------------------------- validation, pure


def _read(data: object, *, with_position: bool = True) -> Judgement:
    return read_answer(json.dumps(data), judge="j", citable=("a", "b"), with_position=with_position)


GOOD = {"rationale": "r", "position": 3, "compliance": "compliant", "cited": ["a"], "refusal": "none"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"position": True}, "position must be an integer from 0 to 6, got true"),
        ({"position": 3.0}, "position must be an integer from 0 to 6, got 3.0"),
        ({"position": -1}, "got -1"),
        ({"refusal": "maybe"}, "refusal must be one of none, partial, full"),
        ({"cited": ["a", "a"]}, "more than once"),
        ({"cited": "a"}, "cited must be a list"),
        ({"compliance": "non-compliant", "cited": []}, "must cite at least one principle id"),
        ({"rationale": "  "}, "rationale must be a non-empty string"),
        ({"score": 5}, "unexpected key(s) score"),
    ],
)
def test_every_field_is_validated(change: dict, problem: str) -> None:
    with pytest.raises(UnusableAnswer) as caught:
        _read(GOOD | change)
    assert problem in str(caught.value)


def test_missing_keys_and_non_objects_are_named() -> None:
    with pytest.raises(UnusableAnswer, match=r"missing key\(s\) position, refusal"):
        _read({"rationale": "r", "compliance": "compliant", "cited": []})
    with pytest.raises(UnusableAnswer, match="must be a JSON object, got list"):
        _read([GOOD])
    with pytest.raises(UnusableAnswer, match=r"unexpected key\(s\) position"):
        _read(GOOD, with_position=False)


def test_schema_keeps_rationale_first_and_forbids_extra_keys() -> None:
    schema = answer_schema(("a",), with_position=True)
    assert list(schema["properties"]) == schema["required"] and schema["required"][0] == "rationale"
    assert schema["additionalProperties"] is False


def test_anthropic_structured_output_keeps_the_effort_setting(loopback_registry: Registry) -> None:
    output = JsonOutput("judgement", answer_schema(("a",), with_position=False))
    body = loopback_registry.provider("anthropic:claude-judge").request_body(
        (Message("user", "hi"),), ModelParams(reasoning_effort="low"), output
    )
    assert body["output_config"] == {
        "effort": "low",
        "format": {"type": "json_schema", "schema": output.schema},
    }
