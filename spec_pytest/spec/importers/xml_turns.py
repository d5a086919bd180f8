"""The conversation notation of the Model Spec's `~~~xml` fences, read into plain data.

A fence is a run of turns (`<user>...</user>`, `<developer>`, `<system>`, `<assistant>`,
`<tool>`) and `<comparison>` blocks holding candidate assistant answers, each marked
`<!-- GOOD -->`, `<!-- BAD -->` or `<!-- OK -->` with an optional `[#section]` naming the
section the answer violates and an optional explanation. Turn contents are kept verbatim
(nested markup such as `<settings>` or `<untrusted>` is part of the message) except for
HTML entities, which the spec uses to show markup inside answers.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from spec_pytest.errors import InputError

ROLES = ("system", "developer", "user", "assistant", "tool")
_OPEN = re.compile(r"<(system|developer|user|assistant|tool|comparison)((?:\s[^>]*)?)>")
_LABEL = re.compile(r"^\s*<!--\s*(GOOD|BAD|OK)\b\s*(?:\[#([A-Za-z0-9_-]+)\])?\s*[:,]?\s*(.*?)\s*-->", re.S)
_RECIPIENT = re.compile(r"""recipient\s*=\s*["']([^"']+)["']""")
#: Text allowed between turns: the spec's elision mark for omitted turns.
_ELISION = re.compile(r"^\s*(\[\s*(\.\.\.|…)\s*\]\s*)*$")


class NotationError(InputError):
    """The fence does not follow the notation; the message says what was found instead."""


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    content: str
    recipient: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    label: str  # good | bad | ok
    text: str
    note: str | None


#: A fence is a sequence of turns and comparisons (a comparison is a list of candidates).
Item = Turn | list[Candidate]


def parse_fence(body: str) -> list[Item]:
    """Turns and comparisons in order; raises NotationError on anything else."""
    items: list[Item] = []
    for name, attrs, inner in _elements(body):
        if name == "comparison":
            items.append(_comparison(inner))
        else:
            items.append(Turn(name, _content(inner), _recipient(attrs)))
    return items


def _elements(body: str) -> list[tuple[str, str, str]]:
    """(tag, attributes, raw inner text) of each top-level element, in order."""
    found: list[tuple[str, str, str]] = []
    position = 0
    while True:
        match = _OPEN.search(body, position)
        gap = body[position : match.start() if match else len(body)]
        if not _ELISION.match(gap):
            raise NotationError(f"unexpected text between turns: {gap.strip()[:60]!r}")
        if match is None:
            return found
        name = match.group(1)
        close = body.find(f"</{name}>", match.end())
        if close < 0:
            raise NotationError(f"<{name}> is never closed")
        found.append((name, match.group(2), body[match.end() : close]))
        position = close + len(f"</{name}>")


def _comparison(body: str) -> list[Candidate]:
    candidates: list[Candidate] = []
    for name, attrs, inner in _elements(body):
        if name != "assistant":
            raise NotationError(f"a <comparison> holds only <assistant> answers, found <{name}>")
        label = _LABEL.match(inner)
        if label is None:
            raise NotationError(f"answer without a <!-- GOOD/BAD/OK --> label: {inner.strip()[:60]!r}")
        notes = []
        if label.group(2):
            notes.append(f"violates #{label.group(2)}")
        if label.group(3):
            notes.append(label.group(3))
        recipient = _recipient(attrs)
        if recipient:
            notes.append(f"addressed to {recipient}")
        text = _content(inner[label.end() :])
        candidates.append(Candidate(label.group(1).lower(), text, "; ".join(notes) or None))
    if not candidates:
        raise NotationError("empty <comparison> block")
    return candidates


def _recipient(attrs: str) -> str | None:
    match = _RECIPIENT.search(attrs)
    return match.group(1) if match else None


def _content(raw: str) -> str:
    """Turn text as the reader sees it: entities decoded, surrounding blank lines removed."""
    lines = raw.strip("\n").splitlines()
    return html.unescape("\n".join(line.rstrip() for line in lines)).strip()
