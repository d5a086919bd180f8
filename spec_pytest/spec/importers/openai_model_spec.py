"""Import the OpenAI Model Spec (`model_spec.md` from github.com/openai/model_spec).

A statement is a heading carrying its authority, `## Title {#id authority=root}`. Its text
is the prose under the heading up to the next heading of the same or higher level, in the
spec's words as a reader of the published page sees them: footnote markers (`[^a93s]`,
which point at evaluation files) are removed, links show their text, `[?](#id)` links show
the target section's title, commentary boxes lose their `!!! meta` marker. Worked examples
(`**Example**:` plus a `~~~xml` fence) are not part of the text: they become `examples:`
of the statement they sit under (see `openai_examples`), and the evaluation prompts in the
sibling `examples/XXXX.md` files become scenarios of the statement whose footnote cites them.

Headings without `authority=` are not statements; they only give the `section` path.
Releases before 2025 used `authority=platform` where later ones use root/system; both
vocabularies are accepted and `levels:` lists the ones the file uses, highest first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_pytest.spec.importers import markdown
from spec_pytest.spec.importers.openai_examples import eval_scenarios, example_entries
from spec_pytest.spec.importers.report import Imported, ImportReport

#: Every authority level any release has used, highest first (platform predates root/system).
CANONICAL_LEVELS = ("root", "platform", "system", "developer", "user", "guideline")
_ANCHOR = re.compile(r"^(.*?)\s*\{#([^\s}]+)([^}]*)\}$")
_AUTHORITY = re.compile(r"\bauthority=([A-Za-z_]+)")
_EXAMPLE = re.compile(r"^\*\*Example\*\*:?\s*(.*)$")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_RELEASE = re.compile(r"^##\s+v(\d{4})\.(\d{2})\.(\d{2})", re.M)
_COMMENTARY = re.compile(r"^!!!\s")


@dataclass
class Statement:
    """A heading with `authority=`: what becomes one principle."""

    id: str
    level: str
    title: str
    section: str
    line: int
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RawExample:
    """An `**Example**:` fence as found, before its notation is read."""

    title: str | None
    line: int
    body: str
    owner: Statement | None  # innermost statement it sits under
    heading: str  # title of the innermost heading, for reports


@dataclass
class Scan:
    statements: list[Statement] = field(default_factory=list)
    examples: list[RawExample] = field(default_factory=list)
    #: footnote id -> (innermost statement or None, title of the heading it sits under)
    footnotes: dict[str, tuple[Statement | None, str]] = field(default_factory=dict)


def import_openai_model_spec(source: Path) -> Imported:
    """The spec as principles, labelled examples and evaluation-prompt scenarios."""
    source = Path(source)
    report = ImportReport("openai-model-spec", source)
    scan = scan_spec(source.read_text("utf-8"), source.name, report)
    levels = [level for level in CANONICAL_LEVELS if any(s.level == level for s in scan.statements)]
    principles = [_principle(s) for s in scan.statements if s.lines or _empty(report, source.name, s)]
    known = {p["id"] for p in principles}
    examples = example_entries(scan.examples, known, source.name, report)
    scenarios = eval_scenarios(source.parent / "examples", scan.footnotes, known, report)
    version, url = _release(source.parent / "CHANGELOG.md")
    document: dict[str, Any] = {"spec": "openai_modelspec"}
    if version:
        document["version"] = version
    document["title"] = "OpenAI Model Spec"
    document["source"] = url or f"https://github.com/openai/model_spec ({source.name})"
    document["license"] = "CC0 1.0 (OpenAI Model Spec, github.com/openai/model_spec)"
    document["levels"] = levels
    document["principles"] = principles
    if scenarios:
        document["scenarios"] = scenarios
    if examples:
        document["examples"] = examples
    report.counts["principles"] = len(principles)
    for level in levels:
        report.counts[f"principles at {level}"] = sum(p["level"] == level for p in principles)
    return Imported(document, report)


def scan_spec(text: str, name: str, report: ImportReport) -> Scan:
    """One pass over the Markdown: statements with their prose, example fences, footnotes."""
    titles = _anchor_titles(text)
    scan = Scan()
    stack: list[tuple[int, str, Statement | None]] = []  # (heading level, title, statement)
    pending: tuple[str | None, int] | None = None  # an **Example** title waiting for its fence
    capture: list[str] | None = None
    commentary = False
    for line in markdown.lines_with_fences(text):
        found = markdown.heading(line)
        if found:
            level, raw = found
            while stack and stack[-1][0] >= level:
                stack.pop()
            title, statement = _heading(raw, line.number, stack, titles, name, report)
            for _, _, outer in stack:
                if outer is not None:
                    outer.lines += ["", title, ""]
            stack.append((level, title, statement))
            if statement is not None:
                scan.statements.append(statement)
            pending, commentary = None, False
            continue
        owner = next((s for _, _, s in reversed(stack) if s is not None), None)
        if capture is not None:
            if line.fence == "close":
                example_title, start = pending or (None, line.number)
                heading = stack[-1][1] if stack else "(top of file)"
                scan.examples.append(RawExample(example_title, start, "\n".join(capture), owner, heading))
                capture, pending = None, None
            else:
                capture.append(line.text)
            continue
        if line.fence == "open" and line.text.startswith("~~~xml"):
            capture = []
            if pending is None:
                pending = (None, line.number)
            continue
        example = _EXAMPLE.match(line.text) if not line.in_fence else None
        if example:
            pending = (markdown.render_links(markdown.strip_footnotes(example.group(1)), titles), line.number)
            continue
        if not line.in_fence:
            for footnote in markdown.FOOTNOTE.findall(line.text):
                heading = stack[-1][1] if stack else "(top of file)"
                scan.footnotes.setdefault(footnote, (owner, heading))
            if _COMMENTARY.match(line.text):
                commentary = True
                continue
            if commentary and line.text.strip() and not line.text.startswith("    "):
                commentary = False
        prose = line.text[4:] if commentary and line.text.startswith("    ") else line.text
        prose = markdown.render_links(markdown.strip_footnotes(prose), titles)
        for _, _, statement in stack:
            if statement is not None:
                statement.lines.append(prose)
    return scan


def _heading(
    raw: str,
    number: int,
    stack: list[tuple[int, str, Statement | None]],
    titles: dict[str, str],
    name: str,
    report: ImportReport,
) -> tuple[str, Statement | None]:
    """The heading's display title, and its Statement when it carries a known authority."""
    match = _ANCHOR.match(raw)
    title = markdown.render_links(match.group(1) if match else raw, titles)
    authority = _AUTHORITY.search(match.group(3)) if match else None
    if match is None or authority is None:
        return title, None
    level = authority.group(1).lower()
    if level not in CANONICAL_LEVELS:
        report.skip(
            f"{name}:{number}",
            f"statement '{title}'",
            f"unknown authority '{level}' (known: {', '.join(CANONICAL_LEVELS)})",
        )
        return title, None
    sid = match.group(2)
    if not _ID.match(sid):
        sid = markdown.slug(sid)
        report.notes.append(f"{name}:{number}: anchor '{match.group(2)}' is not an id; used '{sid}'")
    section = " > ".join(t for _, t, _ in stack)
    return title, Statement(sid, level, title, section, number)


def _principle(statement: Statement) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": statement.id, "level": statement.level, "title": statement.title}
    if statement.section:
        entry["section"] = statement.section
    entry["text"] = markdown.tidy(statement.lines)
    return entry


def _empty(report: ImportReport, name: str, statement: Statement) -> bool:
    report.skip(f"{name}:{statement.line}", f"statement '{statement.id}'", "no text under the heading")
    return False


def _anchor_titles(text: str) -> dict[str, str]:
    """Heading title of every `{#anchor}`, so `[?](#anchor)` links can show it."""
    titles: dict[str, str] = {}
    for line in markdown.lines_with_fences(text):
        found = markdown.heading(line)
        match = _ANCHOR.match(found[1]) if found else None
        if match:
            titles[match.group(2)] = match.group(1)
    return titles


def _release(changelog: Path) -> tuple[str | None, str | None]:
    """Version and page URL of the newest release named in CHANGELOG.md, if it is there."""
    if not changelog.is_file():
        return None, None
    match = _RELEASE.search(changelog.read_text("utf-8"))
    if match is None:
        return None, None
    date = "-".join(match.groups())
    return date, f"https://model-spec.openai.com/{date}.html"
