"""The fake LLM API the benchmarks run against: the peers' own server, started as a process.

Using the server the peer tools were measured on (../shared/bench/peers/server.py) keeps our
figures comparable with theirs and keeps bench/ independent of the test tree: nothing here
imports `tests/`. The server fills structured-output schemas from the schema itself, so our
judges' answers validate; its /stats and /reset endpoints give the figures.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEERS_SERVER = ROOT.parent / "shared" / "bench" / "peers" / "server.py"


def dummy_key() -> str:
    """A key for the loopback API, made at run time: key-shaped (so the scrubbers treat it as a
    key and a leak of it is caught), never a literal in the source, new for every run."""
    return "-".join(("sk", "bench", secrets.token_hex(12)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_fake_api(
    script: Path = PEERS_SERVER, latency: float = 0.0
) -> tuple[subprocess.Popen[str], int, Callable[[], dict[str, Any]]]:
    """Start ``script`` on a free loopback port; returns the process, the port and a stats reader
    (requests, judge requests, API span, most in flight since the last call)."""
    if not script.is_file():
        raise SystemExit(f"{script}: no such file; pass --server PATH to the peers' server.py")
    port = free_port()
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
                raise SystemExit(f"the fake API {script} did not start") from None
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
