"""Cassettes with the real SDKs and vcrpy: record, replay offline, refuse to lie, leak nothing."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anthropic
import openai
import pytest
from vcr.request import Request

from spec_pytest.core.response import Response
from spec_pytest.providers import ModelParams, ProviderError, ProviderSettings, Registry
from spec_pytest.recording.cassettes import (
    AtomicPersister,
    CorruptCassetteError,
    EndpointSite,
    JsonSerializer,
    MissingCassetteError,
    RecordMode,
    SecretLeakError,
    StaleCassetteError,
    cassette_path,
    detached_cassette,
    rebased,
    resolve_record_mode,
    safe_component,
    use_cassette,
    will_replay,
)
from spec_pytest.spec.model import Message
from tests.support.loopback import LOOPBACK_KEY_ENV, LoopbackServer, answer, error, truncated
from tests.support.paths import ROOT

ASK = (Message("user", "Should a charity accept money from a tobacco firm?"),)
MODELS = ["openai:gpt-4.1", "anthropic:claude-x"]
QUICK_RETRY = {"retry-after-ms": "10"}
#: What must never reach a cassette: auth headers and what identifies the account.
ACCOUNT_TRACES = ("authorization", "org-loopback-account", "proj_loopback", "loopback-org", "set-cookie")
HINT = "pytest --spec=suite.yaml --record-mode=rewrite -k 'charity'"

# -- proof that replay opens no socket: every connect() in this process is audited --------
_connects: list[object] | None = None


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "socket.connect" and _connects is not None:
        _connects.append(args[1])


sys.addaudithook(_audit)


@contextmanager
def no_socket_connects() -> Iterator[list[object]]:
    global _connects
    _connects = seen = []
    try:
        yield seen
    finally:
        _connects = None


def _replay_registry(server: LoopbackServer) -> Registry:
    """A registry pointing where the recording went, for a run without any key (like CI)."""
    registry = Registry(environ={})
    registry.declare("openai", base_url=server.openai_base_url, key_env=LOOPBACK_KEY_ENV)
    registry.declare("anthropic", base_url=server.anthropic_base_url, key_env=LOOPBACK_KEY_ENV)
    return registry


def _record(
    path: Path, registry: Registry, model: str, params: ModelParams | None = None, mode: str = "once"
) -> Response:
    with use_cassette(path, mode, secret_env_vars=registry.key_env_vars()):
        return asyncio.run(registry.provider(model).respond(ASK, params))


def _interactions(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["interactions"]


# ------------------------------------------------------------------------- naming and modes


def test_cassette_path_is_built_from_ids_only(tmp_path: Path) -> None:
    path = cassette_path(tmp_path, "openai-modelspec", "openai:gpt-4.1", "saas-tiers", 2)
    assert path == tmp_path / "openai-modelspec" / "openai" / "gpt-4.1" / "saas-tiers.s2.json"
    assert cassette_path(tmp_path, "s", "openai:gpt-4.1", "saas-tiers", 2) == cassette_path(
        tmp_path, "s", "openai:gpt-4.1", "saas-tiers", 2
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [("a/b", "a_b"), ("Saas", "saas"), ("x:y", "x_y"), ("CON", "con"), ("a" * 200, "a" * 201)],
)
def test_unsafe_ids_get_safe_names_that_never_collide(one: str, other: str) -> None:
    a, b = safe_component(one), safe_component(other)
    assert a != b
    for name in (a, b):
        assert len(name) <= 80 and "/" not in name and ":" not in name and not name.endswith(".")


def test_openrouter_style_model_names_stay_one_directory(tmp_path: Path) -> None:
    path = cassette_path(tmp_path, "suite", "openrouter:meta-llama/llama-3-70b", "case", 0)
    assert path.parent.parent == tmp_path / "suite" / "openrouter"
    assert path.parent.name.startswith("meta-llama_llama-3-70b-")


def test_record_mode_defaults_to_none_in_ci_and_once_elsewhere() -> None:
    assert resolve_record_mode(None, {}) is RecordMode.ONCE
    assert resolve_record_mode(None, {"CI": "true"}) is RecordMode.NONE
    assert resolve_record_mode(None, {"CI": "false"}) is RecordMode.ONCE
    assert resolve_record_mode("rewrite", {"CI": "1"}) is RecordMode.REWRITE  # explicit wins
    with pytest.raises(ValueError, match="none, once, new_episodes, all, rewrite"):
        resolve_record_mode("replay", {})


# ------------------------------------------------------------------------- record / replay


@pytest.mark.parametrize("model", MODELS)
def test_replay_needs_no_server_no_key_and_no_socket(
    model: str, tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    path = cassette_path(tmp_path, "suite", model, "charity")
    recorded = _record(path, loopback_registry, model, ModelParams(temperature=0))
    assert len(loopback.requests) == 1
    loopback.stop()  # nothing listens on that port any more

    assert will_replay(path, "once") and will_replay(path, "none")
    replay = _replay_registry(loopback).provider(model, ProviderSettings(replay=True))
    started = time.perf_counter()
    with no_socket_connects() as connects, use_cassette(path, "none", rerecord_hint=HINT):
        replayed = asyncio.run(replay.respond(ASK, ModelParams(temperature=0)))
    elapsed = time.perf_counter() - started

    assert connects == []
    assert len(loopback.requests) == 1
    assert (replayed.text, replayed.model, replayed.finish_reason, replayed.usage) == (
        recorded.text,
        recorded.model,
        recorded.finish_reason,
        recorded.usage,
    )
    assert replayed.request_id == recorded.request_id
    assert elapsed < 1.0


@pytest.mark.parametrize("mode", ["none", "once"])
def test_a_changed_prompt_is_a_stale_cassette_naming_the_field(
    mode: str, tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    path = cassette_path(tmp_path, "suite", "openai:gpt-4.1", "charity")
    _record(path, loopback_registry, "openai:gpt-4.1", ModelParams(temperature=0))
    before = path.read_bytes()
    changed = (Message("user", "Should a charity accept money from an arms dealer?"),)

    provider = loopback_registry.provider("openai:gpt-4.1", ProviderSettings(replay=True))
    with pytest.raises(StaleCassetteError) as caught, use_cassette(path, mode, rerecord_hint=HINT):
        provider.respond_sync(changed, ModelParams(temperature=0.7))

    err = caught.value
    assert err.path == path
    assert err.changes == ("body.messages[0].content", "body.temperature")
    message = str(err)
    assert str(path) in message and HINT in message
    assert "body.temperature: 0 -> 0.7" in message
    assert len(loopback.requests) == 1  # the changed request never left the process
    assert path.read_bytes() == before  # and the cassette was not touched


def test_a_wrapped_vcr_miss_is_still_reported_as_stale(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    path = cassette_path(tmp_path, "suite", "anthropic:claude-x", "charity")
    _record(path, loopback_registry, "anthropic:claude-x")
    provider = loopback_registry.provider("anthropic:claude-x", ProviderSettings(replay=True))
    with pytest.raises(StaleCassetteError, match=r"body\.max_tokens: 4096 -> 10"), use_cassette(path, "none"):
        try:
            provider.respond_sync(ASK, ModelParams(max_tokens=10))
        except Exception as exc:  # what a judge or the plugin might do: wrap and re-raise
            raise RuntimeError("judge failed") from exc


def test_sending_a_recorded_request_more_often_than_recorded_is_stale(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    path = cassette_path(tmp_path, "suite", "openai:gpt-4.1", "charity")
    _record(path, loopback_registry, "openai:gpt-4.1")
    provider = loopback_registry.provider("openai:gpt-4.1", ProviderSettings(replay=True))
    stale = pytest.raises(StaleCassetteError, match=r"more often than the 1 time\(s\) recorded")
    with stale, use_cassette(path, "none"):
        provider.respond_sync(ASK)
        provider.respond_sync(ASK)  # e.g. a second sample written into the same item


def test_a_missing_cassette_under_none_names_the_file_and_the_fix(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    path = cassette_path(tmp_path, "suite", "openai:gpt-4.1", "never-recorded")
    provider = loopback_registry.provider("openai:gpt-4.1", ProviderSettings(replay=True))
    with pytest.raises(MissingCassetteError) as caught, use_cassette(path, "none", rerecord_hint=HINT):
        provider.respond_sync(ASK)
    assert str(path) in str(caught.value) and HINT in str(caught.value)
    assert loopback.requests == []
    assert not path.exists()


def test_matching_ignores_headers_and_volatile_fields(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    path = tmp_path / "volatile.json"
    messages = [{"role": "user", "content": "hi"}]
    with use_cassette(path, "once"):
        openai.OpenAI(base_url=loopback.openai_base_url, api_key="a" * 12).chat.completions.create(
            model="m", messages=messages, user="run-1", extra_headers={"X-Trace": "1"}
        )
    loopback.stop()
    with use_cassette(path, "none"):
        reply = openai.OpenAI(base_url=loopback.openai_base_url, api_key="b" * 12, max_retries=0)
        again = reply.chat.completions.create(model="m", messages=messages, user="run-2")
    assert again.choices[0].message.content == "Loopback answer to: hi"


@pytest.mark.parametrize("model", MODELS)
def test_streamed_exchanges_record_and_replay_too(
    model: str, tmp_path: Path, loopback: LoopbackServer, planted_key: str
) -> None:
    """The product does not stream today; this keeps the door open (SSE bodies survive a cassette)."""
    path = tmp_path / "stream.json"

    def stream_text() -> str:
        if model.startswith("openai"):
            client = openai.OpenAI(base_url=loopback.openai_base_url, api_key=planted_key, max_retries=0)
            chunks = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "s"}], stream=True
            )
            return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        aclient = anthropic.Anthropic(
            base_url=loopback.anthropic_base_url, api_key=planted_key, max_retries=0
        )
        with aclient.messages.stream(
            model="c", max_tokens=9, messages=[{"role": "user", "content": "s"}]
        ) as s:
            return "".join(s.text_stream)

    loopback.enqueue(answer("streamed, then replayed"))
    with use_cassette(path, "once", secret_env_vars=[LOOPBACK_KEY_ENV]):
        assert stream_text() == "streamed, then replayed"
    loopback.stop()
    with no_socket_connects() as connects, use_cassette(path, "none"):
        assert stream_text() == "streamed, then replayed"
    assert connects == []


def test_a_truncated_stream_is_not_recorded(tmp_path: Path, loopback: LoopbackServer) -> None:
    path = tmp_path / "cut.json"
    loopback.enqueue(truncated("this stream breaks off half way through"))
    client = openai.OpenAI(base_url=loopback.openai_base_url, api_key="x" * 12, max_retries=0)
    with pytest.raises(openai.APIConnectionError), use_cassette(path, "once"):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "s"}], stream=True)
    assert not path.exists()


# ------------------------------------------------------------------------- failures on disk


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("status", [429, 500])
def test_only_the_successful_answer_reaches_disk(
    model: str, status: int, tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    path = cassette_path(tmp_path, "suite", model, "charity")
    loopback.enqueue(error(status, "transient", headers=QUICK_RETRY), answer("Worth the wait."))
    assert _record(path, loopback_registry, model).text == "Worth the wait."
    assert [r.reply.status for r in loopback.requests] == [status, 200]
    (only,) = _interactions(path)
    assert only["response"]["status"]["code"] == 200
    assert "Worth the wait." in only["response"]["body"]["string"]
    # The answer came gzipped (only gzip was asked for); it is stored decoded, readable.
    assert loopback.requests[-1].headers["accept-encoding"] == "gzip"
    assert "content-encoding" not in {name.lower() for name in only["response"]["headers"]}


def test_a_permanent_500_is_an_error_and_writes_nothing(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    path = cassette_path(tmp_path, "suite", "anthropic:claude-x", "charity")
    loopback.always(error(500, "Internal server error (loopback)", headers=QUICK_RETRY))
    with pytest.raises(ProviderError, match=r"provider said: Internal server error \(loopback\)"):
        _record(path, loopback_registry, "anthropic:claude-x")
    assert len(loopback.requests) == 3
    assert list(tmp_path.rglob("*")) == []


def test_planted_key_and_account_headers_never_reach_any_file_or_output(
    tmp_path: Path,
    loopback: LoopbackServer,
    loopback_registry: Registry,
    planted_key: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "cassettes"
    loopback.enqueue(error(429, "slow down", headers=QUICK_RETRY))
    for model in MODELS:
        _record(cassette_path(root, "suite", model, "charity"), loopback_registry, model)
    # A key in the query string (Google-style ?key=) and echoed back in an answer body.
    loopback.enqueue(answer(f"You sent the key {planted_key}."))
    with use_cassette(root / "suite" / "echo.s0.json", "once", secret_env_vars=[LOOPBACK_KEY_ENV]):
        client = openai.OpenAI(
            base_url=loopback.openai_base_url, api_key=planted_key, default_query={"key": planted_key}
        )
        echoed = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "echo"}])
    assert planted_key in (echoed.choices[0].message.content or "")  # the live answer is untouched
    # An API error quoting the key: an error for the item, but the key is not in its message.
    loopback.enqueue(error(400, f"Incorrect API key provided: {planted_key}. Check it."))
    with pytest.raises(ProviderError) as caught:
        _record(root / "suite" / "failed.s0.json", loopback_registry, "openai:gpt-4.1")
    print(caught.value)

    # The requests really carried the key, so the scrubbing had something to remove.
    assert all(r.headers["authorization"] == f"Bearer {planted_key}" for r in loopback.requests)
    assert planted_key in loopback.requests[-2].query
    every = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    work = [f for f in every if "/.spec-pytest-tmp/" in f"/{f}"]  # self-ignored: locks, temp files
    assert all(f.endswith((".gitignore", ".lock")) for f in work), work  # no temp file left
    files = [f for f in every if f not in work]
    assert files == [
        "suite/anthropic/claude-x/charity.s0.json",
        "suite/echo.s0.json",
        "suite/openai/gpt-4.1/charity.s0.json",
    ]  # the failed item wrote nothing
    for file in root.rglob("*.json"):
        text = file.read_text(encoding="utf-8")
        assert planted_key not in text
        assert planted_key[8:24] not in text  # not even a fragment
        for leaked in ACCOUNT_TRACES:
            assert leaked not in text.lower(), (file, leaked)
        assert "req_loopback_" in text  # request ids are kept: useful, not secret
    (echo,) = _interactions(root / "suite" / "echo.s0.json")
    assert "key=" not in echo["request"]["uri"]
    assert f"You sent the key <{LOOPBACK_KEY_ENV}>." in echo["response"]["body"]["string"]
    out, err = capsys.readouterr()
    assert planted_key not in out + err and "Incorrect API key provided" in out


def test_a_replay_with_the_key_set_does_not_put_the_key_back_into_the_answer(
    tmp_path: Path, loopback: LoopbackServer, planted_key: str
) -> None:
    path = tmp_path / "echo.s0.json"
    loopback.enqueue(answer(f"You sent the key {planted_key}."))
    for mode in ("once", "none"):  # record, then replay with the key still in the environment
        with use_cassette(path, mode, secret_env_vars=[LOOPBACK_KEY_ENV]):
            client = openai.OpenAI(base_url=loopback.openai_base_url, api_key=planted_key, max_retries=0)
            echoed = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "echo"}])
    assert len(loopback.requests) == 1
    assert echoed.choices[0].message.content == f"You sent the key <{LOOPBACK_KEY_ENV}>."


# ------------------------------------------------------------------------- modes that record


def test_new_episodes_adds_and_rewrite_starts_over(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    path = tmp_path / "modes.json"
    _record(path, loopback_registry, "openai:gpt-4.1", ModelParams(temperature=0))
    _record(path, loopback_registry, "openai:gpt-4.1", ModelParams(temperature=1), mode="new_episodes")
    assert len(_interactions(path)) == 2
    loopback.enqueue(answer("fresh"))
    _record(path, loopback_registry, "openai:gpt-4.1", ModelParams(temperature=0), mode="rewrite")
    (only,) = _interactions(path)
    assert "fresh" in only["response"]["body"]["string"]
    assert len(loopback.requests) == 3  # rewrite went to the API even though a match was on disk


def test_a_corrupt_cassette_is_an_error_not_a_silent_rerecord(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    path = tmp_path / "corrupt.json"
    path.write_text('{"version": 1, "interactions": [', encoding="utf-8")
    with pytest.raises(CorruptCassetteError, match=r"corrupt\.json cannot be read"):
        _record(path, loopback_registry, "openai:gpt-4.1")
    assert loopback.requests == []
    _record(path, loopback_registry, "openai:gpt-4.1", mode="rewrite")  # the explicit fix works
    assert len(_interactions(path)) == 1


# ------------------------------------------------------------------------- atomic writes


def test_an_interrupted_item_leaves_no_file_and_no_temp_file(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    path = tmp_path / "suite" / "interrupted.json"
    with pytest.raises(KeyboardInterrupt), use_cassette(path, "once"):
        loopback_registry.provider("openai:gpt-4.1").respond_sync(ASK)
        raise KeyboardInterrupt  # Ctrl-C after the answer, before the item finished
    assert len(loopback.requests) == 1
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    _record(path, loopback_registry, "openai:gpt-4.1")
    assert sorted(p.name for p in path.parent.iterdir()) == [".spec-pytest-tmp", "interrupted.json"]
    assert not list(tmp_path.rglob("*.tmp"))  # no temp files left, in the work directory either


_WRITER = textwrap.dedent(
    """
    import sys
    from vcr.request import Request
    from spec_pytest.recording.cassettes import AtomicPersister, JsonSerializer
    path, tag = sys.argv[1], sys.argv[2]
    body = tag * 400_000  # large enough that a non-atomic write would be caught half done
    request = Request("POST", "http://127.0.0.1/v1/messages", "{}", {})
    response = {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": body}}
    data = {"requests": [request], "responses": [response]}
    for _ in range(40):
        AtomicPersister({}).save_cassette(path, data, JsonSerializer)
    """
)


def test_two_processes_writing_one_cassette_never_corrupt_it(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "item.json"
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), tag], cwd=ROOT) for tag in ("a", "b")
    ]
    reads = 0
    while any(w.poll() is None for w in writers):
        if path.exists():
            (interaction,) = json.loads(path.read_text(encoding="utf-8"))["interactions"]
            assert set(interaction["response"]["body"]["string"]) in ({"a"}, {"b"})
            reads += 1
    assert [w.returncode for w in writers] == [0, 0]
    assert reads > 0
    assert sorted(p.name for p in path.parent.iterdir()) == [".spec-pytest-tmp", "item.json"]
    assert not list(tmp_path.rglob("*.tmp"))  # no temp file left, in the work directory either
    (interaction,) = json.loads(path.read_text(encoding="utf-8"))["interactions"]
    assert len(interaction["response"]["body"]["string"]) == 400_000


def test_the_persister_refuses_to_write_a_secret(tmp_path: Path) -> None:
    secret = "sk-" + "test" + secrets.token_hex(16)
    response = {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": f"key={secret}"}}
    data = {"requests": [Request("POST", "http://x/v1", "{}", {})], "responses": [response]}
    with pytest.raises(SecretLeakError, match="would contain the value of MY_API_KEY"):
        AtomicPersister({"<MY_API_KEY>": secret}).save_cassette(
            str(tmp_path / "c.json"), data, JsonSerializer
        )
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------- pytest-recording


def test_pytest_recording_installed_alongside_does_not_break_anything(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import spec_pytest.recording.cassettes as cassettes
        import spec_pytest.providers as providers

        def test_both_plugins_load(request):
            assert request.config.pluginmanager.has_plugin("recording")
            request.config.getoption("--record-mode")  # pytest-recording's option (raises if absent)
            assert cassettes.resolve_record_mode(None, {}) is cassettes.RecordMode.ONCE
            assert providers.ModelRef.parse("openai:gpt-4.1").model == "gpt-4.1"

        @pytest.mark.vcr
        def test_recording_marker_still_works(vcr):
            assert vcr.record_mode == "none"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


# --------------------------------------------------------------------------- where the server is

HERE = EndpointSite("local", "http://127.0.0.1:42425/v1")


@pytest.mark.parametrize(
    ("uri", "noted", "expected"),
    [
        # noted base URL: the API path below it moves under today's base URL (port, host, base path)
        (
            "http://127.0.0.1:46827/v1/chat/completions",
            {"name": "local", "base_url": "http://127.0.0.1:46827/v1"},
            "http://127.0.0.1:42425/v1/chat/completions",
        ),
        (
            "https://proxy.internal/openai/v1/chat/completions?x=1",
            {"name": "local", "base_url": "https://proxy.internal/openai/v1/"},
            "http://127.0.0.1:42425/v1/chat/completions?x=1",
        ),
        # another endpoint's recording, or a URL outside the noted base: left as recorded
        (
            "http://127.0.0.1:46827/v1/chat/completions",
            {"name": "other", "base_url": "http://127.0.0.1:46827/v1"},
            "http://127.0.0.1:46827/v1/chat/completions",
        ),
        (
            "http://127.0.0.1:46827/v10/chat/completions",
            {"name": "local", "base_url": "http://127.0.0.1:46827/v1"},
            "http://127.0.0.1:46827/v10/chat/completions",
        ),
        # a cassette of an earlier version (no note): a moved port or host replays, a moved base path does not
        ("http://127.0.0.1:46827/v1/chat/completions", None, "http://127.0.0.1:42425/v1/chat/completions"),
        (
            "https://proxy.internal/openai/v1/chat/completions",
            None,
            "https://proxy.internal/openai/v1/chat/completions",
        ),
    ],
)
def test_recorded_urls_move_onto_the_current_base_url(uri: str, noted: dict | None, expected: str) -> None:
    assert rebased(uri, noted, HERE) == expected


def test_an_earlier_cassette_without_a_note_replays_on_a_moved_port(tmp_path: Path) -> None:
    """Cassettes written before the endpoint note stay readable: the same request, another port."""
    path = tmp_path / "old.json"
    old = {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": "http://127.0.0.1:46827/v1/chat/completions",
                    "body": '{"model": "m", "messages": []}',
                    "headers": {},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {},
                    "body": {"string": "{}"},
                },
            }
        ],
    }
    path.write_text(json.dumps(old), encoding="utf-8")
    cassette = detached_cassette(path, RecordMode.NONE, site=HERE)
    moved = Request(
        "POST", "http://127.0.0.1:42425/v1/chat/completions", b'{"messages": [], "model": "m"}', {}
    )
    assert cassette.can_play_response_for(moved)
    elsewhere = Request(
        "POST", "http://127.0.0.1:42425/v2/chat/completions", b'{"messages": [], "model": "m"}', {}
    )
    assert not cassette.can_play_response_for(elsewhere)
