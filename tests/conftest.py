"""The project's own test glue: a fake LLM API on loopback, a planted key to hunt for, and the
end-to-end project fixture.

Tests use the real SDKs and the real spec_pytest code against the loopback server; nothing
above the socket is stubbed. The server (and so aiohttp) is imported only by the fixtures that
start it, so a test that needs no server does not pay for it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpcore2  # noqa: F401  (see below)
import pytest

import spec_pytest.pytest.fanout  # (see below)
import spec_pytest.pytest.plugin  # noqa: F401  (see below)
from spec_pytest.providers import Registry

# httpx2 imports httpcore2 lazily, on its first request, and maps httpcore2's exceptions by
# class. pytester's in-process runs restore sys.modules afterwards: a first import made inside
# one is dropped, the next request imports a second copy whose exceptions httpx2 no longer maps
# (a refused connection then escapes the SDKs as a raw httpcore2.ConnectError). Importing it here,
# before any pytester run, keeps one copy for the whole session. The same holds for the plugin
# proper: a run without specs (this suite's own) never imports it, so the first pytester run
# would, and the next would get fresh copies of its modules (and their stash keys) mixed with
# the ones tests import.

if TYPE_CHECKING:
    from tests.support.loopback import LoopbackServer


@pytest.fixture(autouse=True)
def developer_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts as on a developer machine (record mode once by default), whatever the
    machine running the suite says; tests of CI behaviour set ``CI`` themselves."""
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A fresh fake OpenAI + Anthropic API on an ephemeral 127.0.0.1 port, stopped afterwards."""
    from tests.support.loopback import LoopbackServer  # deferred: aiohttp, only where a server runs

    server = LoopbackServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def planted_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fake key, built at run time (never a literal), set in LOOPBACK_KEY_ENV."""
    from tests.support.loopback import LOOPBACK_KEY_ENV  # deferred with the server

    key = "sk-" + "test" + secrets.token_hex(20)
    monkeypatch.setenv(LOOPBACK_KEY_ENV, key)
    return key


@pytest.fixture
def loopback_registry(loopback: LoopbackServer, planted_key: str) -> Iterator[Registry]:
    """Endpoints ``openai``, ``anthropic`` and an OpenAI-compatible ``compat``, all on the loopback."""
    from tests.support.loopback import LOOPBACK_KEY_ENV  # deferred with the server

    registry = Registry()
    registry.declare("openai", base_url=loopback.openai_base_url, key_env=LOOPBACK_KEY_ENV)
    registry.declare("anthropic", base_url=loopback.anthropic_base_url, key_env=LOOPBACK_KEY_ENV)
    registry.declare("compat", base_url=loopback.openai_base_url, key_env=LOOPBACK_KEY_ENV)
    try:
        yield registry
    finally:
        registry.close()


@pytest.fixture
def project(pytester: pytest.Pytester, loopback: LoopbackServer, planted_key: str) -> pytest.Pytester:
    """A pytester directory holding the end-to-end spec, its endpoints on ``loopback``."""
    from tests.support import e2e_support  # deferred with the server it scripts

    return e2e_support.project(pytester, loopback, planted_key)
