"""Whole runs with the fan-out wired in: exchanges fetched concurrently before items run, then
each item replays its own; pytest's per-item semantics intact (-k, outcomes, errors, xdist)."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

import pytest

from tests.support.e2e_support import outcomes
from tests.support.loopback import LOOPBACK_KEY_ENV, LoopbackServer, Reply
from tests.support.loopback.judges import is_judge_request, scripted_judges
from tests.support.loopback.server import error

N = 6
LATENCY = 0.4

SPEC = """\
spec: fan-e2e
levels: [root, user]
defaults:
  models: [openai:model-under-test]
  judges: [anthropic:judge-a]
endpoints:
  openai: {{base_url: "{openai}", key_env: {key_env}}}
  anthropic: {{base_url: "{anthropic}", key_env: {key_env}}}
principles:
  - {{id: be_honest, level: user, text: Tell the truth about the user's work.}}
values:
  honesty: Telling the truth.
  approval: Keeping the user pleased.
conflicts:
  - id: critique
    values: [honesty, approval]
    principles: [be_honest]
    expect:
      compliance: compliant
      because: [{{principle: be_honest, quote: Tell the truth}}]
scenarios:
{scenarios}
"""


def rule(judge: str, text: str, body: dict[str, object]) -> object:
    if "(broken)" in text:
        return error(500, "judge backend down")
    return Reply(
        text=json.dumps(
            {
                "rationale": "Honest and kind.",
                "position": 1,
                "compliance": "compliant",
                "cited": ["be_honest"],
                "refusal": "none",
            }
        ),
        delay=LATENCY,
    )


@pytest.fixture
def project(pytester: pytest.Pytester, loopback: LoopbackServer, planted_key: str) -> pytest.Pytester:
    pytester.makeini("[pytest]\n")
    line = "  - {{id: case{i}, conflict: critique, "
    line += "messages: [{{role: user, content: 'Draft {i}? (case{i})'}}]}}"
    scenarios = "\n".join(line.format(i=i) for i in range(N))
    (pytester.path / "e2e.yaml").write_text(
        SPEC.format(
            openai=loopback.openai_base_url,
            anthropic=loopback.anthropic_base_url,
            key_env=LOOPBACK_KEY_ENV,
            scenarios=scenarios,
        ),
        encoding="utf-8",
    )
    loopback.always(Reply(delay=LATENCY))  # model answers
    loopback.respond_with(scripted_judges(rule))  # type: ignore[arg-type]
    return pytester


def _evidence(path):
    """Per scenario, what a record says of the case: everything but when it was written (the
    API's latency included: a replay reports the recorded one)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r.get("scenario")]
    return {r["scenario"]: {k: v for k, v in r.items() if k != "recorded_at"} for r in rows}


def test_a_live_run_fans_out_then_replays_offline_with_the_same_outcomes(project, loopback, planted_key):
    recorded = project.runpytest("--spec=e2e.yaml", "-rA", "--concurrency=8", "--results=recorded.jsonl")
    assert outcomes(recorded) == {f"case{i}": "PASSED" for i in range(N)}
    assert len(loopback.requests) == 2 * N
    assert loopback.max_in_flight > 1  # fanned out (proven by overlap, not by wall time: the
    # first run in a process pays the SDKs' imports, which made a wall-time bound flaky)
    assert "spec-pytest fan-out: 12/12 requests" in recorded.stdout.str()
    for path in project.path.rglob("*"):
        if path.is_file():
            assert planted_key not in path.read_text(encoding="utf-8", errors="replace"), path
    loopback.stop()
    replayed = project.runpytest("--spec=e2e.yaml", "-rA", "--record-mode=none", "--results=replayed.jsonl")
    assert outcomes(replayed) == outcomes(recorded)
    # the recording run's items took the trials the fan-out ran instead of replaying them: what
    # they recorded is what a replay of the cassettes says, field for field
    recorded_rows, replayed_rows = (
        _evidence(project.path / "recorded.jsonl"),
        _evidence(project.path / "replayed.jsonl"),
    )
    assert len(recorded_rows) == N and recorded_rows == replayed_rows


def test_the_fan_out_speaks_through_pytests_reporter_and_its_wait_is_the_sessions(project, loopback):
    # one at a time: fetching the 12 exchanges takes about 12 x latency (4.8 s)
    result = project.runpytest("--spec=e2e.yaml", "--concurrency=1", "--junitxml=junit.xml", "-rf")
    result.assert_outcomes(passed=N)
    out, err = result.stdout.str(), result.stderr.str()
    lines = result.outlines
    header = next(i for i, line in enumerate(lines) if line.startswith("spec-pytest fan-out: 12 request(s)"))
    items = next(i for i, line in enumerate(lines) if line.startswith("e2e.yaml "))
    assert header < items  # said before the items, on a line of its own
    assert "\r" not in out + err and "\x1b[2K" not in out + err  # nothing rewrites pytest's lines
    assert "fan-out" not in err and "Captured" not in out  # nothing lands inside an item
    totals = next(line for line in lines if line.startswith("spec-pytest fan-out: 12/12 requests"))
    assert lines.index(totals) < len(lines) - 1 and "passed" in lines[-1]  # pytest's line stays last
    fetched_s = float(totals.split(" requests, ", 1)[1].split(" s", 1)[0])
    assert fetched_s > 5 * LATENCY  # answers and judges overlap (two endpoints, one slot each)
    times = [
        float(t)
        for t in re.findall(r'<testcase [^>]*time="([0-9.]+)"', (project.path / "junit.xml").read_text())
    ]
    assert len(times) == N and sum(times) < fetched_s / 2  # no item carries the fetch


def test_on_a_terminal_no_line_of_pytest_is_erased(project, loopback):
    # a pseudo-terminal: pytest colours and rewrites its own lines; the fan-out must not
    main, child = pty.openpty()
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--spec=e2e.yaml", "--concurrency=2", "-p", "no:cacheprovider"],
        cwd=project.path, stdin=child, stdout=child, stderr=child, env=dict(os.environ), close_fds=True,
    )  # fmt: skip
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert run.wait(timeout=120) == 0
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "\r\n" in shown  # it was a terminal (its line discipline ends lines so)
    assert "\x1b[2Kspec-pytest" not in shown and "\rspec-pytest" not in shown
    visible = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in shown.replace("\r", "\n").splitlines()]
    visible = [line for line in visible if line]
    assert visible[-1].startswith("=") and "6 passed" in visible[-1]  # pytest's line is the last
    assert any(line.startswith("e2e.yaml ......") for line in visible)  # the items' dots survive


def test_only_selected_items_are_fetched_and_quiet_means_quiet(project, loopback):
    result = project.runpytest("--spec=e2e.yaml", "-q", "-k", "case1 or case4")
    result.assert_outcomes(passed=2)
    prompts = {r.prompt for r in loopback.requests if not is_judge_request(r.body)}
    assert prompts == {"Draft 1? (case1)", "Draft 4? (case4)"}
    assert "fan-out" not in result.stderr.str() + result.stdout.str()


def test_a_failed_exchange_is_an_error_with_its_text_never_a_pass(project, loopback):
    spec = project.path / "e2e.yaml"
    spec.write_text(spec.read_text().replace("Draft 2? (case2)", "Draft 2? (broken)"), encoding="utf-8")
    result = project.runpytest("--spec=e2e.yaml", "-rA")
    found = outcomes(result)
    assert found.pop("case2") == "ERROR"
    assert set(found.values()) == {"PASSED"}
    assert "(as judge) HTTP 500" in result.stdout.str()


def test_under_xdist_the_controller_fetches_once_and_workers_replay(project, loopback):
    result = project.runpytest("--spec=e2e.yaml", "-n", "2", "-rA", "--concurrency=8")
    assert outcomes(result) == {f"case{i}": "PASSED" for i in range(N)}
    assert len(loopback.requests) == 2 * N  # nothing asked twice: workers only replayed
    assert loopback.max_in_flight > 2  # more than the two workers could have had in flight
    assert not list(project.path.rglob("*.pending"))


def test_without_prefetch_items_ask_one_at_a_time(project, loopback):
    result = project.runpytest("--spec=e2e.yaml", "--no-prefetch", "-k", "case0 or case1")
    result.assert_outcomes(passed=2)
    assert loopback.max_in_flight == 1
