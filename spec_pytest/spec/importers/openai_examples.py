"""The Model Spec's conversations: labelled worked examples and evaluation prompts.

Worked examples become `examples:` entries. A fence with several `<comparison>` blocks is a
conversation that continues after each comparison, so it becomes one entry per comparison;
the history carried into the next turn uses the first GOOD answer (else the first OK one),
as the spec's own reader would assume the conversation went well.

Evaluation prompts (`examples/XXXX.md`, no answers) become scenarios of the statement whose
footnote `[^XXXX]` cites them, with ids `eval-XXXX-N` (N = position in the file, so ids
stay put when a neighbouring prompt cannot be imported). A prompt that does not end with
a user turn (e.g. a developer message alone, the spec's programmatic use) cannot be a
scenario: the loader requires the model to answer the user's turn; it is reported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spec_pytest.spec.importers import markdown
from spec_pytest.spec.importers.report import ImportReport
from spec_pytest.spec.importers.xml_turns import Candidate, NotationError, Turn, parse_fence

if TYPE_CHECKING:
    from spec_pytest.spec.importers.openai_model_spec import RawExample, Statement

_HEADER = re.compile(r"^Examples for \[\^([A-Za-z0-9_-]+)\] in (.*?):?\s*$")
_EXAMPLE = re.compile(r"^\*\*Example\*\*:?\s*(.*)$")


def example_entries(
    raws: list[RawExample], known: set[str], name: str, report: ImportReport
) -> list[dict[str, Any]]:
    """Schema `examples:` entries for every fence that reads; the rest are reported."""
    entries: list[dict[str, Any]] = []
    used: set[str] = set()
    parsed = 0
    for raw in raws:
        what = f"example '{raw.title or '(untitled)'}'"
        if raw.owner is None or raw.owner.id not in known:
            report.skip(
                f"{name}:{raw.line}",
                what,
                f"sits under '{raw.heading}', which is not a statement (no authority=), "
                "so it has no principle to illustrate",
            )
            continue
        try:
            found = _entries(parse_fence(raw.body), raw.owner.id, raw.title, used)
        except NotationError as exc:
            report.skip(f"{name}:{raw.line}", what, str(exc))
            continue
        parsed += 1
        entries += found
    report.counts["examples parsed"] = parsed
    report.counts["examples found"] = len(raws)
    report.counts["example entries (one per comparison)"] = len(entries)
    return entries


def _entries(
    items: list[Turn | list[Candidate]], principle: str, title: str | None, used: set[str]
) -> list[dict[str, Any]]:
    base = _unique(f"{principle}.{markdown.slug(title or 'example')[:60].strip('_')}", used)
    history: list[dict[str, str]] = []
    entries: list[dict[str, Any]] = []
    stalled = False
    for item in items:
        if isinstance(item, Turn):
            if item.role == "tool":
                raise NotationError("has a <tool> turn (a tool's output); spec messages have no tool role")
            if stalled:
                raise NotationError("the conversation goes on after a comparison with no GOOD or OK answer")
            history.append({"role": item.role, "content": item.content})
            continue
        if not history:
            raise NotationError("a <comparison> comes before any message")
        entry: dict[str, Any] = {
            "id": base if not entries else f"{base}.{len(entries) + 1}",
            "principle": principle,
        }
        if title:
            entry["title"] = title
        entry["messages"] = list(history)
        entry["responses"] = [_response(c) for c in item]
        entries.append(entry)
        carried = next((c for c in item if c.label == "good"), None)
        carried = carried or next((c for c in item if c.label == "ok"), None)
        if carried is None:
            stalled = True
        else:
            history.append({"role": "assistant", "content": carried.text})
    if not entries:
        raise NotationError("no <comparison> block: no labelled answer to learn from")
    return entries


def _response(candidate: Candidate) -> dict[str, str]:
    response = {"label": candidate.label, "text": candidate.text}
    if candidate.note:
        response["note"] = candidate.note
    return response


def _unique(wanted: str, used: set[str]) -> str:
    candidate, n = wanted, 2
    while candidate in used:
        candidate, n = f"{wanted}-{n}", n + 1
    used.add(candidate)
    return candidate


def eval_scenarios(
    folder: Path, footnotes: dict[str, tuple[Statement | None, str]], known: set[str], report: ImportReport
) -> list[dict[str, Any]]:
    """Scenarios from `examples/*.md`, each tied to the statement its footnote sits under."""
    scenarios: list[dict[str, Any]] = []
    files = sorted(folder.glob("*.md")) if folder.is_dir() else []
    prompts = 0
    for path in files:
        where = f"examples/{path.name}"
        text = path.read_text("utf-8")
        first = text.splitlines()[0] if text.strip() else ""
        header = _HEADER.match(first)
        footnote = header.group(1) if header else path.stem
        blocks = list(_blocks(text))
        prompts += len(blocks)
        owner, heading = footnotes.get(footnote, (None, ""))
        principle = owner.id if owner is not None and owner.id in known else None
        if footnote not in footnotes:
            reason = f"footnote [^{footnote}] is not cited in this release of the spec"
        else:
            reason = f"footnote [^{footnote}] sits under '{heading}', not a statement (no authority=)"
        for number, (title, line, body) in enumerate(blocks, start=1):
            what = f"prompt '{title or number}'"
            if principle is None:
                report.skip(f"{where}:{line}", what, reason)
                continue
            try:
                messages = _prompt(parse_fence(body))
            except NotationError as exc:
                report.skip(f"{where}:{line}", what, str(exc))
                continue
            provenance: dict[str, Any] = {"source": f"openai model_spec {where}", "footnote": footnote}
            if title:
                provenance["title"] = title
            scenarios.append(
                {
                    "id": f"eval-{footnote}-{number}",
                    "principles": [principle],
                    "messages": messages,
                    "tags": ["model-spec-eval"],
                    "provenance": provenance,
                }
            )
    report.counts["evaluation prompts found"] = prompts
    report.counts["evaluation prompts imported as scenarios"] = len(scenarios)
    return scenarios


def _prompt(items: list[Turn | list[Candidate]]) -> list[dict[str, str]]:
    messages = []
    for item in items:
        if not isinstance(item, Turn):
            raise NotationError("an evaluation prompt holds no <comparison> answers")
        if item.role == "tool":
            raise NotationError("has a <tool> turn (a tool's output); spec messages have no tool role")
        messages.append({"role": item.role, "content": item.content})
    if not messages:
        raise NotationError("no messages")
    if messages[-1]["role"] != "user":
        raise NotationError(
            f"ends with a <{messages[-1]['role']}> turn, not the user's; a scenario must end with "
            "the user's turn for the model to answer"
        )
    return messages


def _blocks(text: str) -> list[tuple[str | None, int, str]]:
    """(title, line, fence body) of each `**Example**:` fence in an evaluation file."""
    blocks: list[tuple[str | None, int, str]] = []
    title: str | None = None
    body: list[str] | None = None
    start = 0
    for line in markdown.lines_with_fences(text):
        if body is not None:
            if line.fence == "close":
                blocks.append((title, start, "\n".join(body)))
                body, title = None, None
            else:
                body.append(line.text)
        elif line.fence == "open" and line.text.startswith("~~~xml"):
            body, start = [], start if title else line.number
        elif not line.in_fence and (match := _EXAMPLE.match(line.text)):
            title, start = markdown.render_links(match.group(1)), line.number
    return blocks
