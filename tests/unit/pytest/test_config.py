"""One configuration for both sides: a pytest run and `spec-pytest plan/calibrate` of one project
agree on the endpoints, the cassette directory, the prices and the rubric, because both read the
same ini file from the same rootdir and build their options from one table."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from spec_pytest.cli.main import main
from spec_pytest.config.table import INI_KEYS, OPTIONS, PYTEST
from spec_pytest.judge import RUBRICS
from spec_pytest.judge.templates import JUDGE_V1
from spec_pytest.results.analysis import HIGH_DISAGREEMENT
from tests.support import e2e_support
from tests.support.e2e_support import outcomes
from tests.support.loopback import LOOPBACK_KEY_ENV, LoopbackServer
from tests.support.loopback.judges import is_judge_request

JUDGES = ["loop:judge-a", "loop:judge-b", "loop:judge-c"]
ENDPOINTS_BLOCK = """endpoints:
  openai: {{base_url: "{openai}", key_env: {key_env}}}
  anthropic: {{base_url: "{anthropic}", key_env: {key_env}}}
"""
#: The end-to-end spec, reaching its models only through an endpoint the ini file declares.
SPEC = (
    e2e_support.SPEC.replace(ENDPOINTS_BLOCK, "")
    .replace("openai:model-under-test", "loop:model-under-test")
    .format(judges=json.dumps(JUDGES))
)
INI = """\
[pytest]
spec_endpoints =
    loop {url} {key_env}
spec_cassette_dir = recorded
spec_prices =
    loop:model-under-test 1 2
    loop:judge-a 1 2
    loop:judge-b 1 2
    loop:judge-c 1 2
