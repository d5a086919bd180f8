"""Line-level Markdown reading shared by the importers of prose specs.

Both the OpenAI Model Spec and the constitution are Markdown whose structure is carried by
headings; code fences can hold lines that look like headings (`# functions`), so every
scan goes through `lines_with_fences`, which says for each line whether it is inside one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")
LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
FOOTNOTE = re.compile(r"\[\^([A-Za-z0-9_-]+)\]")


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # 1-based, for reports that point back into the source
    text: str
    fence: str = ""  # "" outside fences, else "open", "inside" or "close"

    @property
    def in_fence(self) -> bool:
        return bool(self.fence)


def lines_with_fences(text: str) -> Iterator[Line]:
    """Every line, marked inside/outside a fence; a fence closes only on its own marker.

    The Model Spec nests ``` fences inside ~~~ fences, so the closing marker must be the
    same character, at least as long, on a line of its own.
    """
    opener: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if opener is None:
            if match:
                opener = match.group(1)
                yield Line(number, line, "open")
            else:
                yield Line(number, line)
            continue
        marker = match.group(1) if match else ""
        if match and marker[:1] == opener[0] and len(marker) >= len(opener) and not match.group(2).strip():
            opener = None
            yield Line(number, line, "close")
        else:
            yield Line(number, line, "inside")


def heading(line: Line) -> tuple[int, str] | None:
    """(level, text) when the line is a heading outside any fence."""
    if line.in_fence:
        return None
    match = HEADING.match(line.text)
    return (len(match.group(1)), match.group(2)) if match else None


def strip_footnotes(text: str) -> str:
    """Remove footnote markers such as `[^a93s]`: they cite evaluation files, not words."""
    return FOOTNOTE.sub("", text)


def render_links(text: str, titles: dict[str, str] | None = None) -> str:
    """Links as a reader sees them: the link text, or for `[?](#id)` the target's title."""

    def replace(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        if label == "?" and target.startswith("#") and titles:
            return titles.get(target[1:], label)
        return label

    return LINK.sub(replace, text)


def tidy(lines: list[str]) -> str:
    """Join lines into a block of text: no trailing spaces, at most one blank line in a row."""
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def slug(text: str, sep: str = "_") -> str:
    """A lowercase id from free text: letters and digits, other runs replaced by `sep`."""
    text = text.lower().replace("\u2019", "").replace("'", "")
    return re.sub(r"[^a-z0-9]+", sep, text).strip(sep)
