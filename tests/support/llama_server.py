"""llama.cpp's ``llama-server`` with SmolLM2-135M, a real third-party server for the live tier.

Started through ``.ci/llama-server.sh serve PORT`` (the one place the tested flags are written;
the script execs the server, so the process started here IS the server and is stopped by its
PID), on a free loopback port, ready when ``GET /health`` answers 200. When the server or the
model is not installed the tier fails with the script's message and the command that installs
them: a live tier that skips would let CI go green without ever meeting the server.
"""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.paths import ROOT

SCRIPT = ROOT / ".ci" / "llama-server.sh"
#: The model is ready about 2 s after start on a 2-core machine; a loaded one takes longer.
READY_WITHIN_S = 120.0


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def installed() -> str:
    """The script's ``paths`` output (binary, model); the tier fails, saying how to install, if absent."""
    found = subprocess.run([str(SCRIPT), "paths"], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        pytest.fail(
            f"the live tier needs llama.cpp's llama-server and SmolLM2-135M: {found.stderr.strip()} "
            f"(then run: pytest -m live_llama tests/live)",
            pytrace=False,
        )
    return found.stdout


class LlamaServer:
    """One llama-server process on 127.0.0.1; `stop` ends it by its PID (idempotent)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> LlamaServer:
        installed()
        self.port = free_port()
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                [str(SCRIPT), "serve", str(self.port)], stdout=out, stderr=subprocess.STDOUT
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_WITHIN_S
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                pytest.fail(
                    f"llama-server exited with status {self._process.returncode} before it was ready; "
                    f"its log: {self.log}\n{self._log_tail()}",
                    pytrace=False,
                )
            if self.health() == 200:
                return
            time.sleep(0.2)
        self.stop()
        pytest.fail(
            f"llama-server was not ready within {READY_WITHIN_S:g} s; its log: {self.log}\n"
            + self._log_tail(),
            pytrace=False,
        )

    def health(self) -> int | None:
        """The status of ``GET /health`` (503 while the model loads), None when nothing answers."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/health")
            return connection.getresponse().status
        except OSError:
            return None
        finally:
            connection.close()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)

    def _log_tail(self, lines: int = 20) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])
