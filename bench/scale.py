"""Benchmark at study scale: a batch run killed and resumed, then shards merged, at N scenarios.

What a run beyond one machine does, on the engines that exist, measured end to end:

1. writes a spec shaped like `bench/collection.py`'s (one model, one judge) with an N-scenario
   JSONL bank, whose ``endpoints:`` point ``openai`` at a loopback API on 127.0.0.1;
2. starts that API: the test tree's loopback server with its OpenAI Batch endpoints
   (``tests/support/loopback``), **as a subprocess started by path** — bench/ imports nothing
   from ``tests/``; the subprocess answers judge prompts with a fixed compliant ruling;
3. ``pytest --spec=X --batch --collect-only`` records every answer and judgement through the
   real SDK's batch calls; it is killed (SIGKILL) the moment it prints its first
   ``submitted batch`` line, and the same command run again must resume polling that batch:
   the server's count of batch creates shows no answer batch was submitted twice;
4. K shards ``pytest --spec=X --shard I/K --record-mode=none --results shardI.jsonl`` replay
   the recorded cassettes with the server stopped (a CI matrix, one after another here);
5. ``spec-pytest baseline save`` and ``spec-pytest report shard*.jsonl --baseline`` merge them
   into one report and one gate decision; the merged record count must be N.

Each step prints its wall time and the peak RSS of its process (``os.wait4``); a step that
outlives --step-timeout is stopped and reported as not finished. The load average is printed
at every step: the machine is shared, so absolute times are noisy.

Run: `python bench/scale.py [--scenarios 100000] [--shards 4] [--step-timeout 3600]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import yaml
from collection import scenario_row, spec_skeleton  # bench/ is the script's directory
from fakeapi import dummy_key

ROOT = Path(__file__).resolve().parents[1]
KEY_ENV = "SPEC_PYTEST_SCALE_API_KEY"
#: The loopback server's process: run by path from the repository, so only it imports tests/.
LOOPBACK = r"""
import json, sys
from collections import Counter
sys.path.insert(0, sys.argv[1])
from tests.support.loopback.judges import scripted_judges
from tests.support.loopback.server import LoopbackServer

server = LoopbackServer().start()
server.batches.polls_before_done = int(sys.argv[2])
server.respond_with(scripted_judges(lambda model, text, body: {"compliance": "compliant", "position": 3}))
print(json.dumps({"port": server.port}), flush=True)
for _ in sys.stdin:  # one line asks for the counts
    direct = sum(1 for r in server.requests if r.path in ("/v1/chat/completions", "/v1/messages"))
    seen = Counter(cid for b in list(server.batches.batches.values()) for cid in b.custom_ids)
    twice = sum(1 for count in seen.values() if count > 1)  # a request paid for twice
    counts = {"creates": server.batches.creates, "direct": direct, "submitted_twice": twice}
    print(json.dumps(counts), flush=True)
