"""THE table of provider families: the one place an endpoint's ``api`` is turned into code.

Built in: OpenAI Chat Completions (``openai-chat``: OpenAI and every OpenAI-compatible
endpoint) and Anthropic Messages (``anthropic-messages``). Building a provider, the
``--batch`` adapter, the batch run's served providers and the allowed ``api`` values all go
through `family`, which refuses an unknown name and lists the known ones: an endpoint is
never silently served by another family.

Adding a family is one module holding a `Family` (see `spec_pytest.providers.family`), one
entry in `FAMILIES` below, its tests, and its name in the spec schema's ``api`` enum
(``spec/schema.json``; a test keeps the two equal). A plugin can add one at run time with
`register_family` instead.

A raw body does not say which family it belongs to (the fan-out's transport sees bytes; a
plan or a budget prices a body). The readers at the end ask every family: each reads only
its own fields, so an answer's usage is the first family's that finds its fields, and a
request's estimate is the largest reading, which is its own family's (and an upper bound,
which is what a budget needs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spec_pytest.providers.anthropic_messages import ANTHROPIC_MESSAGES
from spec_pytest.providers.errors import UnknownFamilyError
from spec_pytest.providers.family import AnswerUsage, Family
from spec_pytest.providers.openai_chat import OPENAI_CHAT

#: The families by ``api`` name, in the order the body readers ask them.
FAMILIES: dict[str, Family] = {family.name: family for family in (OPENAI_CHAT, ANTHROPIC_MESSAGES)}
#: The family of an endpoint declared without ``api`` (most servers speak Chat Completions).
DEFAULT_FAMILY = OPENAI_CHAT.name


def register_family(new: Family, *, replace: bool = False) -> None:
    """Add a family to the table (``replace=True`` to swap out the one of the same name)."""
    if not isinstance(new.name, str) or not new.name:
        raise ValueError(f"a provider family needs a name (the endpoints' `api` value), got {new.name!r}")
    if new.name in FAMILIES and not replace:
        raise ValueError(f"provider family {new.name!r} is already registered; pass replace=True to swap it")
    FAMILIES[new.name] = new


def family_names() -> tuple[str, ...]:
    return tuple(sorted(FAMILIES))


def family(name: str, *, endpoint: str | None = None) -> Family:
    """The family called ``name``; UnknownFamilyError (naming the known ones) if none is."""
    found = FAMILIES.get(name)
    if found is None:
        where = f"endpoint {endpoint!r}: " if endpoint else ""
        raise UnknownFamilyError(
            f"{where}unknown api {name!r}: the known API families are {', '.join(family_names())} "
            "(a plugin adds one with spec_pytest.providers.families.register_family)"
        )
    return found


# --------------------------------------------------------------------------- raw bodies


def answer_usage(body: Mapping[str, Any]) -> AnswerUsage | None:
    """The usage an answer body reports, read by the first family that finds its fields."""
    for candidate in FAMILIES.values():
        found = candidate.answer_usage(body)
        if found is not None:
            return found
    return None


def input_tokens(body: Mapping[str, Any]) -> int:
    """Estimated input tokens of a request body: the largest of the families' readings."""
    return max(candidate.input_tokens(body) for candidate in FAMILIES.values())


def output_limit(body: Mapping[str, Any]) -> int | None:
    """The output limit a request body sets (the largest reading); None when it sets none."""
    limits = [limit for f in FAMILIES.values() if (limit := f.output_limit(body)) is not None]
    return max(limits, default=None)
