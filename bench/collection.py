"""Benchmark: collecting a generated 10,000-scenario spec vs 10,000 parametrized trivial tests.

Prints both wall times (best of --repeat runs of `pytest --collect-only -q`, each in a fresh
process, so start-up counts for both) and their ratio. Target: spec under 3 s and under 2x
the plain module. Run: `python bench/collection.py [--scenarios 10000] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

VALUES = [f"value_{i}" for i in range(40)]


def write_spec(path: Path, scenarios: int) -> None:
    """A spec shaped like a real one: 20 principles, 40 values, 20 conflicts, N scenarios."""
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
    nudges = ["neutral", "first", "second"]
    rows = []
    for n in range(scenarios):
        conflict = conflicts[n % 20]
        nudge = nudges[n % 3]
        rows.append(
            {
                "id": f"gen-{n:05d}",
                "conflict": conflict["id"],
                "nudge": {"first": conflict["values"][0], "second": conflict["values"][1]}.get(nudge, nudge),
                "messages": [
                    {"role": "user", "content": f"Scenario {n}: please help me decide between two options."}
                ],
            }
        )
    spec = {
        "spec": "bench",
        "version": "1",
        "levels": ["root", "system", "user"],
        "defaults": {"models": ["openai:gpt-4.1"]},
        "principles": principles,
        "values": {v: f"Description of {v}." for v in VALUES},
        "conflicts": conflicts,
        "scenarios": rows,
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False, width=200), encoding="utf-8")


def write_plain(path: Path, tests: int) -> None:
    path.write_text(
        f"import pytest\n\n\n@pytest.mark.parametrize('n', range({tests}))\ndef test_trivial(n):\n    pass\n",
        encoding="utf-8",
    )


def best_time(command: list[str], cwd: Path, repeat: int) -> tuple[float, str]:
    best = float("inf")
    last = ""
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
        best = min(best, time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(f"failed: {' '.join(command)}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        last = done.stdout.strip().splitlines()[-1]
    return best, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        write_spec(root / "bench_spec.yaml", args.scenarios)
        write_plain(root / "test_plain.py", args.scenarios)
        base = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        spec_s, spec_line = best_time([*base, "--spec=bench_spec.yaml"], root, args.repeat)
        plain_s, plain_line = best_time([*base, "test_plain.py"], root, args.repeat)
    print(f"spec file, {args.scenarios} scenarios : {spec_s:6.2f} s  ({spec_line})")
    print(f"plain module, {args.scenarios} params  : {plain_s:6.2f} s  ({plain_line})")
    print(f"ratio spec / plain               : {spec_s / plain_s:6.2f}x  (target < 2x and spec < 3 s)")


if __name__ == "__main__":
    main()
