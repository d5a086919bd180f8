"""Secrets and hostile text: the one scrubber every sink applies before text leaves the process.

A key reaches text we write without anyone putting it there: a proxy that echoes the
``Authorization`` header, an error body quoting the key, a model repeating what it was sent.
So every sink (cassettes, result records, reports, JUnit, the terminal, generate's banks,
logs) passes its text through `scrub`, which replaces

* the value of every key variable that is set with ``<VAR>`` (the placeholder cassettes
  have always used): the well-known variables, any ``*_API_KEY``/``*_TOKEN``/``*_SECRET``,
  and each declared endpoint's ``key_env`` (the registry calls `remember_key_env`);
* anything shaped like a provider key (``sk-…``, ``xai-…``, ``AIza…``, GitHub tokens, the
  value of a key-bearing query parameter) with `SHAPE_MARKER`, even when no variable holds it.

Model text printed to a terminal or a log also goes through `neutralise` (`for_terminal` does
both): control characters become visible escapes, so an answer cannot clear the screen, set
the window title or print a fake "all tests PASSED" over the real summary.

Values are read from the environment at each call (a key set after start-up is still found);
this module has no other I/O, so every layer from providers up can use it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: Well-known key variables, always scrubbed; declared endpoints add theirs (`remember_key_env`).
DEFAULT_SECRET_ENV_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "XAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "OPENROUTER_API_KEY",
    "VLLM_API_KEY",
    "AZURE_OPENAI_API_KEY",
)
SECRET_NAME = re.compile(r"(API_KEY|_TOKEN|_SECRET)$")
#: Shorter values are not treated as secrets: replacing them would mangle ordinary text.
MIN_SECRET_LENGTH = 8
#: Query parameters that carry keys (Azure ``api-key``, Google ``key``).
SECRET_QUERY_PARAMETERS = ("key", "api-key", "api_key", "apikey", "access_token", "token")
#: What a key-shaped string is replaced with when no variable names it.
SHAPE_MARKER = "<redacted-key>"

_QUERY_NAMES = "|".join(re.escape(name) for name in sorted(SECRET_QUERY_PARAMETERS, key=len, reverse=True))
#: Provider and forge key shapes; group 1 (when present) is kept, the rest is replaced.
KEY_SHAPES = re.compile(
    r"(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_-]{16,}"  # OpenAI (sk-, sk-proj-), Anthropic (sk-ant-)...
    r"|xai-[A-Za-z0-9]{16,}"
    r"|AIza[0-9A-Za-z_-]{30,}"  # Google
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"  # GitHub tokens
    rf"|((?<![A-Za-z0-9_-])(?:{_QUERY_NAMES})=)[^&#\s\"'<>]{{{MIN_SECRET_LENGTH},}}"  # ?api-key=...
)

_remembered: set[str] = set()
_lock = threading.Lock()


def remember_key_env(name: str | None) -> None:
    """Scrub the value of ``name`` from now on (an endpoint's ``key_env``, when declared)."""
    if name:
        with _lock:
            _remembered.add(name)


def secret_values(env_vars: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{"<VAR>": value}`` for every key variable that is set (named, well known, declared, or
    ``*_API_KEY``-like)."""
    env = os.environ if environ is None else environ
    with _lock:
        declared = set(_remembered)
    named = {n for n in env if SECRET_NAME.search(n)}
    names = set(DEFAULT_SECRET_ENV_VARS) | declared | set(env_vars) | named
    found: dict[str, str] = {}
    for name in sorted(names):
        value = env.get(name, "")
        if len(value) >= MIN_SECRET_LENGTH:
            found[f"<{name}>"] = value
    return found


def _shape(match: re.Match[str]) -> str:
    return (match.group(1) or "") + SHAPE_MARKER


def scrub(text: str, extra: Mapping[str, str] | None = None) -> str:
    """``text`` with every known key value (and ``extra``'s: placeholder -> value) and every
    key-shaped string replaced by a marker."""
    return scrubber(extra)(text)


def scrubber(extra: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """`scrub` with the key values read from the environment once, now: for a sink that scrubs
    tens of thousands of strings at one moment (a report's drill-down), where reading the
    environment again for each string would cost more than the scrubbing itself."""
    values = {**secret_values(), **(extra or {})}
    ordered = [
        (placeholder, value)
        for placeholder, value in sorted(values.items(), key=lambda kv: -len(kv[1]))
        if len(value) >= MIN_SECRET_LENGTH
    ]

    def scrub_one(text: str) -> str:
        for placeholder, value in ordered:
            if value in text:
                text = text.replace(value, placeholder)
        return KEY_SHAPES.sub(_shape, text)

    return scrub_one


def scrub_data(data: Any) -> Any:
    """A copy of JSON-like ``data`` (dicts, lists, strings) with every string scrubbed."""
    if isinstance(data, str):
        return scrub(data)
    if isinstance(data, dict):
        return {scrub(str(k)) if isinstance(k, str) else k: scrub_data(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [scrub_data(item) for item in data]
    return data


def key_shape_in(text: str) -> bool:
    """Whether ``text`` holds something shaped like a key (for refusing it in configuration)."""
    return KEY_SHAPES.search(text) is not None


# C0 controls but tab and newline, DEL, C1 controls (0x9b is an 8-bit CSI), and the bidi
# overrides that reorder what a reader sees.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def neutralise(text: str) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``): safe to print."""
    return _CONTROL.sub(_visible, text)


def for_terminal(text: str) -> str:
    """Scrubbed and neutralised: what may be printed to a terminal or a log."""
    return neutralise(scrub(text))


class ScrubbingFilter(logging.Filter):
    """A logging filter that scrubs and neutralises each record's message before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: leave it to logging's own report
            return True
        record.msg, record.args = for_terminal(message), None
        return True


#: Loggers that may print request or response text: vcrpy's (it logs whole interactions), the
#: SDKs' and httpx's (URLs, options), and ours. A logger's filter sees only its own records.
SCRUBBED_LOGGERS = (
    "spec_pytest",
    "vcr",
    "vcr.cassette",
    "vcr.matchers",
    "vcr.patch",
    "vcr.request",
    "vcr.stubs",
    "vcr.stubs.httpx_stubs",
    "vcr.stubs.aiohttp_stubs",
    "openai",
    "openai._base_client",
    "anthropic",
    "anthropic._base_client",
    "httpx",
    "httpx2",
)
_FILTER = ScrubbingFilter()


def install_log_filter(names: Iterable[str] = SCRUBBED_LOGGERS) -> None:
    """Add the scrubbing filter to each named logger (and every existing child of ours and vcrpy's)."""
    wanted = set(names)
    wanted |= {
        name
        for name in logging.root.manager.loggerDict
        if name.startswith(("spec_pytest.", "vcr.", "openai.", "anthropic."))
    }
    for name in sorted(wanted):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
