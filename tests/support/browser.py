"""Open a page in real headless Chromium and report what a user's browser would complain about.

Speaks the DevTools protocol over a WebSocket (aiohttp) to collect console errors, uncaught
exceptions, browser log errors (CSP violations, failed loads) and every network request,
then evaluates expressions in the loaded page. No test framework code lives here: a test
decides what counts as failure (see `assert_clean`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

INSTALL_HINT = (
    "headless Chromium is needed to test the HTML report; install Debian's package: "
    "apt-get update && apt-get install -y chromium (.ci/run installs it)"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--remote-debugging-port=0",
)


class BrowserMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Viewport:
    """A window size to lay the page out at (CSS pixels), and where to save its screenshot."""

    name: str
    width: int
    height: int = 900
    screenshot: Path | None = None
    #: A CSS selector scrolled to the top of the window before the screenshot (what it shows).
    scroll_to: str | None = None


@dataclass
class PageLoad:
    url: str
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked: dict[str, str] = field(default_factory=dict)  # url -> why the browser refused to load it
    _ids: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    #: Per viewport name: the same expressions, evaluated once the page is laid out at that size.
    at: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        return self.console_errors + self.exceptions + self.log_errors


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissing(INSTALL_HINT)


def open_page(
    path: Path,
    evaluate: dict[str, str] | None = None,
    *,
    actions: Sequence[str] = (),
    viewports: Sequence[Viewport] = (),
    timeout: float = 60,
) -> PageLoad:
    """Load ``path``, run ``actions`` (JS statements), then evaluate each named expression.

    With ``viewports``, the page is then laid out at each size in turn (DevTools'
    ``Emulation.setDeviceMetricsOverride``, as a window that size would), the expressions are
    evaluated again into ``PageLoad.at[name]`` and a PNG screenshot is saved where asked.
    """
    binary = chromium()
    # Chromium's helper processes may still touch the profile as the browser exits.
    with tempfile.TemporaryDirectory(prefix="spec-pytest-chromium-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so every helper process is stopped
        )
        try:
            port = _devtools_port(Path(profile), proc, timeout)
            return asyncio.run(
                _drive(port, path.resolve().as_uri(), evaluate or {}, list(actions), list(viewports), timeout)
            )
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _devtools_port(profile: Path, proc: subprocess.Popen[bytes], timeout: float) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with status {proc.returncode} before DevTools started")
        if marker.is_file():
            text = marker.read_text().split()
            if text:
                return int(text[0])
        time.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


async def _drive(
    port: int,
    url: str,
    evaluate: dict[str, str],
    actions: list[str],
    viewports: list[Viewport],
    timeout: float,
) -> PageLoad:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
        targets = json.load(reply)
    socket_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
    load = PageLoad(url)
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(socket_url, max_msg_size=0) as ws,
    ):
        ids = iter(range(1, 1_000_000))
        replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        loaded = asyncio.get_running_loop().create_future()

        async def listen() -> None:
            async for message in ws:
                data = json.loads(message.data)
                if "id" in data and data["id"] in replies:
                    replies.pop(data["id"]).set_result(data)
                    continue
                _event(load, data.get("method"), data.get("params", {}), loaded)

        async def call(method: str, **params: Any) -> dict[str, Any]:
            number = next(ids)
            replies[number] = asyncio.get_running_loop().create_future()
            await ws.send_str(json.dumps({"id": number, "method": method, "params": params}))
            reply = await asyncio.wait_for(replies[number], timeout)
            if "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            return reply.get("result", {})

        listener = asyncio.create_task(listen())
        for domain in ("Page", "Runtime", "Log", "Network"):
            await call(f"{domain}.enable")
        await call("Page.navigate", url=url)
        await asyncio.wait_for(loaded, timeout)
        for statement in actions:
            await call("Runtime.evaluate", expression=statement, awaitPromise=True)
        await asyncio.sleep(0.3)  # late errors (timers, deferred loads) still count

        async def values() -> dict[str, Any]:
            found = {}
            for name, expression in evaluate.items():
                result = await call("Runtime.evaluate", expression=expression, returnByValue=True)
                if "exceptionDetails" in result:
                    raise RuntimeError(f"evaluating {name}: {result['exceptionDetails'].get('text')}")
                found[name] = result["result"].get("value")
            return found

        load.values = await values()
        for view in viewports:
            await call(
                "Emulation.setDeviceMetricsOverride",
                width=view.width,
                height=view.height,
                deviceScaleFactor=1,
                mobile=False,
            )
            await asyncio.sleep(0.2)  # let the layout settle at the new size
            load.at[view.name] = await values()
            if view.scroll_to is not None:
                scroll = f"document.querySelector({json.dumps(view.scroll_to)}).scrollIntoView()"
                await call("Runtime.evaluate", expression=scroll)
                await asyncio.sleep(0.1)
            if view.screenshot is not None:
                shot = await call("Page.captureScreenshot", format="png")
                view.screenshot.write_bytes(base64.b64decode(shot["data"]))
        listener.cancel()
    return load


def _event(load: PageLoad, method: str | None, params: dict[str, Any], loaded: asyncio.Future[None]) -> None:
    if method == "Page.loadEventFired" and not loaded.done():
        loaded.set_result(None)
    elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        load.console_errors.append(
            " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
        )
    elif method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        load.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
    elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        load.log_errors.append(params["entry"].get("text", ""))
    elif method == "Network.requestWillBeSent":
        load.requests.append(params["request"]["url"])
        load._ids[params["requestId"]] = params["request"]["url"]
    elif method == "Network.loadingFailed" and params.get("blockedReason"):
        load.blocked[load._ids.get(params["requestId"], "?")] = params["blockedReason"]


def assert_clean(load: PageLoad) -> None:
    """Fail on anything a user would see in the console, and on any request but the page itself."""
    assert not load.problems, f"{load.url} logged errors in Chromium: {load.problems}"
    others = [u for u in load.requests if u != load.url]
    assert not others, f"{load.url} made network requests: {others}"


#: Opens every ``<details>`` on the page, as a reader clicking each would: the report's script
#: draws a scenario's conversation and answers (and a folded gate table's rows) only then.
OPEN_ALL = "document.querySelectorAll('details').forEach(d => d.open = true)"


def rendered(path: Path) -> tuple[PageLoad, str]:
    """The page as a reader sees it once everything is opened: the load, and the DOM's markup
    after the page's scripts drew it (`OPEN_ALL`), to search for what is shown."""
    load = open_page(path, {"dom": "document.documentElement.outerHTML"}, actions=[OPEN_ALL])
    return load, load.values["dom"]
