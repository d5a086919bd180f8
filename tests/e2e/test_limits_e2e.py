"""Whole runs against a hostile server: a trickling answer meets the deadline (ini
``spec_timeout``, ``--request-timeout``, an endpoint's ``timeout:``), a web page or a huge
answer is an ERROR saying what arrived, and unusable output paths are usage errors."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time

import pytest

from tests.support.e2e_support import outcomes
from tests.support.loopback import LOOPBACK_KEY_ENV, LoopbackServer, Reply, answer, html, trickle
from tests.support.loopback.judges import scripted_judges

SPEC = """\
spec: limits-e2e
levels: [root, user]
defaults:
  models: [openai:model-under-test]
  judges: [anthropic:judge-a]
endpoints:
  openai: {{base_url: "{openai}", key_env: {key_env}{openai_extra}}}
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
  - {{id: fine, conflict: critique, messages: [{{role: user, content: 'Draft? (fine)'}}]}}
  - {{id: odd, conflict: critique, messages: [{{role: user, content: 'Draft? (odd)'}}]}}
"""

VERDICT = json.dumps(
    {
        "rationale": "Honest.",
        "position": 1,
        "compliance": "compliant",
        "cited": ["be_honest"],
        "refusal": "none",
    }
)


def write_spec(project: pytest.Pytester, loopback: LoopbackServer, openai_extra: str = "") -> None:
    text = SPEC.format(
        openai=loopback.openai_base_url,
        anthropic=loopback.anthropic_base_url,
        key_env=LOOPBACK_KEY_ENV,
        openai_extra=openai_extra,
    )
    (project.path / "limits.yaml").write_text(text, encoding="utf-8")


@pytest.fixture
def project(pytester: pytest.Pytester, loopback: LoopbackServer, planted_key: str) -> pytest.Pytester:
    pytester.makeini("[pytest]\n")
    write_spec(pytester, loopback)
    loopback.respond_with(scripted_judges(lambda judge, text, body: Reply(text=VERDICT)))  # type: ignore[arg-type]
    return pytester


def trickling_odd(loopback: LoopbackServer) -> None:
    loopback.when(r"\(odd\)", trickle(0.5, b" " * 200))  # 100 s in all; each read 0.5 s


@pytest.mark.parametrize("fetch", ["--concurrency=4", "--no-prefetch"])
def test_a_trickling_answer_meets_the_ini_deadline(project, loopback, fetch):
    project.makeini("[pytest]\nspec_timeout = 1.5\n")
    trickling_odd(loopback)
    started = time.monotonic()
    result = project.runpytest("--spec=limits.yaml", "-rA", fetch)
    assert time.monotonic() - started < 30
    assert outcomes(result) == {"fine": "PASSED", "odd": "ERROR"}
    out = result.stdout.str()
    assert "request deadline of 1.5 s" in out and "--request-timeout" in out
    assert "Traceback" not in out


def test_the_option_and_an_endpoints_timeout_set_the_deadline(project, loopback):
    trickling_odd(loopback)
    result = project.runpytest("--spec=limits.yaml", "-rA", "--request-timeout=1")
    assert outcomes(result) == {"fine": "PASSED", "odd": "ERROR"}
    assert "request deadline of 1 s" in result.stdout.str()
    write_spec(project, loopback, ", timeout: 0.8")
    result = project.runpytest("--spec=limits.yaml", "-rA", "--request-timeout=1", "--record-mode=all")
    assert "request deadline of 0.8 s" in result.stdout.str()


def test_a_web_page_is_an_error_saying_what_arrived(project, loopback):
    loopback.when(r"\(odd\)", html())
    result = project.runpytest("--spec=limits.yaml", "-rA")
    assert outcomes(result) == {"fine": "PASSED", "odd": "ERROR"}
    out = result.stdout.str()
    assert "a body that is not JSON" in out and "Sign in to continue" in out
    assert "content-type 'text/html" in out  # what arrived, as the server labelled it
    assert "AttributeError" not in out


def test_a_huge_answer_is_an_error_naming_the_cap(project, loopback):
    loopback.when(r"\(odd\)", answer("spam " * 3000))
    result = project.runpytest("--spec=limits.yaml", "-rA", "--max-answer-chars=10000")
    assert outcomes(result) == {"fine": "PASSED", "odd": "ERROR"}
    assert "over the cap of 10,000" in result.stdout.str()
    judged = [r for r in loopback.requests if r.api == "anthropic"]
    assert all("spam spam" not in r.prompt for r in judged)  # never copied into a judge request


@pytest.mark.parametrize(
    "body, encoding, what",
    [
        (
            b'{"id": "x", "pad": "' + b"A" * 3_000_000 + b'"}',
            None,
            "the answer's body passed 1,080,000 bytes",
        ),
        # 5 kB on the wire, 5 MB once inflated: counted as it inflates, never held whole
        (
            gzip.compress(b" " * 5_000_000),
            "gzip",
            "the answer's inflated (gzip/deflate) body passed 1,080,000",
        ),
    ],
    ids=["3-MB-body", "gzip-bomb"],
)
@pytest.mark.parametrize("who", ["model", "judge"])  # the openai SDK, and anthropic's (it retries and wraps)
def test_a_body_past_the_cap_stops_the_download_and_is_an_error(project, loopback, body, encoding, what, who):
    huge = answer(raw_body=body, headers={"Content-Encoding": encoding} if encoding else {})
    if who == "model":
        loopback.when(r"\(odd\)", huge)
    else:
        judged = scripted_judges(lambda judge, text, body: huge if "(odd)" in text else Reply(text=VERDICT))
        loopback.respond_with(judged)  # type: ignore[arg-type]
    # the fan-out (the default) reads bodies itself; the cap follows --max-answer-chars
    result = project.runpytest("--spec=limits.yaml", "-rA", "--max-answer-chars=10000")
    assert outcomes(result) == {"fine": "PASSED", "odd": "ERROR"}
    out = result.stdout.str()
    assert what in out and "--max-answer-chars" in out
    assert "could not reach" not in out  # not a network failure
    assert "BodyTooLarge" not in out and "CallInfo" not in out  # the message, not a traceback
    # the exchange that was cut is not recorded (a judge's answer: the model's is, it was fine)
    cut = project.path / "cassettes" / "limits-e2e" / ("openai" if who == "model" else "_judges")
    assert not [p for p in cut.rglob("odd*") if ".spec-pytest-tmp" not in p.parts]
    assert who == "model" or "(as judge)" in out


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon"])
def test_a_deadline_that_is_not_a_positive_number_is_a_usage_error(project, value):
    result = project.runpytest("--spec=limits.yaml", f"--request-timeout={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


@pytest.mark.parametrize("fetch", ["--concurrency=4", "--no-prefetch"])
def test_two_runs_at_once_pay_once_one_records_the_other_replays(project, loopback, fetch):
    loopback.always(Reply(delay=1.0))  # slow answers: the two runs overlap
    command = [sys.executable, "-m", "pytest", "--spec=limits.yaml", "-rA", "-p", "no:cacheprovider", fetch]
    runs = [subprocess.Popen(command, cwd=project.path, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    for output in outputs:
        assert "PASSED" in output and "ERROR" not in output
    assert len(loopback.requests) == 4  # 2 scenarios x (answer + judge), asked by one run only
    assert not list(project.path.rglob("*.tmp"))


def test_a_killed_writers_leftovers_stay_out_of_git(project, loopback):
    assert project.runpytest("--spec=limits.yaml").ret == 0
    work = next(project.path.rglob(".spec-pytest-tmp"))
    (work / "odd.s0.json.k1ll3d.tmp").write_text("{half", encoding="utf-8")  # what a kill leaves
    subprocess.run(["git", "init", "-q"], cwd=project.path, check=True)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".json" in status  # the cassettes are there to commit
    assert ".spec-pytest-tmp" not in status and ".tmp" not in status and ".lock" not in status


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--results=/dev/full", "--results /dev/full: not a regular file"),
        ("--results={tmp}", "is a directory; give a file such as results.jsonl"),
        ("--results={tmp}/limits.yaml/results.jsonl", "is not a directory"),
        ("--cassette-dir=/dev/null", "--cassette-dir /dev/null: not a directory"),
        ("--cassette-dir={tmp}/limits.yaml", "not a directory; give a directory"),
        # directories nobody may write in (sysfs refuses new files even to root)
        ("--results=/sys/results.jsonl", "--results /sys/results.jsonl: cannot create files in /sys"),
        (
            "--cassette-dir=/sys/fs/cassettes",
            "--cassette-dir /sys/fs/cassettes: cannot create files in /sys/fs",
        ),
    ],
)
def test_unusable_output_paths_are_usage_errors(project, loopback, option, message):
    result = project.runpytest("--spec=limits.yaml", option.format(tmp=project.path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message.format(tmp=project.path) in result.stderr.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert loopback.requests == []  # refused before anything was asked


@pytest.mark.parametrize(
    "where",
    ["spec", "--model-param=timeout=0.8"],
)
def test_a_models_own_timeout_is_its_deadline_and_null_sends_nothing(project, loopback, where):
    """A model's ``timeout`` (the spec's ``models:`` or --model-param) is the overall deadline of
    its calls, over the run's; ``null`` in its params is accepted and leaves the key unsent."""
    spec = project.path / "limits.yaml"
    extra = "models:\n  openai:model-under-test: {temperature: null, max_tokens: null"
    extra += ", timeout: 0.8}\n" if where == "spec" else "}\n"
    spec.write_text(spec.read_text("utf-8") + extra, encoding="utf-8")
    trickling_odd(loopback)
    args = ["--spec=limits.yaml", "-rA", "--request-timeout=60"] + ([] if where == "spec" else [where])
    started = time.monotonic()
    result = project.runpytest(*args)
    assert time.monotonic() - started < 30, result.stdout.str()
    assert outcomes(result) == {"fine": "PASSED", "odd": "ERROR"}, result.stdout.str()
    assert "request deadline of 0.8 s" in result.stdout.str()
    asked = [r for r in loopback.requests if r.api == "openai" and "(fine)" in r.prompt]
    assert asked and all("temperature" not in r.body and "max_tokens" not in r.body for r in asked)
