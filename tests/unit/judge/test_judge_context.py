"""`--judge-context=spec`: the judge reads the whole spec (the study's), prompt-cached.

Through the real SDKs against the loopback server: the whole spec travels first as its own
system text (Anthropic: a block with ``cache_control``), the cassettes live under
``<rubric>-spec/``, ``plan`` prices it and says how much of it is cacheable, ``calibrate
--both-contexts`` reports both contexts on the labelled answers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest

from spec_pytest.cli.main import main
from spec_pytest.judge import JudgePanel, Subject, build_prompt, case_item
from spec_pytest.judge.templates import WHOLE_SPEC, base_rubric, with_context
from spec_pytest.providers import Registry
from spec_pytest.spec import load_spec
from tests.support.loopback import LoopbackServer
from tests.support.loopback.judges import scripted_judges
from tests.support.paths import DATA
from tests.unit.cli.test_cli_calibrate import SPEC as CALIBRATION_SPEC

SPEC = load_spec(DATA / "example_suite.yaml")
SCENARIO = next(s for s in SPEC.scenarios if s.id == "mayor-phone")

#: Pinned like the rubrics' own texts: a whole-spec prompt edited in place would make its
#: recorded judgements claim to answer a prompt they never saw.
FINGERPRINTS = {
    # the two rubrics share their system text; their spectra differ (fields not replaced here)
    "judge-v1": "1c04741fa5c8621bf5475328b18f8db772b683453700ee53f524a250dab877fa",
    "judge-v2": "1c04741fa5c8621bf5475328b18f8db772b683453700ee53f524a250dab877fa",
}


def test_whole_spec_templates_are_never_edited_in_place() -> None:
    for rubric, templates in WHOLE_SPEC.items():
        digest = hashlib.sha256("\0".join(astuple(templates)).encode()).hexdigest()
        assert FINGERPRINTS[rubric] == digest, f"{rubric}-spec changed: give it a new rubric version"


def test_the_whole_spec_comes_first_marked_for_the_cache_and_the_rubric_points_into_it() -> None:
    subject = Subject.of_scenario(SPEC, SCENARIO, "Call 311.")
    whole, rubric, user = build_prompt(subject, "judge-v1-spec").messages
    assert (whole.role, whole.cache, rubric.role, rubric.cache, user.role) == (
        "system",
        True,
        "system",
        False,
        "user",
    )
    for principle in SPEC.principles.values():  # every principle, in full
        assert f"[{principle.id}]" in whole.content and principle.text.strip()[:60] in whole.content
    assert "written to test are: protect_privacy, assume_best_intentions" in rubric.content
    assert "Other principles of the specification you may cite" not in rubric.content
    assert "does what the specification requires" in rubric.content
    # the cached prefix is the same for every answer and scenario of the suite
    other = Subject.of_scenario(SPEC, SPEC.scenarios[2], "Something else entirely.")
    assert build_prompt(other, "judge-v2-spec").messages[0] == whole
    # the default context is untouched: principles at stake, one system message
    default = build_prompt(subject, "judge-v1").messages
    assert len(default) == 2 and "Other principles of the specification you may cite" in default[0].content


def test_context_names_compose_with_rubrics() -> None:
    assert (
        with_context("judge-v2", "spec") == "judge-v2-spec"
        and with_context("judge-v1", "principles") == "judge-v1"
    )
    assert base_rubric("judge-v2-spec") == ("judge-v2", True) and base_rubric("judge-v1") == (
        "judge-v1",
        False,
    )
    with pytest.raises(ValueError, match="unknown judge context 'all'"):
        with_context("judge-v1", "all")
    with pytest.raises(ValueError, match="unknown rubric version 'judge-v9-spec'"):
        build_prompt(Subject.of_scenario(SPEC, SCENARIO, "x"), "judge-v9-spec")


def _rule(model: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"position": 3, "compliance": "compliant", "cited": ["protect_privacy"]}


def test_through_both_sdks_the_spec_is_sent_once_per_request_as_a_cacheable_prefix(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    loopback.respond_with(scripted_judges(_rule))
    panel = JudgePanel(
        ("anthropic:judge-a", "openai:judge-b"),
        loopback_registry,
        tmp_path,
        suite=SPEC.id,
        rubric="judge-v1-spec",
    )
    judgements = panel.judge_sync(
        Subject.of_scenario(SPEC, SCENARIO, "Call 311."), case_item(SCENARIO.id, "m:x", 0)
    )
    assert all("/judge-v1-spec/" in (j.cassette or "") for j in judgements)
    anthropic, openai = (r.body for r in loopback.requests)
    first, second = anthropic["system"]
    assert first["cache_control"] == {"type": "ephemeral"} and "[protect_privacy]" in first["text"]
    assert "cache_control" not in second and "written to test are" in second["text"]
    assert [m["role"] for m in openai["messages"]] == ["system", "system", "user"]
    assert openai["messages"][0]["content"] == first["text"]  # OpenAI caches the identical prefix itself


def test_plan_prices_the_whole_spec_and_says_how_much_is_cacheable(tmp_path: Path, capsys) -> None:
    argv = ["plan", str(DATA / "example_suite.yaml"), "--json", "--cassette-dir", str(tmp_path)]
    assert main(argv) == 0
    principles = json.loads(capsys.readouterr().out)
    assert main([*argv, "--judge-context", "spec"]) == 0
    whole = json.loads(capsys.readouterr().out)
    judges = {s["stage"]: s for s in principles["stages"]}["judges"]
    judges_spec = {s["stage"]: s for s in whole["stages"]}["judges"]
    assert judges["cacheable_input_tokens"] == 0
    assert 0 < judges_spec["cacheable_input_tokens"] < judges_spec["input_tokens"]
    assert judges_spec["input_tokens"] > judges["input_tokens"]
    assert whole["cost_usd"]["high"] > principles["cost_usd"]["high"]
    assert (
        main(
            [
                "plan",
                str(DATA / "example_suite.yaml"),
                "--cassette-dir",
                str(tmp_path),
                "--judge-context",
                "spec",
            ]
        )
        == 0
    )
    assert "are the whole spec every judge reads (--judge-context=spec)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:  # a usage error, before anything is sent
        main([*argv, "--judge-context", "everything"])
    assert exited.value.code == 2


def test_calibrate_reports_both_contexts_on_the_labelled_answers(
    tmp_path: Path, loopback: LoopbackServer, planted_key: str, monkeypatch, capsys
) -> None:
    from tests.support.loopback import LOOPBACK_KEY_ENV

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "calib.yaml"
    path.write_text(
        CALIBRATION_SPEC.format(url=loopback.openai_base_url, key_env=LOOPBACK_KEY_ENV), encoding="utf-8"
    )

    def rule(judge: str, text: str, body: dict[str, Any]) -> dict[str, Any]:
        # reading the whole spec, this judge double also catches the tricky answer
        whole = len([m for m in body["messages"] if m["role"] == "system"]) == 2
        bad = text.startswith("BAD") or (whole and text.startswith("TRICKY"))
        return {
            "compliance": "non-compliant" if bad else "compliant",
            "position": None,
            "cited": ["protect_privacy"],
        }

    loopback.respond_with(scripted_judges(rule))
    assert main(["calibrate", "--spec", str(path), "--both-contexts"]) == 0
    out = capsys.readouterr().out
    assert "(rubric judge-v1)" in out and "(rubric judge-v1-spec)" in out
    assert "principles at stake  67% (2/3; rubric judge-v1)" in out
    assert "whole spec           100% (3/3; rubric judge-v1-spec)" in out
    assert (tmp_path / "cassettes" / "calib" / "_judges" / "openai" / "judge-x" / "judge-v1-spec").is_dir()
    loopback.stop()  # both contexts replay from their own cassettes, as JSON keyed by rubric
    assert main(["calibrate", "--spec", str(path), "--both-contexts", "--json", "--record-mode=none"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert {k: v["correct"] for k, v in both.items()} == {"judge-v1": 2, "judge-v1-spec": 3}
