"""Benchmark: what the installed plugin adds to a pytest run that names no spec.

Every pytest run in an environment where spec-pytest is installed imports its entry point,
so a project that merely has it installed pays this on each run. Runs a one-test module in
fresh processes, alternating with and without the plugin (``-p no:spec_pytest``), and prints
min / median / max of each and the difference of the medians, with the machine's load. A
whole pytest start-up varies by tenths of a second from run to run, more than the plugin
costs, so it also times what the plugin adds directly: importing its entry point in a fresh
interpreter that has imported pytest already (what pytest does for each installed plugin).
Target: <= 0.05 s. Run: `python bench/startup.py [--repeat 9]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _once(where: Path, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_one.py", *extra],
        cwd=where,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


_IMPORT = (
    "import time, pytest\n"
    "started = time.perf_counter()\n"
    "import spec_pytest.pytest.entry\n"
    "print(time.perf_counter() - started)\n"
)


def _import_once() -> float:
    done = subprocess.run([sys.executable, "-c", _IMPORT], check=True, capture_output=True, text=True)
    return float(done.stdout)


def _line(name: str, times: list[float]) -> str:
    low, mid, high = min(times), statistics.median(times), max(times)
    return f"{name:>24}: min {low:.3f} s, median {mid:.3f} s, max {high:.3f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs of each configuration (default 9)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        (where / "test_one.py").write_text("def test_one():\n    pass\n", encoding="utf-8")
        (where / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        _once(where)  # warm the file cache
        with_plugin, without = [], []
        for _ in range(args.repeat):  # interleaved, so drift hits both alike
            with_plugin.append(_once(where))
            without.append(_once(where, "-p", "no:spec_pytest"))
        imports = [_import_once() for _ in range(args.repeat)]
    load = os.getloadavg()[0]
    print(_line("pytest with spec-pytest", with_plugin))
    print(_line("pytest without", without))
    print(_line("importing the entry point", imports))
    added = statistics.median(with_plugin) - statistics.median(without)
    print(f"difference of the medians: {added:+.3f} s (start-up noise is larger than this)")
    print(
        f"the plugin's import (median): {statistics.median(imports):.3f} s; target <= 0.050 s; "
        f"load {load:.2f}; {args.repeat} runs each"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
