"""The outer bounds of a call, over the real SDKs and a hostile loopback server.

A trickling server (each read quick, the answer never done) meets the overall deadline; a
huge answer meets the size cap; a web page or a JSON body of another shape with status 200
is an error that shows what arrived, never an AttributeError from deep in the parsing.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from spec_pytest.errors import ConfigError
from spec_pytest.providers import ProviderError, ProviderSettings, Registry
from spec_pytest.providers.bounds import BodyMeter, BodyTooLarge, Bounds
from spec_pytest.spec.model import Message
from tests.support.loopback import LoopbackServer, answer, html, raw_json, trickle

ASK = (Message("user", "Is the water safe to drink?"),)
MODELS = ["openai:gpt-4.1", "anthropic:claude-x"]
NO_RETRY = ProviderSettings(max_retries=0, timeout_s=5.0)  # each read of a trickle takes 0.3 s


def ask(registry: Registry, model: str, mode: str) -> object:
    provider = registry.provider(model, NO_RETRY)
    if mode == "sync":
        return provider.respond_sync(ASK)
    return asyncio.run(provider.respond(ASK))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("model", MODELS)
def test_a_trickling_server_meets_the_overall_deadline(
    loopback_registry: Registry, loopback: LoopbackServer, model: str, mode: str
) -> None:
    loopback_registry.bounds = Bounds(deadline_s=1.0)
    loopback.enqueue(answer("warm"), trickle(0.3, b" " * 100))  # then 30 s in all, 0.3 s per read
    ask(loopback_registry, model, mode)  # the SDK's imports are not what is timed
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"request deadline of 1 s.*--request-timeout") as caught:
        ask(loopback_registry, model, mode)
    assert time.monotonic() - started < 4.0
    assert "spec_timeout" in str(caught.value)


def test_an_endpoint_timeout_overrides_the_runs_deadline(
    loopback_registry: Registry, loopback: LoopbackServer
) -> None:
    loopback_registry.declare(
        "slow", base_url=loopback.openai_base_url, key_env=None, key_required=False, timeout_s=0.5
    )
    loopback.enqueue(trickle(0.3, b" " * 100))
    with pytest.raises(ProviderError, match=r"deadline of 0\.5 s"):
        ask(loopback_registry, "slow:m", "sync")
    loopback.enqueue(answer("in time"))  # the client closed at the deadline is replaced
    assert ask(loopback_registry, "slow:m", "sync").text == "in time"  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_endpoint_timeout_gives_a_slow_server_the_time_it_needs(
    loopback_registry: Registry, loopback: LoopbackServer, mode: str
) -> None:
    """A local model that answers after longer than the SDK's timeout, on an endpoint whose
    ``timeout:`` allows it: the answer arrives (not a timeout, nor a retry)."""
    quick_sdk = ProviderSettings(max_retries=0, timeout_s=0.3)
    loopback_registry.declare("slow", base_url=loopback.openai_base_url, key_env=None, timeout_s=5.0)
    loopback_registry.declare("brisk", base_url=loopback.openai_base_url, key_env=None)
    loopback.always(answer("worth the wait", delay=1.0))

    def call(model: str) -> object:
        provider = loopback_registry.provider(model, quick_sdk)
        if mode == "sync":
            return provider.respond_sync(ASK)

        async def respond_and_close() -> object:  # the client closed on its own loop
            try:
                return await provider.respond(ASK)
            finally:
                await loopback_registry.aclose()

        return asyncio.run(respond_and_close())

    assert call("slow:m").text == "worth the wait"  # type: ignore[attr-defined]
    with pytest.raises(ProviderError, match=r"timed out after 0\.3 s"):  # without it: the SDK's
        call("brisk:m")


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("model", MODELS)
def test_an_answer_over_the_size_cap_is_an_error_naming_the_cap(
    loopback_registry: Registry, loopback: LoopbackServer, model: str, mode: str
) -> None:
    loopback_registry.bounds = Bounds(max_answer_chars=1000)
    loopback.enqueue(answer("x" * 5000), answer("y" * 1000))
    with pytest.raises(ProviderError, match=r"5,000 characters, over the cap of 1,000.*--max-answer-chars"):
        ask(loopback_registry, model, mode)
    assert ask(loopback_registry, model, mode).text == "y" * 1000  # type: ignore[attr-defined]


def test_the_default_cap_refuses_a_hundred_megabytes(
    loopback_registry: Registry, loopback: LoopbackServer
) -> None:
    assert Bounds().max_answer_chars <= 1_000_000
    loopback.enqueue(answer("z" * 2_000_000))
    with pytest.raises(ProviderError, match="over the cap of 1,000,000"):
        ask(loopback_registry, "openai:gpt-4.1", "sync")


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("model", MODELS)
def test_a_web_page_with_status_200_says_what_arrived(
    loopback_registry: Registry, loopback: LoopbackServer, planted_key: str, model: str, mode: str
) -> None:
    page = f"<!DOCTYPE html><html><body>Sign in ({planted_key}) {'filler ' * 200}</body></html>"
    loopback.enqueue(html(page))
    with pytest.raises(ProviderError, match="a body that is not JSON") as caught:
        ask(loopback_registry, model, mode)
    message = str(caught.value)
    assert "<!DOCTYPE html><html><body>Sign in" in message and "..." in message
    assert planted_key not in message and "<SPEC_PYTEST_LOOPBACK_API_KEY>" in message
    assert len(message) < 600  # the first ~200 characters, not the page
    assert "/v1" in message or "127.0.0.1" in message  # the endpoint to check


SHAPE_FIELDS = [("openai:gpt-4.1", "choices"), ("anthropic:claude-x", "content")]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(("model", "field"), SHAPE_FIELDS)
def test_json_of_another_shape_says_what_arrived(
    loopback_registry: Registry, loopback: LoopbackServer, model: str, field: str, mode: str
) -> None:
    loopback.enqueue(raw_json({"status": "queued", "detail": "try later"}))
    with pytest.raises(ProviderError, match=rf"JSON without {field}.*queued") as caught:
        ask(loopback_registry, model, mode)
    assert not isinstance(caught.value.__cause__, AttributeError)


@pytest.mark.parametrize("bad", [{"deadline_s": 0}, {"deadline_s": float("nan")}, {"max_answer_chars": 0}])
def test_bounds_refuse_values_that_would_disable_them(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Bounds(**bad)  # type: ignore[arg-type]


def _config(tmp_path: Path, values: dict[str, object], ini: dict[str, str]) -> Bounds:
    from spec_pytest.config.build import build_config
    from spec_pytest.config.table import INI_KEYS

    defaults = {k.name: k.default for k in INI_KEYS}
    return build_config(values, lambda name: ini.get(name, defaults[name]), tmp_path, tmp_path).bounds


def test_the_ini_keys_and_the_options_set_the_bounds(tmp_path: Path) -> None:
    assert _config(tmp_path, {}, {}) == Bounds()
    ini = {"spec_timeout": "45", "spec_max_answer_chars": "2000"}
    assert _config(tmp_path, {}, ini) == Bounds(deadline_s=45.0, max_answer_chars=2000)
    options = {"spec_request_timeout": 5.0, "spec_max_answer_chars": 10}
    assert _config(tmp_path, options, ini) == Bounds(deadline_s=5.0, max_answer_chars=10)  # options win


@pytest.mark.parametrize(
    ("values", "ini", "message"),
    [
        ({}, {"spec_timeout": "soon"}, "ini spec_timeout = 'soon': expected a number"),
        ({}, {"spec_max_answer_chars": "1e3x"}, "ini spec_max_answer_chars"),
        ({"spec_request_timeout": -1.0}, {}, "--request-timeout / ini spec_timeout: a request deadline"),
        ({"spec_max_answer_chars": 0}, {}, "--max-answer-chars / ini spec_max_answer_chars"),
    ],
)
def test_bad_bound_values_are_config_errors(
    tmp_path: Path, values: dict[str, object], ini: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        _config(tmp_path, values, ini)


@pytest.mark.parametrize(
    "encoding, compress",
    [("gzip", gzip.compress), ("deflate", zlib.compress), (None, lambda data: data)],
)
def test_the_body_meter_stops_at_the_first_chunk_past_the_cap(encoding: str | None, compress: Any) -> None:
    wire = compress(b"x" * 50_000)
    meter = BodyMeter(10_000, encoding)
    chunks = [wire[i : i + 512] for i in range(0, len(wire), 512)]
    with pytest.raises(BodyTooLarge, match="passed 10,000 bytes"):
        for chunk in chunks:
            meter.feed(chunk)
    assert meter.inflated <= 10_000 + 10_001  # never inflated much beyond the cap
    small = BodyMeter(10_000, encoding)
    small.feed(compress(b"x" * 9_000))  # under the cap: passes
    liar = BodyMeter(10, "gzip")  # a body that is not what its header says: counted raw from then on
    liar.feed(b"not gzip")  # no error here: the SDK's own decoding says what is wrong
    with pytest.raises(BodyTooLarge, match="answer's body passed 10 bytes"):
        liar.feed(b" at all")
