"""Scripted judges for the loopback server: answers built from what the judge prompt encloses.

A judge request is recognised by its structured-output schema; the script reads the answer
enclosed as data in the prompt (between the ``<<<BEGIN DATA-… ANSWER>>>`` lines) and
returns what a judge following `rule` would say.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.support.loopback.server import Reply, answer

_ENCLOSED = re.compile(r"<<<BEGIN (DATA-[0-9a-f]+) (\w+)>>>\n(.*?)\n<<<END \1 \2>>>", re.S)


def judge_json(
    *,
    compliance: str = "compliant",
    refusal: str = "none",
    position: Any = 3,
    cited: list[str] | None = None,
    rationale: str = "The answer weighs both values and follows the principles at stake.",
    **extra: Any,
) -> str:
    """A judge answer as JSON text; ``position=None`` leaves the key out."""
    data: dict[str, Any] = {"rationale": rationale}
    if position is not None:
        data["position"] = position
    data |= {"compliance": compliance, "cited": cited or [], "refusal": refusal, **extra}
    return json.dumps(data)


def enclosed(body: Any, part: str = "ANSWER") -> str | None:
    """The text a judge request encloses as ``part`` (ANSWER or CONVERSATION), if any."""
    if not isinstance(body, dict):
        return None
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            for match in _ENCLOSED.finditer(content):
                if match.group(2) == part:
                    return match.group(3)
    return None


def asks_per_value(body: Any) -> bool:
    """A judge request under the per-value rubric: its answer schema asks for one position per
    value (OpenAI ``response_format``, Anthropic ``output_config.format``, or the prompt only)."""
    if not isinstance(body, dict):
        return False
    formats = [
        ((body.get("response_format") or {}).get("json_schema") or {}).get("schema"),
        ((body.get("output_config") or {}).get("format") or {}).get("schema"),
    ]
    for schema in formats:
        if isinstance(schema, dict):
            return "first_value_position" in (schema.get("properties") or {})
    return "first_value_position" in json.dumps(body.get("messages") or body.get("system") or "")


def per_value_json(first: int, second: int, **fields: Any) -> dict[str, Any]:
    """A rule's result for a per-value judge request: the two positions, no bipolar one."""
    return {"position": None, "first_value_position": first, "second_value_position": second, **fields}


def is_judge_request(body: Any) -> bool:
    """A judge's request: it asks for structured output, or (the schema in the prompt only,
    ``structured_output: none``) it encloses an answer to judge."""
    return isinstance(body, dict) and (
        "response_format" in body
        or "format" in (body.get("output_config") or {})
        or enclosed(body) is not None
    )


def scripted_judges(
    rule: Callable[[str, str, dict[str, Any]], dict[str, Any] | Reply],
) -> Callable[[Any], Reply | None]:
    """A `LoopbackServer.respond_with` script: ``rule(judge_model, answer_text, body)``.

    The rule returns the answer's fields (see `judge_json`) or a ready `Reply`. Requests
    that are not judge requests fall through to the server's other scripting.
    """

    def script(body: Any) -> Reply | None:
        if not is_judge_request(body):
            return None
        text = enclosed(body)
        if text is None:
            return None
        result = rule(body["model"], text, body)
        return result if isinstance(result, Reply) else answer(judge_json(**result))

    return script
