"""The project's own test glue: a fake LLM API on loopback, and a planted key to hunt for.

Tests use the real SDKs and the real spec_pytest code against `loopback`; nothing above
the socket is stubbed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from spec_pytest.providers import Registry
from tests.loopback import LOOPBACK_KEY_ENV, LoopbackServer


@pytest.fixture(autouse=True)
def developer_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts as on a developer machine (record mode once by default), whatever the
    machine running the suite says; tests of CI behaviour set ``CI`` themselves."""
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A fresh fake OpenAI + Anthropic API on an ephemeral 127.0.0.1 port, stopped afterwards."""
    server = LoopbackServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def planted_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fake key, built at run time (never a literal), set in LOOPBACK_KEY_ENV."""
    key = "sk-" + "test" + secrets.token_hex(20)
    monkeypatch.setenv(LOOPBACK_KEY_ENV, key)
    return key


@pytest.fixture
def loopback_registry(loopback: LoopbackServer, planted_key: str) -> Iterator[Registry]:
    """Endpoints ``openai``, ``anthropic`` and an OpenAI-compatible ``compat``, all on the loopback."""
    registry = Registry()
    registry.declare("openai", base_url=loopback.openai_base_url, key_env=LOOPBACK_KEY_ENV)
    registry.declare("anthropic", base_url=loopback.anthropic_base_url, key_env=LOOPBACK_KEY_ENV)
    registry.declare("compat", base_url=loopback.openai_base_url, key_env=LOOPBACK_KEY_ENV)
    try:
        yield registry
    finally:
        registry.close()
