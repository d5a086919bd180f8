"""Import Anthropic's constitution for Claude (constitution.md, CC0 1.0) as principles.

The constitution is prose with no authority markers, so the structure comes from its
own statement of priorities ("Claude's core values"): Claude should be broadly safe,
broadly ethical, compliant with Anthropic's guidelines and genuinely helpful, and "in cases
of apparent conflict ... prioritize these properties in the order in which they are
listed". Those four are the `levels:`, highest first:
`broadly_safe, broadly_ethical, guidelines_compliant, genuinely_helpful`.

Every heading with text of its own becomes a principle (its id is the heading as an id,
`Hard constraints` -> `hard_constraints`; its text runs to the next heading of any level,
so a parent's introduction and its subsections are separate principles that never
duplicate words). The level of a section is the priority of the top-level part it sits in:

- "Being broadly safe" and its subsections -> broadly_safe
- "Being broadly ethical" (honesty, avoiding harm, societal structures, good values) -> broadly_ethical
- "Following Anthropic's guidelines" -> guidelines_compliant
- "Being helpful" (principals, deployment contexts, balancing helpfulness) -> genuinely_helpful

Two deliberate exceptions. "Hard constraints" sits under ethics but is not weighed like
the rest: they are "things Claude should always or never do regardless of operator and
user instructions", bright lines outside the holistic weighing, so they take the top level,
broadly_safe, which nothing outranks. The framing parts outside the four priorities
(Overview, which states the priority order itself; Claude's nature; Concluding thoughts,
which gives the document "final constitutional authority") are also placed at the top
level: they speak for the whole document, and the document gives them no lower rank.
`section:` keeps the heading path, so a reader sees which sections are framing.

Links keep their text only (most point at Google Docs drafts); the table of contents under
the title is not a principle and is reported as skipped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from spec_pytest.spec.importers import markdown
from spec_pytest.spec.importers.report import Imported, ImportReport

LEVELS = ("broadly_safe", "broadly_ethical", "guidelines_compliant", "genuinely_helpful")
#: Top-level part (as an id) -> the priority its sections serve.
PARTS = {
    "being_broadly_safe": "broadly_safe",
    "being_broadly_ethical": "broadly_ethical",
    "following_anthropics_guidelines": "guidelines_compliant",
    "being_helpful": "genuinely_helpful",
}
#: Sections whose level differs from their part's (see the module docstring).
EXCEPTIONS = {"hard_constraints": "broadly_safe"}
FRAMING_LEVEL = "broadly_safe"
#: The priority list as the document states it, checked so a revised text is noticed.
_PRIORITY = re.compile(r"^\d\.\s+\*\*([^*]+)\*\*", re.M)
_STATED = ("broadly safe", "broadly ethical", "compliant with anthropic's guidelines", "genuinely helpful")
_TOC_LINE = re.compile(r"^\s*\[[^\]]*\]\(#[^)]*\)\s*$")


def import_anthropic_constitution(source: Path) -> Imported:
    """Principles for every section with text, at the level of the priority it serves."""
    source = Path(source)
    report = ImportReport("anthropic-constitution", source)
    text = source.read_text("utf-8")
    stated = tuple(m.strip().lower().replace("\u2019", "'") for m in _PRIORITY.findall(text))
    if stated[:4] != _STATED:
        report.notes.append(
            f"the document's numbered priority list reads {list(stated[:4])}, not the four priorities "
            "this importer maps; check the level mapping"
        )
    principles = [p for p in _sections(text, source.name, report) if p is not None]
    document: dict[str, Any] = {
        "spec": "anthropic_constitution",
        "version": "2026-01-22",
        "title": "Claude's Constitution (Anthropic)",
        "source": "https://www.anthropic.com/constitution",
        "license": "CC0 1.0 (released by Anthropic under a Creative Commons CC0 1.0 Deed)",
        "levels": list(LEVELS),
        "principles": principles,
    }
    report.counts["principles"] = len(principles)
    for level in LEVELS:
        report.counts[f"principles at {level}"] = sum(p["level"] == level for p in principles)
    return Imported(document, report)


def _sections(text: str, name: str, report: ImportReport) -> list[dict[str, Any] | None]:
    out: list[dict[str, Any] | None] = []
    stack: list[tuple[int, str]] = []  # (heading level, title)
    current: dict[str, Any] | None = None
    body: list[str] = []
    used: set[str] = set()

    def close() -> None:
        if current is not None:
            out.append(_finish(current, body, name, report))

    for line in markdown.lines_with_fences(text):
        found = markdown.heading(line)
        if not found:
            body.append(line.text)
            continue
        close()
        level, raw = found
        title = markdown.render_links(raw).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        pid = _unique(markdown.slug(title), used)
        part = markdown.slug(stack[0][1]) if stack else pid
        current = {
            "id": pid,
            "level": EXCEPTIONS.get(pid, PARTS.get(part, FRAMING_LEVEL)),
            "title": title,
            "section": " > ".join(t for _, t in stack),
            "line": line.number,
        }
        stack.append((level, title))
        body = []
    close()
    return out


def _finish(entry: dict[str, Any], body: list[str], name: str, report: ImportReport) -> dict[str, Any] | None:
    line = entry.pop("line")
    if not entry["section"]:
        del entry["section"]
    words = [b for b in body if b.strip()]
    if not words:
        return None  # a heading that only introduces its subsections
    if all(_TOC_LINE.match(b) for b in words):
        reason = "table of contents (links only), not a principle"
        report.skip(f"{name}:{line}", f"section '{entry['title']}'", reason)
        return None
    entry["text"] = markdown.tidy([markdown.render_links(b) for b in body])
    return entry


def _unique(wanted: str, used: set[str]) -> str:
    candidate, n = wanted or "section", 2
    while candidate in used:
        candidate, n = f"{wanted}_{n}", n + 1
    used.add(candidate)
    return candidate
