"""The README's author loop on the real OpenAI suite, with two models served by the loopback server.

    python -m tests.support.gaps_demo WORKDIR [pytest args...]

Starts the loopback server, writes WORKDIR/pytest.ini declaring it as the OpenAI-compatible
endpoint ``lo`` (models ``lo:model-a`` and ``lo:model-b``, judge ``lo:judge``, drafter
``lo:drafter``), then waits (Ctrl-C stops it) so the README's commands can run against it.
Nothing here is a real model: model-a always leans to a conflict's first value, model-b's lean
follows a hash of the question, so some groups of the suite split and others do not. The judge
reads the lean the answer states; the drafter quotes the first sentence of the first principle
it is shown, and says "not settled" for groups without principles. What is real is everything
between: the SDKs, cassettes, results, grouping, drafts, the patch and the loader.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.loopback import LoopbackServer
from tests.support.loopback.judges import enclosed, is_judge_request, judge_json
from tests.support.loopback.server import Reply, answer

_PRINCIPLE = re.compile(r"^\[(\w+)\] \(level \w+\)\n(.+?)(?:(?<=[.!?])\s|\n|$)", re.M)


def _last_user(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return str(message.get("content"))
    return ""


def _citable(body: dict[str, Any]) -> list[str]:
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    return list(((schema.get("properties") or {}).get("cited") or {}).get("items", {}).get("enum") or [])


def reply(body: Any) -> Reply | None:
    if not isinstance(body, dict):
        return None
    model = body.get("model")
    if model == "drafter":
        text = _last_user(body)
        found = _PRINCIPLE.search(text)
        values = re.search(r"0 = all (\w+), 6 = all (\w+)", text)
        if found is None or values is None:
            draft = {
                "settled": False,
                "lean_toward": "balanced",
                "strength": "moderate",
                "compliance": "compliant",
                "refusal": "none",
                "because": [],
                "rationale": "No principle of the spec is cited for this pair.",
            }
        else:
            draft = {
                "settled": True,
                "lean_toward": values.group(1),
                "strength": "moderate",
                "compliance": "compliant",
                "refusal": "none",
                "because": [{"principle": found.group(1), "quote": found.group(2).strip()}],
                "rationale": f"{found.group(1)} speaks to this pair first.",
            }
        return answer(json.dumps(draft))
    if is_judge_request(body):
        said = enclosed(body) or ""
        lean = int(m.group(1)) if (m := re.search(r"LEAN (\d)", said)) else 3
        citable = _citable(body)
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
        if "position" not in (schema.get("properties") or {}):
            lean = None  # a scenario without a value pair: no spectrum to place the answer on
        ruling = "compliant" if lean is None or lean <= 3 or not citable else "non-compliant"
        return answer(
            judge_json(
                position=lean,
                compliance=ruling,
                cited=citable[:1],
                rationale=f"The answer states lean {lean}.",
            )
        )
    question = _last_user(body)
    lean = 1 if model == "model-a" else int(hashlib.sha256(question.encode()).hexdigest(), 16) % 7
    return answer(f"LEAN {lean}: a considered answer to the question.")


def main(argv: list[str]) -> int:
    work = Path(argv[0])
    work.mkdir(parents=True, exist_ok=True)
    server = LoopbackServer().start()
    server.respond_with(reply)
    (work / "pytest.ini").write_text(
        f"[pytest]\nspec_endpoints =\n    lo {server.openai_base_url}\n", encoding="utf-8"
    )
    print(f"loopback at {server.openai_base_url}; wrote {work / 'pytest.ini'}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
