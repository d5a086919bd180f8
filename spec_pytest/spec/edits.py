"""Line-level edits of a spec's YAML text: replace a conflict's `expect:` block, append a conflict.

Drafted expectations reach the author as a reviewable diff, so an edit must touch only the
lines it means to change: the file is never re-dumped (that would reorder keys, drop comments
and turn one change into a thousand-line diff). Positions come from the YAML node marks of
`spec_pytest.spec.document`; the new lines are rendered in block style at the indentation of
what they replace. Works on any YAML file holding a top-level ``conflicts:`` list (a spec, or a
suite's hand-written ``*.conflicts.yaml``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from spec_pytest.errors import InputError
from spec_pytest.spec import document


@dataclass(frozen=True, slots=True)
class DraftedExpectation:
    """An expectation in the spec's own terms, ready to be written as YAML."""

    lean_toward: str | None  # a value of the pair, or None for balanced
    strength: str | None  # moderate | strong | extreme (None when balanced)
    compliance: str
    refusal: tuple[str, ...]  # refusal levels accepted: ("none",) or ("partial", "full")...
    because: tuple[tuple[str, str], ...]  # (principle, quote)
    note: str = ""  # a YAML comment line above the block (who drafted it, from what)

    def lines(self, indent: int) -> list[str]:
        pad, inner = " " * indent, " " * (indent + 2)
        out = [f"{pad}# {self.note}"] if self.note else []
        out.append(f"{pad}expect:")
        if self.lean_toward is None:
            out.append(f"{inner}lean: balanced")
        else:
            out.append(
                f"{inner}lean: {{toward: {self.lean_toward}, strength: {self.strength or 'moderate'}}}"
            )
        out.append(f"{inner}compliance: {self.compliance}")
        refusal = self.refusal[0] if len(self.refusal) == 1 else "[" + ", ".join(self.refusal) + "]"
        out.append(f"{inner}refusal: {refusal}")
        out.append(f"{inner}because:")
        for principle, quote in self.because:
            out.append(f"{inner}  - principle: {principle}")
            out.append(f"{inner}    quote: {json.dumps(quote, ensure_ascii=False)}")
        return out


def _conflict_nodes(path: Path) -> tuple[list[str], yaml.SequenceNode]:
    doc = document.read(path)
    root = doc.tree()
    if not isinstance(root, yaml.MappingNode):
        raise InputError(f"{path}: not a YAML mapping; cannot place a drafted expectation")
    for key, value in root.value:
        if (
            isinstance(key, yaml.ScalarNode)
            and key.value == "conflicts"
            and isinstance(value, yaml.SequenceNode)
        ):
            return path.read_text(encoding="utf-8").splitlines(keepends=True), value
    raise InputError(f"{path}: no `conflicts:` list to place a drafted expectation in")


def _content_end(lines: Sequence[str], mark: yaml.Mark) -> int:
    """The index after a node's last line of content (trailing blanks and comments stay outside)."""
    at_line_start = mark.line >= len(lines) or not lines[mark.line][: mark.column].strip()
    end = min(mark.line if at_line_start else mark.line + 1, len(lines))
    while end > 0 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def replace_expectation(text_path: Path, conflict: str, drafted: DraftedExpectation, text: str) -> str:
    """``text`` (the current text of ``text_path``) with the `expect:` of ``conflict`` replaced."""
    lines, conflicts = _nodes_of(text_path, text)
    for item in conflicts.value:
        if not isinstance(item, yaml.MappingNode):
            continue
        fields = {k.value: (k, v) for k, v in item.value if isinstance(k, yaml.ScalarNode)}
        ident = fields.get("id")
        if ident is None or not isinstance(ident[1], yaml.ScalarNode) or ident[1].value != conflict:
            continue
        if "expect" not in fields:
            raise InputError(f"{text_path}: conflict '{conflict}' has no `expect:` to replace")
        key, value = fields["expect"]
        start, end = key.start_mark.line, _content_end(lines, value.end_mark)
        new = [line + "\n" for line in drafted.lines(key.start_mark.column)]
        return "".join([*lines[:start], *new, *lines[end:]])
    raise InputError(f"{text_path}: no conflict '{conflict}' to replace the expectation of")


def append_conflict(
    text_path: Path,
    text: str,
    conflict: str,
    values: tuple[str, str],
    principles: Sequence[str],
    description: str,
    drafted: DraftedExpectation,
) -> str:
    """``text`` with a new conflict after the last one of its `conflicts:` list."""
    lines, conflicts = _nodes_of(text_path, text)
    if not conflicts.value:
        raise InputError(f"{text_path}: the `conflicts:` list is empty; add the first conflict by hand")
    last = conflicts.value[-1]
    end = _content_end(lines, last.end_mark)
    column = last.start_mark.column
    dash = " " * (column - 2) + "- "
    pad = " " * column
    new = [
        f"{dash}id: {conflict}",
        f"{pad}description: {json.dumps(description, ensure_ascii=False)}",
        f"{pad}values: [{values[0]}, {values[1]}]",
        *([f"{pad}principles: [{', '.join(principles)}]"] if principles else []),
        *drafted.lines(column),
    ]
    return "".join([*lines[:end], *(line + "\n" for line in new), *lines[end:]])


def _nodes_of(path: Path, text: str) -> tuple[list[str], yaml.SequenceNode]:
    """The lines and `conflicts:` node of ``text`` (an edited version of ``path``'s text)."""
    if text == path.read_text(encoding="utf-8"):
        return _conflict_nodes(path)
    scratch = path.with_name(f".{path.name}.draft-check{path.suffix}")
    try:
        scratch.write_text(text, encoding="utf-8")
        lines, node = _conflict_nodes(scratch)
    finally:
        scratch.unlink(missing_ok=True)
    return lines, node


def unified_diff(path: Path, before: str, after: str, root: Path) -> str:
    """A ``git apply``-able diff of one file, with paths relative to ``root``."""
    name = path.resolve().relative_to(root.resolve()).as_posix()
    diff = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    text = "".join(diff)
    return f"diff --git a/{name} b/{name}\n{text}" if text else ""
