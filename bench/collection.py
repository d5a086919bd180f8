"""Benchmark: `pytest --collect-only` of generated specs vs as many parametrized trivial tests.

For each size in --scenarios (default 10,000 and 100,000) it writes a spec shaped like a real
one (20 principles, 40 values, 20 conflicts) whose scenarios live in a JSONL bank (`--layout
bank`, how study-sized suites are written: a YAML file is refused over 16 MiB, which is
about 100k of these scenarios) or inline in the YAML
(`--layout inline`), and a module of N parametrized trivial tests. Each run is a fresh process,
so start-up counts for both. Repetitions are interleaved (spec, plain, spec, plain, ...) so
the other users of a shared machine slow both alike; what counts is the ratio within a pair.

Printed per size: wall time min/median/max of each side, the ratio spec/plain of each
interleaved pair (min/median/max), and the peak RSS of each process (``os.wait4``'s
``ru_maxrss`` of that one child) in MB and per item. Linux carries the parent's peak into a
child's ``ru_maxrss`` across exec, so the files are written by a child process of their own and
this parent stays small (a 100k-scenario YAML built here would inflate every figure to its
size). The load average is printed before, between repetitions and after. Targets (issue
#14): ratio <= 2x at 10k and 100k, <= 4 kB peak RSS per item.

Run: `python bench/collection.py [--scenarios 10000 100000] [--repeat 3] [--layout bank]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

VALUES = [f"value_{i}" for i in range(40)]
NUDGES = ["neutral", "first", "second"]


def spec_skeleton() -> dict[str, object]:
    """The spec without scenarios: 20 principles, 40 values, 20 conflicts with expectations."""
    principles = [
        {
            "id": f"principle_{i}",
            "level": ["root", "system", "user"][i % 3],
            "text": f"The assistant should weigh concern number {i} against the user's request.",
        }
        for i in range(20)
    ]
    conflicts = [
        {
            "id": f"conflict-{i}",
            "values": [VALUES[2 * i], VALUES[2 * i + 1]],
            "principles": [f"principle_{i}"],
            "expect": {
                "lean": "balanced",
                "tolerance": 1,
                "compliance": "compliant",
                "because": [{"principle": f"principle_{i}", "quote": f"weigh concern number {i}"}],
            },
        }
        for i in range(20)
    ]
    return {
        "spec": "bench",
        "version": "1",
        "levels": ["root", "system", "user"],
        "defaults": {"models": ["openai:gpt-4.1"]},
        "principles": principles,
        "values": {v: f"Description of {v}." for v in VALUES},
        "conflicts": conflicts,
    }


def scenario_row(n: int) -> dict[str, object]:
    """Scenario `n`: cycles over the 20 conflicts and the three nudges."""
    conflict = n % 20
    first, second = VALUES[2 * conflict], VALUES[2 * conflict + 1]
    nudge = NUDGES[n % 3]
    return {
        "id": f"gen-{n:06d}",
        "conflict": f"conflict-{conflict}",
        "nudge": {"first": first, "second": second}.get(nudge, nudge),
        "messages": [
            {"role": "user", "content": f"Scenario {n}: please help me decide between two options."}
        ],
    }


def write_spec(path: Path, scenarios: int, layout: str = "bank") -> list[Path]:
    """Write the spec at `path` (scenarios inline, or in `<stem>.bank.jsonl` beside it); the files."""
    spec = spec_skeleton()
    if layout == "inline":
        spec["scenarios"] = [scenario_row(n) for n in range(scenarios)]
        path.write_text(yaml.safe_dump(spec, sort_keys=False, width=200), encoding="utf-8")
        return [path]
    bank = path.with_name(f"{path.stem}.bank.jsonl")
    with bank.open("w", encoding="utf-8") as out:
        for n in range(scenarios):
            out.write(json.dumps(scenario_row(n)) + "\n")
    spec["scenarios"] = [{"include": bank.name}]
    path.write_text(yaml.safe_dump(spec, sort_keys=False, width=200), encoding="utf-8")
    return [path, bank]


def write_plain(path: Path, tests: int) -> None:
    path.write_text(
        f"import pytest\n\n\n@pytest.mark.parametrize('n', range({tests}))\ndef test_trivial(n):\n    pass\n",
        encoding="utf-8",
    )


@dataclass
class Runs:
    """One side's repetitions: wall seconds and peak RSS (bytes) of each process."""

    seconds: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    last_line: str = ""


