"""Benchmark: a live run fanned out against the loopback API, as wall time / floor.

The peers' workload (../shared/bench/peers): N cases, each one answer call then one judge
call on that answer, every request taking LATENCY s on a loopback fake API, concurrency C.
Floor = ceil(N / C) x 2 x LATENCY (N=200, C=16, 0.5 s: 13 s). The API server is
`tests/support/loopback/server.py` in its own process (like the peers' server.py; ours speaks the
structured-output judge schema this project sends), answering every request after
LATENCY s. Both calls go to one endpoint, so C bounds them together, as for the peers.

Wall time is the whole `pytest --spec=... --concurrency C` command, process start to exit,
in a fresh cassette directory (everything recorded live), as a user sees it. Also printed:
the API span the server saw (first request in to last answer out), the most requests it
had in flight, and the outcome counts pytest reported. Optionally the same under -n 2.
Run: `python bench/live.py [--n 200] [--latency 0.5] [--concurrency 16] [--reps 2] [--xdist]`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEY_ENV = "SPEC_PYTEST_LOOPBACK_API_KEY"


def serve(latency: float) -> None:
    """Child process: the loopback API with a fixed latency; 'stats' on stdin prints and resets."""
    sys.path.insert(0, str(ROOT))
    from tests.support.loopback import LoopbackServer, Reply

    server = LoopbackServer().start()
    server.always(Reply(delay=latency))
    print(json.dumps({"port": server.port}), flush=True)
    seen = 0
    for line in sys.stdin:
        if line.strip() != "stats":
            continue
        requests = server.requests[seen:]
        seen += len(requests)
        arrivals = [r.at for r in requests]
        judged = sum(1 for r in requests if isinstance(r.body, dict) and "response_format" in r.body)
        stats = {
            "requests": len(requests),
            "judge": judged,
            "span": (max(arrivals) - min(arrivals) + latency) if arrivals else 0.0,
            "max_in_flight": server.max_in_flight,
        }
        server.max_in_flight = 0
        print(json.dumps(stats), flush=True)
    server.stop()


SPEC_HEAD = """\
spec: bench-live
levels: [root, user]
defaults: {{models: [openai:bench-model], judges: [openai:bench-judge], samples: 1}}
endpoints:
  openai: {{base_url: "{base_url}", key_env: {key_env}, max_concurrency: {concurrency}}}
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
    lines = [SPEC_HEAD.format(base_url=base_url, key_env=KEY_ENV, concurrency=concurrency)]
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
    argv += [f"--concurrency={concurrency}", *extra]  # record mode: once (CI is unset)
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
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--xdist", action="store_true", help="also run under -n 2")
    parser.add_argument(
        "--peers-server",
        type=Path,
        default=None,
        metavar="SERVER_PY",
        help="run against the peers' own fake API (../shared/bench/peers/server.py) instead of ours: "
        "the same server and workload the peer tools were measured on",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.latency)
        return
    if args.peers_server is not None:
        server, port, stats = start_peers_server(args.peers_server, args.latency)
    else:
        server, port, stats = start_our_server(args.latency)

    floor = math.ceil(args.n / args.concurrency) * 2 * args.latency
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env[KEY_ENV] = "sk-bench-loopback-key-0000"
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # measure spec-pytest, not whatever else is installed
    plugins = ["-p", "spec_pytest.pytest.plugin", "-p", "xdist"]  # the plugin's xdist hook needs xdist loaded
    configs = [("spec-pytest", plugins)]
    if args.xdist:
        configs.append(("spec-pytest -n 2", [*plugins, "-n", "2"]))
    print(f"N={args.n} latency={args.latency} s concurrency={args.concurrency}: floor {floor:.1f} s")
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
        if server.stdin is not None:
            server.stdin.close()
        server.terminate()
        server.wait(timeout=10)


def start_our_server(latency: float) -> tuple[subprocess.Popen[str], int, Callable[[], dict[str, Any]]]:
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--latency", str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    port = json.loads(server.stdout.readline())["port"]

    def stats() -> dict[str, Any]:
        server.stdin.write("stats\n")  # type: ignore[union-attr]
        server.stdin.flush()  # type: ignore[union-attr]
        return json.loads(server.stdout.readline())  # type: ignore[union-attr]

    return server, port, stats


def start_peers_server(
    script: Path, latency: float
) -> tuple[subprocess.Popen[str], int, Callable[[], dict[str, Any]]]:
    """The peers' server.py on a free loopback port; its /stats and /reset give the figures."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, str(script), "--port", str(port), "--latency", str(latency)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"{base}/stats", timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"the peers' server {script} did not start") from None
            time.sleep(0.1)

    def stats() -> dict[str, Any]:
        snapshot = json.loads(urllib.request.urlopen(f"{base}/stats", timeout=5).read())
        urllib.request.urlopen(urllib.request.Request(f"{base}/reset", method="POST"), timeout=5).read()
        kinds = snapshot.get("by_kind", {})
        return {
            "requests": snapshot["requests"],
            "judge": sum(n for kind, n in kinds.items() if kind != "answer"),
            "span": snapshot["active_span_s"],
            "max_in_flight": snapshot["max_inflight"],
        }

    return server, port, stats


if __name__ == "__main__":
    main()
