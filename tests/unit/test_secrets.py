"""The one scrubber: which values and shapes it removes, what it leaves, and its log filter."""

from __future__ import annotations

import logging
import secrets
import subprocess
from pathlib import Path

import pytest

from spec_pytest.secrets import (
    DEFAULT_SECRET_ENV_VARS,
    KEY_SHAPES,
    SHAPE_MARKER,
    for_terminal,
    install_log_filter,
    neutralise,
    remember_key_env,
    scrub,
    scrub_data,
)


@pytest.mark.parametrize("name", [*DEFAULT_SECRET_ENV_VARS, "MY_SERVICE_API_KEY", "CI_DEPLOY_TOKEN"])
def test_the_value_of_every_key_variable_becomes_its_placeholder(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    key = secrets.token_hex(16)  # no key shape: only the variable tells it is a key
    monkeypatch.setenv(name, key)
    assert scrub(f"you sent {key}, twice: {key}") == f"you sent <{name}>, twice: <{name}>"
    assert scrub_data({"a": [f"x{key}y", 3, None]}) == {"a": [f"x<{name}>y", 3, None]}


def test_a_declared_endpoints_key_env_is_scrubbed_whatever_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    key = secrets.token_hex(16)
    monkeypatch.setenv("SPEC_PYTEST_UNIT_GATEWAY_CRED", key)
    assert key in scrub(key)  # a name like no key's: unknown until declared
    remember_key_env("SPEC_PYTEST_UNIT_GATEWAY_CRED")
    assert scrub(key) == "<SPEC_PYTEST_UNIT_GATEWAY_CRED>"


def test_a_key_set_changed_or_unset_after_a_scrub_is_seen_by_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # values are cached between scrubs; the cache must never hide a change of the environment
    first, second = secrets.token_hex(16), secrets.token_hex(16)
    assert scrub(f"a {first}") == f"a {first}"
    monkeypatch.setenv("LATE_SERVICE_API_KEY", first)
    assert scrub(f"a {first}") == "a <LATE_SERVICE_API_KEY>"
    monkeypatch.setenv("LATE_SERVICE_API_KEY", second)  # same name, same length, new value
    assert scrub(f"a {first} b {second}") == f"a {first} b <LATE_SERVICE_API_KEY>"
    monkeypatch.delenv("LATE_SERVICE_API_KEY")
    assert scrub(f"b {second}") == f"b {second}"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("sk-proj-" + "Ab1_" * 8, ""),
        ("sk-ant-api03-" + secrets.token_urlsafe(30), ""),
        ("xai-" + secrets.token_hex(20), ""),
        ("AIza" + "x" * 35, ""),
        ("ghp_" + secrets.token_hex(18), ""),
        ("https://h/v1?api-key=" + secrets.token_hex(16), "https://h/v1?api-key="),
        ("https://h/v1?x=1&token=" + secrets.token_hex(10), "https://h/v1?x=1&token="),
    ],
    ids=["openai", "anthropic", "xai", "google", "github", "azure-query", "token-query"],
)
def test_key_shapes_are_replaced_even_when_no_variable_holds_them(text: str, kept: str) -> None:
    assert scrub(f"see {text} here") == f"see {kept}{SHAPE_MARKER} here"


def test_ordinary_text_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHORT_API_KEY", "abc")  # too short to be a key: replacing it would mangle text
    text = "a risk-free task-based plan: primary_key=user_id, abc, ask-me-anything, token=short"
    assert scrub(text) == text


def test_control_characters_are_shown_not_obeyed() -> None:
    hostile = "ok\x1b[2J\x1b]0;title\x07\r\x9b1m\u202eevil\tend\nnext"
    shown = neutralise(hostile)
    assert shown == "ok\\x1b[2J\\x1b]0;title\\x07\\x0d\\x9b1m\\u202eevil\tend\nnext"
    assert for_terminal("\x1b[31m " + "ghp_" + "a" * 30) == "\\x1b[31m " + SHAPE_MARKER


def test_the_log_filter_scrubs_vcrpy_lines_before_any_handler(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key = secrets.token_hex(16)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    install_log_filter()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("vcr.cassette").info(
            "Appending request %s and response %s", "r", {"body": key + "\x1b[2J"}
        )
    assert key not in caplog.text and "\x1b" not in caplog.text
    assert "<OPENAI_API_KEY>" in caplog.text and "\\x1b[2J" in caplog.text


def test_no_tracked_file_holds_a_key_shaped_literal() -> None:
    # a key a test or a bench plants is built at run time; a literal in the source would be a
    # key-shaped string on every clone (and indistinguishable from a leaked real one)
    root = Path(__file__).resolve().parents[2]
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    found = []
    for name in filter(None, tracked):
        try:
            text = (root / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files, or one the checkout lacks
        # provider and forge key shapes (group 1 is the key-bearing query parameter's name,
        # which also matches ordinary code such as ``api_key=planted_key``)
        found += [f"{name}: {m.group(0)[:12]}..." for m in KEY_SHAPES.finditer(text) if m.group(1) is None]
    assert found == []