server.stop()
"""


@dataclass
class Step:
    name: str
    seconds: float
    rss_mb: float
    code: int | None  # None: stopped at the timeout
    output: str

    def line(self) -> str:
        state = "not finished (stopped at the timeout)" if self.code is None else f"exit {self.code}"
        return f"{self.name:<34} {self.seconds:8.1f} s  {self.rss_mb:7.0f} MB  {state}  ({load()})"


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def write_suite(folder: Path, scenarios: int, port: int) -> Path:
    """The spec and its bank; `endpoints:` send the openai family to the loopback API."""
    spec = spec_skeleton()
    spec["defaults"] = {"models": ["openai:gpt-4.1"], "judges": ["openai:gpt-4.1-mini"]}
    spec["endpoints"] = {"openai": {"base_url": f"http://127.0.0.1:{port}/v1", "key_env": KEY_ENV}}
    bank = folder / "scale.bank.jsonl"
    with bank.open("w", encoding="utf-8") as out:
        for n in range(scenarios):
            out.write(json.dumps(scenario_row(n)) + "\n")
    spec["scenarios"] = [{"include": bank.name}]
    path = folder / "scale_spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, width=200), encoding="utf-8")
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return path


def run(
    name: str,
    command: list[str],
    cwd: Path,
    timeout: float,
    kill_on: re.Pattern[str] | None = None,
) -> Step:
    """Run `command`; with `kill_on`, SIGKILL it as soon as a line of its output matches."""
    env = {**os.environ, KEY_ENV: dummy_key()}
    env.pop("CI", None)  # the record mode is given on each command line
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8") as sink:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE if kill_on else sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if kill_on is not None:
            assert process.stdout is not None
            _follow(process, process.stdout, sink, kill_on, start + timeout)
        code, rss_mb = _wait(process, start + timeout)
        elapsed = time.perf_counter() - start
        sink.seek(0)
        output = sink.read()
    return Step(name, elapsed, rss_mb, code, output)


def _follow(
    process: subprocess.Popen[str], stream: IO[str], sink: IO[str], pattern: re.Pattern[str], deadline: float
) -> None:
    for line in stream:
        sink.write(line)
        if pattern.search(line) or time.perf_counter() > deadline:
            process.send_signal(signal.SIGKILL)  # as a CI runner's hard stop: no clean-up at all
            break


def _wait(process: subprocess.Popen[str], deadline: float) -> tuple[int | None, float]:
    """Wait for `process` until `deadline` (then kill it: code None); its code and own peak RSS (MB)."""
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        stopped = not pid and time.perf_counter() > deadline
        if stopped:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return (None if stopped else process.returncode), usage.ru_maxrss / 1024
        time.sleep(0.2)


class Loopback:
    """The loopback API process and its counters."""

    def __init__(self, polls_before_done: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", LOOPBACK, str(ROOT), str(polls_before_done)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(json.loads(self.process.stdout.readline())["port"])

    def counts(self) -> dict[str, int]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("counts\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument(
        "--polls-before-done", type=int, default=0, help="status checks a batch stays in progress"
    )
    parser.add_argument("--step-timeout", type=float, default=3600.0, help="seconds one step may take")
    parser.add_argument("--keep", type=Path, help="work in this folder (kept) instead of a temporary one")
    args = parser.parse_args()
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--spec=scale_spec.yaml"]
    cli = [sys.executable, "-m", "spec_pytest.cli.main"]
    print(
        f"{args.scenarios} scenarios x 1 model x 1 judge, {args.shards} shards; start: {load()}", flush=True
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        server = Loopback(args.polls_before_done)
        failed = False
        try:
            write_suite(folder, args.scenarios, server.port)
            batch = [*pytest, "--collect-only", "--batch", "--record-mode=once"]
            killed = run(
                "batch, killed after 1st submit",
                batch,
                folder,
                args.step_timeout,
                re.compile("submitted batch"),
            )
            after_kill = server.counts()
            print(killed.line(), f"server: {after_kill}", flush=True)
            if killed.code != -signal.SIGKILL:  # it ended (or hung) before submitting anything
                print(killed.output[-3000:])
                return 1
            resumed = run("batch, same command again", batch, folder, args.step_timeout)
            after_resume = server.counts()
            print(resumed.line(), f"server: {after_resume}", flush=True)
            answers_line = [line for line in resumed.output.splitlines() if line.startswith("batch")]
            print("   " + "\n   ".join(answers_line[-3:]), flush=True)
            if resumed.code != 0 or after_resume["direct"] or after_resume["submitted_twice"]:
                print(resumed.output[-3000:])
                failed = True
        finally:
            server.stop()  # the shards replay with no server at all
        if failed:
            return 1
        shard_files = []
        for index in range(1, args.shards + 1):
            results = folder / f"shard{index}.jsonl"
            shard_files.append(results.name)
            step = run(
                f"shard {index}/{args.shards} replay",
                [*pytest, f"--shard={index}/{args.shards}", "--record-mode=none", f"--results={results}"],
                folder,
                args.step_timeout,
            )
            print(
                step.line(), step.output.strip().splitlines()[-1] if step.output.strip() else "", flush=True
            )
            if step.code not in (0, 1):
                print(step.output[-3000:])
                return 1
        saved = run(
            "baseline save (merge)",
            [*cli, "baseline", "save", *shard_files, "--to", "base.json"],
            folder,
            args.step_timeout,
        )
        print(saved.line(), flush=True)
        merged = run(
            "report shard*.jsonl --baseline",
            [*cli, "report", *shard_files, "--baseline", "base.json", "--md", "merged.md"],
            folder,
            args.step_timeout,
        )
        print(merged.line(), flush=True)
        print("   " + "\n   ".join(merged.output.strip().splitlines()[:4]), flush=True)
        count = re.search(r"^(\d+) records", merged.output, re.M)
        if count is None or int(count.group(1)) != args.scenarios:
            print(f"merged record count is not {args.scenarios}")
            return 1
    print(f"end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
