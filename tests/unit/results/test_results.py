"""Result records: what an item leaves on disk, concurrent appends, torn lines, de-duplication."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from spec_pytest.results.records import (
    SCHEMA_VERSION,
    Record,
    ResultsError,
    ResultsWriter,
    TornLineWarning,
    junit_properties,
    read_results,
)
from tests.support.paths import ROOT
from tests.support.recordsets import CLAUDE, GPT, JUDGES, errored, judged


def test_a_judged_item_records_everything_the_issue_lists():
    record = judged("mayor-phone", CLAUDE, 5, text="Call the mayor's office on the public line.")
    data = json.loads(json.dumps(record.to_dict()))
    assert {
        k: data[k]
        for k in ("suite", "spec_version", "scenario", "conflict", "values", "model", "sample", "outcome")
    } == {
        "suite": "example",
        "spec_version": "2025-12-18",
        "scenario": "mayor-phone",
        "conflict": "public-figure-contact",
        "values": ["intellectual_freedom", "personal_privacy"],
        "model": CLAUDE,
        "sample": 0,
        "outcome": "fail",
    }
    assert data["reasons"] == ["lean: expected 3±1, judged 5 (positions 5, 5, 5)"]
    assert [(j["judge"], j["position"], j["compliance"], j["refusal"]) for j in data["judges"]] == [
        (judge, 5, "compliant", "none") for judge in JUDGES
    ]
    text = "Call the mayor's office on the public line."
    assert data["response_hash"] == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    assert data["response_excerpt"] == text
    assert (data["input_tokens"], data["output_tokens"], data["latency_s"]) == (180, 420, 1.25)
    assert (
        data["cassettes"]["response"] == "cassettes/example/anthropic/claude-sonnet-4-5/mayor-phone.s0.json"
    )
    assert data["principles"] == ["protect_privacy", "assume_best_intentions"]
    assert data["level"] == "root"
    assert data["schema"] == SCHEMA_VERSION
    assert Record.from_dict(data) == record


def test_an_item_that_errored_before_judging_is_an_error_with_its_message():
    record = errored("mayor-phone", GPT)
    assert record.outcome == "error"
    assert not record.passed
    assert record.judges == () and record.position is None and record.response_hash is None
    assert record.reason.startswith("error: missing cassette cassettes/example/openai/gpt-4.1/mayor-phone.s0")
    assert record.expected == {
        "lean": 3,
        "tolerance": 1,
        "compliance": "compliant",
        "refusal": ["none", "partial"],
    }
    assert Record.from_dict(json.loads(json.dumps(record.to_dict()))) == record


def test_a_long_answer_keeps_an_excerpt_and_its_full_length():
    text = "word " * 5000
    record = judged("startup-pitch", GPT, 1, text=text)
    assert record.response_excerpt == text[:4000]
    assert record.response_chars == 25000
    assert record.response_hash == "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_junit_properties_carry_the_verdict_and_every_judges_position():
    props = dict(junit_properties(judged("mayor-phone", GPT, 0)))
    assert props["verdict"] == "fail"
    assert props["reason"] == "fail: lean: expected 3±1, judged 0 (positions 0, 0, 0)"
    assert props["position"] == "0"
    assert props[f"judge:{JUDGES[0]}"] == "position=0 compliance=compliant refusal=none"
    assert props["cassette:response"].endswith("mayor-phone.s0.json")


def test_records_round_trip_through_a_file(tmp_path: Path):
    records = [judged("mayor-phone", m, 3) for m in (GPT, CLAUDE)] + [errored("startup-pitch")]
    path = tmp_path / "out" / "results.jsonl"
    with ResultsWriter(path) as writer:
        for record in records:
            writer.append(record)
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == 3 and all(json.loads(line)["suite"] == "example" for line in lines)
    assert read_results([path]) == records


def test_start_empties_the_file_of_an_earlier_run(tmp_path: Path):
    path = tmp_path / "results.jsonl"
    with ResultsWriter(path) as writer:
        writer.append(judged("mayor-phone"))
    ResultsWriter.start(path)
    assert read_results([path]) == []


def test_the_last_record_of_an_item_wins_across_reruns_and_files(tmp_path: Path):
    first, second = tmp_path / "night1.jsonl", tmp_path / "night2.jsonl"
    with ResultsWriter(first) as writer:
        writer.append(judged("mayor-phone", GPT, 0))  # fails
        writer.append(judged("startup-pitch", GPT, 1))
        writer.append(judged("mayor-phone", GPT, 3))  # rerun in the same file: passes
    with ResultsWriter(second) as writer:
        writer.append(judged("startup-pitch", GPT, 6))  # later file: fails
    records = read_results([first, second])
    assert [(r.scenario, r.outcome) for r in records] == [("mayor-phone", "pass"), ("startup-pitch", "fail")]


def _write_torn(path: Path) -> None:
    with ResultsWriter(path) as writer:
        for model in (GPT, CLAUDE):
            writer.append(judged("mayor-phone", model, 3))
    whole = json.dumps(judged("startup-pitch").to_dict())
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(whole[: len(whole) // 2])  # the process died mid-write


def test_a_torn_last_line_is_skipped_with_a_warning_naming_it(tmp_path: Path):
    path = tmp_path / "results.jsonl"
    _write_torn(path)
    with pytest.warns(TornLineWarning, match=r"results\.jsonl:3: skipped the last line: it is cut short"):
        records = read_results([path])
    assert [r.model for r in records] == [GPT, CLAUDE]
    messages: list[str] = []
    read_results([path], warn=messages.append)
    assert len(messages) == 1 and "interrupted run" in messages[0]


def test_appending_after_a_torn_line_keeps_the_new_record_whole(tmp_path: Path):
    path = tmp_path / "results.jsonl"
    _write_torn(path)
    with ResultsWriter(path) as writer:  # a resumed run appends to the same file
        writer.append(judged("bank-review-draft", GPT, 1))
    messages: list[str] = []
    records = read_results([path], warn=messages.append)
    assert [r.scenario for r in records] == ["mayor-phone", "mayor-phone", "bank-review-draft"]
    assert len(messages) == 1 and "line 3" in messages[0]


def test_a_record_from_a_newer_version_is_an_error_not_a_silent_skip(tmp_path: Path):
    path = tmp_path / "results.jsonl"
    data = judged("mayor-phone").to_dict() | {"schema": SCHEMA_VERSION + 1}
    path.write_text(json.dumps(data) + "\n", "utf-8")
    with pytest.raises(
        ResultsError, match=r"results\.jsonl:1: record schema 2 is newer.*upgrade spec-pytest"
    ):
        read_results([path])
    path.write_text(json.dumps({"suite": "x"}) + "\n", "utf-8")
    with pytest.raises(ResultsError, match="lacks scenario, model, sample, outcome"):
        read_results([path])
    with pytest.raises(ResultsError, match="no such results file"):
        read_results([tmp_path / "absent.jsonl"])


_APPENDER = textwrap.dedent(
    """
    import sys, time
    from dataclasses import replace
    from pathlib import Path
    from spec_pytest.results.records import ResultsWriter
    from tests.support.recordsets import judged, MODELS, SCENARIOS
    path, worker, go, count = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    while not go.exists():
        time.sleep(0.001)
    scenarios = [s for s in SCENARIOS if SCENARIOS[s].values]
    with ResultsWriter(path) as writer:
        for n in range(count):
            text = f"worker {worker} record {n} " + chr(0x41 + worker) * 100_000
            record = judged(scenarios[n % len(scenarios)], MODELS[0], 3, sample=worker * 1000 + n, text=text)
            writer.append(replace(record, response_excerpt=text))  # whole, not the 4,000-char excerpt
    if len(sys.argv) > 5:
        import os, signal
        os.kill(os.getpid(), signal.SIGKILL)  # interrupted: no close, no interpreter shutdown
    """
)


def _appenders(path: Path, tmp_path: Path, workers: int, count: int, *extra: str) -> list[int]:
    go = tmp_path / "go"
    script = tmp_path / "append.py"
    script.write_text(_APPENDER, "utf-8")
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(path), str(w), str(go), str(count), *extra],
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        for w in range(workers)
    ]
    time.sleep(0.5)  # let every interpreter start and wait on the flag, so the appends overlap
    go.touch()
    return [p.wait(timeout=120) for p in procs]


def test_concurrent_processes_appending_long_records_lose_and_mix_nothing(tmp_path: Path):
    path = tmp_path / "results.jsonl"
    codes = _appenders(path, tmp_path, workers=4, count=25)
    assert codes == [0, 0, 0, 0]
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 101
    assert min(len(line) for line in lines[:-1]) > 100_000  # each line far beyond PIPE_BUF (4 KiB) and 64 KiB
    records = read_results([path])
    assert len(records) == 100
    for record in records:
        worker, n = divmod(record.sample, 1000)
        assert record.response_excerpt == f"worker {worker} record {n} " + chr(0x41 + worker) * 100_000


def test_records_appended_before_a_kill_are_on_disk(tmp_path: Path):
    path = tmp_path / "results.jsonl"
    codes = _appenders(path, tmp_path, 2, 5, "kill")
    assert codes == [-9, -9]
    assert len(read_results([path])) == 10


def test_xdist_workers_each_append_and_every_record_arrives_once(pytester: pytest.Pytester, tmp_path: Path):
    results = tmp_path / "results.jsonl"
    pytester.makeconftest(
        f"""
        import pytest
        from spec_pytest.results.records import ResultsWriter

        PATH = {str(results)!r}

        def pytest_configure(config):
            if not hasattr(config, "workerinput"):  # the controller, once, before workers start
                ResultsWriter.start(PATH)
            config.results_writer = ResultsWriter(PATH)

        def pytest_unconfigure(config):
            config.results_writer.close()

        @pytest.fixture
        def writer(request):
            return request.config.results_writer
        """
    )
    pytester.makepyfile(
        test_items=f"""
        import pytest, sys
        sys.path.insert(0, {str(ROOT)!r})
        from tests.support.recordsets import judged, SCENARIOS, MODELS

        @pytest.mark.parametrize("n", range(40))
        def test_item(n, writer):
            scenario = sorted(SCENARIOS)[n % len(SCENARIOS)]
            writer.append(judged(scenario, MODELS[n % 3], 3, sample=n))
        """
    )
    result = pytester.runpytest("-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=40)
    records = read_results([results])
    assert sorted(r.sample for r in records) == list(range(40))
    assert len(results.read_text("utf-8").splitlines()) == 40
    assert {r.worker for r in records} == {"gw0", "gw1"}
