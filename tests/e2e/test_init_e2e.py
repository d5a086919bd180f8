"""`spec-pytest init` is a start a new author can run: init → validate → pytest --spec, end to end
against the loopback server with the real SDKs, then replayed from the cassettes with no server."""

from __future__ import annotations

from typing import Any

import pytest

from spec_pytest.cli.main import main
from tests.support.loopback import LOOPBACK_KEY_ENV, LoopbackServer
from tests.support.loopback.judges import scripted_judges
from tests.support.loopback.server import answer


def test_the_starter_spec_validates_and_runs_under_pytest(
    pytester: pytest.Pytester, loopback: LoopbackServer, planted_key: str, capsys, monkeypatch
):
    monkeypatch.chdir(pytester.path)
    assert main(["init", "first.yaml"]) == 0
    assert main(["validate", "first.yaml"]) == 0
    assert "first.yaml: ok (2 principles, 2 values, 1 conflicts, 1 scenarios" in capsys.readouterr().out

    pytester.makeini(f"[pytest]\nspec_endpoints =\n    local {loopback.openai_base_url} {LOOPBACK_KEY_ENV}\n")
    loopback.when(r"funeral", answer("HONEST: kind words, but the poem needs more work."))

    def rule(judge: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
        assert text.startswith("HONEST")
        return {"position": 2, "compliance": "compliant", "cited": ["be_honest"]}

    loopback.respond_with(scripted_judges(rule))
    args = ["--spec=first.yaml", "--model", "local:model-under-test", "--judge", "local:judge-a", "-rA"]
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["PASSED *unwelcome-truth*weak-poem*"])
    asked = len(loopback.requests)
    assert asked == 2  # the model once, the judge once

    replay = pytester.runpytest(*args, "--record-mode=none")
    replay.assert_outcomes(passed=1)
    assert len(loopback.requests) == asked  # replayed from the cassettes the first run wrote
