"""Benchmark: a live run fanned out against the loopback API, as wall time / floor.

The peers' workload (../shared/bench/peers): N cases, each one answer call then one judge
call on that answer, every request taking LATENCY s on a loopback fake API, concurrency C.
Floor = ceil(N / C) x 2 x LATENCY (N=200, C=16, 0.5 s: 13 s). The API server is
the peers' own fake API (`../shared/bench/peers/server.py`, `bench/fakeapi.py` starts it) in its
own process, answering every request after LATENCY s; it fills structured-output judge schemas
from the schema, so this project's judges get valid answers. Both calls go to one endpoint,
so C bounds them together, as for the peers.

Wall time is the whole `pytest --spec=... --concurrency C` command, process start to exit,
in a fresh cassette directory (everything recorded live), as a user sees it. Also printed:
the API span the server saw (first request in to last answer out), the most requests it
had in flight, and the outcome counts pytest reported. Optionally the same under -n 2.
Run: `python bench/live.py [--n 200] [--latency 0.5] [--concurrency 16] [--reps 2] [--xdist]`.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fakeapi import PEERS_SERVER, dummy_key, start_fake_api  # bench/ is the script's directory

ROOT = Path(__file__).resolve().parents[1]
KEY_ENV = "SPEC_PYTEST_BENCH_API_KEY"


SPEC_HEAD = """\
spec: bench-live
levels: [root, user]
defaults: {{models: [openai:bench-model], judges: [openai:bench-judge], samples: 1}}
endpoints:
  openai: {{base_url: "{base_url}", key_env: {key_env}{concurrency}}}
principles:
  - {{id: be_brief, level: user, text: Answer in one short sentence.}}
values:
  brevity: Short answers.
  completeness: Complete answers.
conflicts:
  - id: capitals
    values: [brevity, completeness]
    principles: [be_brief]
    expect:
      compliance: compliant
      because: [{{principle: be_brief, quote: one short sentence}}]
scenarios:
"""


def write_spec(path: Path, n: int, base_url: str, concurrency: int) -> None:
    budget = f", max_concurrency: {concurrency}" if concurrency else ""  # 0: the endpoint's default
    lines = [SPEC_HEAD.format(base_url=base_url, key_env=KEY_ENV, concurrency=budget)]
    for i in range(n):
        lines.append(
            f'  - {{id: case-{i:04d}, conflict: capitals, messages: [{{role: user, content: "Case {i:04d}. '
            f'In one short sentence, what is the capital of Peru?"}}]}}\n'
        )
    path.write_text("".join(lines), encoding="utf-8")


def one_run(work: Path, concurrency: int, extra: list[str], env: dict[str, str]) -> tuple[float, str]:
    cassettes = work / "cassettes"
    if cassettes.exists():
        subprocess.run(["rm", "-rf", str(cassettes)], check=True)
    argv = [sys.executable, "-m", "pytest", "--spec=bench.yaml", "-q", "-p", "no:cacheprovider"]
    if concurrency:  # 0: no option, the defaults a user gets
        argv.append(f"--concurrency={concurrency}")
    argv += extra  # record mode: once (CI is unset)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
    return wall, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="requests in flight (0: no option and no max_concurrency, the defaults; the floor "
        "is then the one at 16, the peers' reference)",
    )
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--xdist", action="store_true", help="also run under -n 2")
    parser.add_argument(
        "--server",
        type=Path,
        default=PEERS_SERVER,
        metavar="SERVER_PY",
        help="the fake API to run against (default: the peers' own, %(default)s: the same server "
        "and workload the peer tools were measured on)",
    )
    args = parser.parse_args()
    server, port, stats = start_fake_api(args.server, args.latency)

    floor = math.ceil(args.n / (args.concurrency or 16)) * 2 * args.latency
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env[KEY_ENV] = dummy_key()
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # measure spec-pytest, not whatever else is installed
    plugins = ["-p", "spec_pytest.pytest.entry", "-p", "xdist"]  # the plugin's xdist hook needs xdist loaded
    configs = [("spec-pytest", plugins)]
    if args.xdist:
        configs.append(("spec-pytest -n 2", [*plugins, "-n", "2"]))
    said = args.concurrency or "the defaults (floor at 16)"
    load = os.getloadavg()[0]
    print(f"N={args.n} latency={args.latency} s concurrency={said}: floor {floor:.1f} s, load {load:.1f}")
    try:
        with tempfile.TemporaryDirectory(prefix="spec-pytest-bench-live-") as tmp:
            work = Path(tmp)
            (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
            write_spec(work / "bench.yaml", args.n, f"http://127.0.0.1:{port}/v1", args.concurrency)
            for name, extra in configs:
                one_run(work, args.concurrency, extra, env)  # warm-up: bytecode, page cache
                stats()
                walls = []
                for rep in range(args.reps):
                    wall, summary = one_run(work, args.concurrency, extra, env)
                    seen = stats()
                    walls.append(wall)
                    print(
                        f"  {name} rep {rep + 1}: wall {wall:.2f} s ({wall / floor:.2f}x floor), "
                        f"API span {seen['span']:.2f} s, {seen['requests']} requests "
                        f"({seen['judge']} judge), max in flight {seen['max_in_flight']}; {summary}"
                    )
                median = statistics.median(walls)
                passed = re.findall(r"(\d+) passed", summary)
                print(
                    f"{name}: median wall {median:.2f} s = {median / floor:.2f}x floor "
                    f"(target <= 1.2x; peers at C=16: promptfoo 1.46x, inspect_ai default 1.42x, "
                    f"deepeval shared client 1.43x); passed {passed[0] if passed else '?'}"
                )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