def run_once(command: list[str], cwd: Path, runs: Runs) -> None:
    """Run `command` in a fresh process; record its wall time and its own peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if process.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{stdout[-2000:]}{stderr[-2000:]}")
    runs.seconds.append(elapsed)
    runs.rss.append(usage.ru_maxrss * 1024)  # Linux reports kilobytes
    runs.last_line = stdout.strip().splitlines()[-1]


def spread(values: list[float], unit: str = "", scale: float = 1.0, digits: int = 2) -> str:
    """`median (min-max)` of `values`, scaled."""
    low, mid, high = min(values) * scale, statistics.median(values) * scale, max(values) * scale
    return f"{mid:.{digits}f}{unit} ({low:.{digits}f}-{high:.{digits}f})"


def _own_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions (at least 3)")
    parser.add_argument("--layout", choices=["bank", "inline"], default="bank")
    parser.add_argument("--write-to", type=Path, help=argparse.SUPPRESS)  # the child that writes the files
    args = parser.parse_args()
    if args.write_to is not None:
        args.write_to.mkdir()
        (args.write_to / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        write_spec(args.write_to / "bench_spec.yaml", args.scenarios[0], args.layout)
        write_plain(args.write_to / "test_plain.py", args.scenarios[0])
        return
    if args.repeat < 3:
        parser.error("--repeat must be at least 3: one run on a shared machine says little")
    print(f"bench process peak RSS {_own_peak_mb():.0f} MB (a floor under every child's figure)")
    print(f"start: {load()}  ({os.cpu_count()} cores, python {sys.version.split()[0]})")
    base = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    results: dict[int, tuple[Runs, Runs]] = {n: (Runs(), Runs()) for n in args.scenarios}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for n in args.scenarios:  # in a child: see the docstring on ru_maxrss
            folder = root / f"n{n}"
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--write-to",
                    str(folder),
                    "--scenarios",
                    str(n),
                    "--layout",
                    args.layout,
                ],
                check=True,
            )
        for rep in range(args.repeat):
            for n in args.scenarios:
                spec_runs, plain_runs = results[n]
                folder = root / f"n{n}"
                pair = [
                    ([*base, "--spec=bench_spec.yaml"], spec_runs),
                    ([*base, "test_plain.py"], plain_runs),
                ]
                for command, runs in pair if rep % 2 == 0 else reversed(pair):  # alternate who goes first
                    run_once(command, folder, runs)
            print(f"  repetition {rep + 1}/{args.repeat} done: {load()}", flush=True)
    print(f"end: {load()}")
    print(f"layout: {args.layout}; {args.repeat} interleaved repetitions; median (min-max)")
    for n in args.scenarios:
        spec_runs, plain_runs = results[n]
        ratios = [s / p for s, p in zip(spec_runs.seconds, plain_runs.seconds, strict=True)]
        rss_ratios = [s / p for s, p in zip(spec_runs.rss, plain_runs.rss, strict=True)]
        print(f"{n:>7} scenarios")
        print(f"  spec  : {spread(spec_runs.seconds, ' s')}  [{spec_runs.last_line}]")
        print(f"  plain : {spread(plain_runs.seconds, ' s')}  [{plain_runs.last_line}]")
        print(f"  ratio : {spread(ratios, 'x')}  (target <= 2x)")
        print(
            f"  peak RSS spec  : {spread([float(r) for r in spec_runs.rss], ' MB', 1e-6, 0)}, "
            f"{spread([float(r) for r in spec_runs.rss], ' kB/item', 1e-3 / n, 1)}  (target <= 4 kB/item)"
        )
        print(
            f"  peak RSS plain : {spread([float(r) for r in plain_runs.rss], ' MB', 1e-6, 0)}, "
            f"{spread([float(r) for r in plain_runs.rss], ' kB/item', 1e-3 / n, 1)}"
        )
        print(f"  RSS ratio      : {spread(rss_ratios, 'x')}")


if __name__ == "__main__":
    main()
