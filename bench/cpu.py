"""Benchmark: CPU per case, end to end, at zero latency (issue #14's target: <= 5 ms per case).

Runs the peers' workload (one answer call then one judge call per case, `bench/live.py`'s spec)
against the peers' fake API with no latency, twice per repetition in fresh processes. The
target is the recording run's: its two requests, two cassette writes and its item per case;
the replay run is shown beside it.

* record: `pytest --spec=bench.yaml` with no cassettes (the fan-out asks, writes both cassettes,
  the items take its trials, the results are written);
* replay: the same command with the server stopped and record mode none (every item replays
  its two cassettes).

CPU is the pytest process's user + system time (`RUSAGE_CHILDREN`), start-up included, so it
is what the machine pays, whatever else runs on it; the start-up of a run that collects the
spec but runs nothing (`--collect-only`) is printed too, so the per-case figure can be read
with it or without it. Run: `python bench/cpu.py [--n 1000] [--reps 3]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakeapi import dummy_key, start_fake_api
from live import KEY_ENV, write_spec

TARGET_MS = 5.0


def _cpu_of(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """(CPU seconds, wall seconds, last line) of one pytest process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    if done.returncode != 0:
        raise SystemExit(f"{argv} exited {done.returncode}: {last}")
    return cpu, wall, last


def _spread(values: list[float]) -> str:
    return f"min {min(values):.2f} / median {statistics.median(values):.2f} / max {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="cases per run (default %(default)s)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight while recording")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    base = [sys.executable, "-m", "pytest", "--spec=bench.yaml", "-q", "-p", "no:cacheprovider"]
    base += ["-p", "spec_pytest.pytest.entry", "-p", "xdist"]
    results: dict[str, list[float]] = {"start-up": [], "record": [], "replay": []}
    print(f"N={args.n}, zero latency, C={args.concurrency}; load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="spec-pytest-bench-cpu-") as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        for rep in range(args.reps + 1):  # the first round warms the page cache and bytecode
            shutil.rmtree(work / "cassettes", ignore_errors=True)
            server, port, _ = start_fake_api()
            write_spec(work / "bench.yaml", args.n, f"http://127.0.0.1:{port}/v1", args.concurrency)
            try:
                startup, _, _ = _cpu_of([*base, "--collect-only"], work, env)
                record, wall, said = _cpu_of(base, work, {**env, KEY_ENV: dummy_key()})
            finally:
                server.terminate()
                server.wait(timeout=10)
            replay, rwall, _ = _cpu_of(base, work, {**env, "CI": "true"})
            if rep == 0:
                continue
            for name, cpu in (("start-up", startup), ("record", record), ("replay", replay)):
                results[name].append(cpu)
            print(
                f"  rep {rep}: collect-only {startup:.2f} s CPU; record {record:.2f} s CPU "
                f"({wall:.1f} s wall, {said}); replay {replay:.2f} s CPU ({rwall:.1f} s wall); "
                f"load {os.getloadavg()[0]:.1f}"
            )
    n = args.n

    def per_case(name: str) -> list[float]:
        return [
            (cpu - start) / n * 1000 for cpu, start in zip(results[name], results["start-up"], strict=True)
        ]

    print(
        f"CPU per case of a recording run (fan-out, cassettes, items, results), start-up excluded: "
        f"{_spread(per_case('record'))} ms (target <= {TARGET_MS:g} ms)"
    )
    print(f"CPU per case of a replay run: {_spread(per_case('replay'))} ms")
    for name, values in results.items():
        print(f"  {name}: {_spread(values)} s CPU per run")


if __name__ == "__main__":
    main()
