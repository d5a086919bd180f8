"""The loopback API server (a test double at the network boundary) and its reply helpers."""

from tests.support.loopback.server import (
    LoopbackServer,
    Received,
    Reply,
    answer,
    api_refusal,
    content_filtered,
    cut_before_text,
    echo_key,
    error,
    hang,
    html,
    malformed,
    raw_json,
    text_blocks,
    trickle,
    truncated,
)

#: The variable tests plant their fake key in (its name ends in API_KEY, like real ones).
LOOPBACK_KEY_ENV = "SPEC_PYTEST_LOOPBACK_API_KEY"

__all__ = [
    "LOOPBACK_KEY_ENV",
    "LoopbackServer",
    "Received",
    "Reply",
    "answer",
    "api_refusal",
    "content_filtered",
    "cut_before_text",
    "echo_key",
    "error",
    "hang",
    "html",
    "malformed",
    "raw_json",
    "text_blocks",
    "trickle",
    "truncated",
]