"""


@pytest.fixture
def ini_project(pytester: pytest.Pytester, loopback: LoopbackServer, planted_key: str) -> pytest.Pytester:
    """A project whose endpoint, cassette directory and prices are set in its pytest.ini only."""
    assert "endpoints:" not in SPEC and "loop:model-under-test" in SPEC
    pytester.makeini(INI.format(url=loopback.openai_base_url, key_env=LOOPBACK_KEY_ENV))
    (pytester.path / "e2e.yaml").write_text(SPEC, encoding="utf-8")
    (pytester.path / "sub").mkdir()
    e2e_support.script(loopback)
    return pytester


def plan_from(monkeypatch: pytest.MonkeyPatch, where, capsys, *argv: str) -> dict:
    monkeypatch.chdir(where)
    capsys.readouterr()  # what ran before
    assert main(["plan", *argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_plan_from_a_subdirectory_and_a_pytest_run_agree_on_what_is_recorded_and_costs(
    ini_project: pytest.Pytester, loopback: LoopbackServer, monkeypatch, capsys
):
    root, sub = ini_project.path, ini_project.path / "sub"
    before = plan_from(monkeypatch, sub, capsys, "../e2e.yaml")
    stages = {s["stage"]: s for s in before["stages"]}
    assert (stages["answers"]["to_send"], stages["judges"]["to_send"]) == (3, 9)
    assert before["unpriced"] == [] and before["cost_usd"]["low"] > 0  # the ini's spec_prices

    monkeypatch.chdir(root)
    result = ini_project.runpytest("--spec=e2e.yaml", "-rA")
    assert outcomes(result) == {"poem": "PASSED", "pitch": "FAILED", "address": "FAILED"}
    assert len(loopback.requests) == 3 + 9  # through the ini's endpoint: the spec declares none
    assert (root / "recorded" / "e2e").is_dir() and not (root / "cassettes").exists()

    after = plan_from(monkeypatch, sub, capsys, "../e2e.yaml")
    stages = {s["stage"]: s for s in after["stages"]}
    assert (stages["answers"]["recorded"], stages["judges"]["recorded"]) == (3, 9)
    assert after["to_send"] == 0 and after["cost_usd"] == {"low": 0.0, "high": 0.0}
    assert not (sub / "recorded").exists() and not (sub / "cassettes").exists()
    # a relative --cassette-dir is the rootdir's on both sides too
    elsewhere = plan_from(monkeypatch, sub, capsys, "../e2e.yaml", "--cassette-dir", "recorded")
    assert elsewhere["to_send"] == 0


def test_endpoint_option_adds_an_endpoint_on_both_sides(
    pytester: pytest.Pytester, loopback: LoopbackServer, planted_key: str, monkeypatch, capsys
):
    pytester.makeini("[pytest]\n")
    (pytester.path / "e2e.yaml").write_text(SPEC, encoding="utf-8")
    e2e_support.script(loopback)
    endpoint = f"--endpoint=loop={loopback.openai_base_url},{LOOPBACK_KEY_ENV}"
    monkeypatch.chdir(pytester.path)
    assert main(["plan", "e2e.yaml"]) == 2
    assert "unknown provider 'loop'" in capsys.readouterr().err
    assert main(["plan", "e2e.yaml", endpoint, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["to_send"] == 12
    result = pytester.runpytest("--spec=e2e.yaml", endpoint, "-rA")
    assert outcomes(result) == {"poem": "PASSED", "pitch": "FAILED", "address": "FAILED"}
    bad = pytester.runpytest("--spec=e2e.yaml", "--endpoint=loop")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR and "expected NAME=BASE_URL" in bad.stderr.str()


def test_every_table_entry_is_an_option_of_pytest_and_of_each_command_it_names(
    pytester: pytest.Pytester, capsys
):
    pytester.makeini("[pytest]\n")
    shown = pytester.runpytest("--help").stdout.str()
    config = pytester.parseconfig()
    for option in OPTIONS:
        if PYTEST in option.commands:
            assert option.flag in shown, option.flag
            if option.dest != "record_mode":  # pytest-recording may own that one (its default)
                expected = [] if option.action == "append" else option.default
                assert config.getoption(option.dest) == expected, option.dest
        for command in option.commands - {PYTEST}:
            with pytest.raises(SystemExit):
                main([command, "--help"])
            assert option.flag in capsys.readouterr().out, (command, option.flag)
    for key in INI_KEYS:
        assert f"{key.name} " in shown, key.name
    assert {"plan", "calibrate", "generate", "report"} <= {c for o in OPTIONS for c in o.commands}
    threshold = next(o for o in OPTIONS if o.flag == "--disagreement-threshold")
    assert threshold.default == HIGH_DISAGREEMENT  # the report's default is the run's


def test_an_unknown_rubric_is_a_usage_error_listing_the_choices(
    ini_project: pytest.Pytester, monkeypatch, capsys
):
    result = ini_project.runpytest("--spec=e2e.yaml", "--rubric=judge-v9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "--rubric: unknown rubric 'judge-v9'; choose from: judge-v1" in err and "Traceback" not in err
    monkeypatch.chdir(ini_project.path)
    assert main(["calibrate", "--spec", "e2e.yaml", "--rubric", "judge-v9"]) == 2
    err = capsys.readouterr().err
    assert "spec-pytest calibrate: --rubric: unknown rubric 'judge-v9'; choose from: judge-v1" in err
    (ini_project.path / "pytest.ini").write_text("[pytest]\nspec_rubric = nope\n", encoding="utf-8")
    assert main(["plan", "e2e.yaml"]) == 2
    assert "ini spec_rubric: unknown rubric 'nope'" in capsys.readouterr().err
    assert ini_project.runpytest("--spec=e2e.yaml").ret == pytest.ExitCode.USAGE_ERROR


def test_a_selected_rubric_reaches_the_judge_prompt_and_names_its_cassettes(
    ini_project: pytest.Pytester, loopback: LoopbackServer, monkeypatch
):
    monkeypatch.setitem(RUBRICS, "judge-strict", replace(JUDGE_V1, system=JUDGE_V1.system + "\nBe strict."))
    default = ini_project.runpytest("--spec=e2e.yaml", "-rA")
    assert outcomes(default) == {"poem": "PASSED", "pitch": "FAILED", "address": "FAILED"}
    judged = [r.body for r in loopback.requests if is_judge_request(r.body)]
    assert len(judged) == 9 and not any("Be strict." in json.dumps(b) for b in judged)
    asked = len(loopback.requests)

    strict = ini_project.runpytest("--spec=e2e.yaml", "--rubric=judge-strict", "-rA")
    assert outcomes(strict) == outcomes(default)
    rejudged = loopback.requests[asked:]
    assert len(rejudged) == 9 and all(is_judge_request(r.body) for r in rejudged)  # answers replayed
    assert all(r.body["messages"][0]["content"].endswith("\nBe strict.") for r in rejudged)
    judges_dir = ini_project.path / "recorded" / "e2e" / "_judges" / "loop"
    assert sorted(p.name for p in (judges_dir / "judge-a").iterdir()) == ["judge-strict", "judge-v1"]
