"""Screening a generator's answer: a usable text, or the reason it is dropped.

The study kept only generations that were real queries: it filtered refusals. Two reasons
are recorded here, so a reader of the dropped file can tell "the generator would not" from
"the generator did not finish":

* ``refused``: the API said so (a refusal field or stop reason), or the answer opens with
  a refusal instead of the requested text;
* ``incomplete``: cut off at the token limit, the tagged text missing or never closed, or
  too short to be a scenario.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spec_pytest.core.response import Response
from spec_pytest.generate.templates import extract

#: Openings of an answer that declines instead of writing (checked on the first 200 characters).
_REFUSAL = re.compile(
    r"^\W*(I\s+(?:can(?:no|')t|cannot|won't|will\s+not|am\s+(?:not\s+able|unable)|'m\s+(?:not\s+able|unable|sorry))"
    r"|Sorry\b|I\s+apologi[sz]e|As\s+an\s+AI\b|I\s+must\s+decline|Unfortunately,?\s+I)",
    re.IGNORECASE,
)
#: Fewer words than this is not a scenario a model can be tested on.
MIN_WORDS = 6


@dataclass(frozen=True, slots=True)
class Screened:
    """``text`` when usable; otherwise ``reason`` (refused | incomplete) and ``detail``."""

    text: str | None
    reason: str | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None


def screen(response: Response, tag: str) -> Screened:
    """What to keep from ``response``, whose text should hold ``<tag>…</tag>``."""
    if response.refused:
        message = f"the API reported a refusal: {response.refusal_message or ''}".strip()
        return Screened(None, "refused", message)
    if response.truncated:
        return Screened(None, "incomplete", f"stopped at the token limit ({response.finish_reason})")
    raw = response.text or ""
    if _REFUSAL.search(raw[:200]):
        return Screened(None, "refused", f"the answer declines: {_excerpt(raw)}")
    text, problem = extract(raw, tag)
    if text is None:
        return Screened(None, "incomplete", f"{problem}: {_excerpt(raw)}")
    if _REFUSAL.search(text[:200]):
        return Screened(None, "refused", f"the {tag} declines: {_excerpt(text)}")
    if len(text.split()) < MIN_WORDS:
        return Screened(None, "incomplete", f"the {tag} has fewer than {MIN_WORDS} words: {text!r}")
    return Screened(text)


def _excerpt(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")
