"""Reading spec files (YAML) and scenario banks (YAML or JSONL) into plain data that remembers
where every piece was written.

PyYAML alone is not enough for a spec language: it silently keeps the last of two duplicate
keys, expands alias bombs until memory runs out, turns `2025-12-18` into a date and forgets
line numbers once it has built Python objects. So the file is composed into nodes by
libyaml (fast) and the nodes are turned into data here, with those holes closed. The nodes
are kept so an error found later (schema, references) can still be pinned to a line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spec_pytest.errors import InputError
from spec_pytest.spec.errors import Problem, SpecError, at

MAX_YAML_BYTES = 16 * 1024 * 1024
MAX_JSONL_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64
#: Aliases may repeat this many nodes beyond the file's own before we call it a bomb.
ALIAS_ALLOWANCE = 100_000

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: What YAML counts as a line break, so our line numbers agree with libyaml's.
YAML_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_PLAIN_SCALARS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:float",
    _INT,
}


@dataclass
class Document:
    """A parsed file: its data plus a way back from a data path to file:line:col.

    A YAML file read the fast way (`_read_plain_yaml`) keeps its text and the positions of the
    values at most two levels deep, which is every position a sound spec asks for (where each
    scenario, principle and conflict starts); the node tree behind any other position is
    composed from the text the first time one is asked for, so only a file with a problem to
    point at pays for it.
    """

    path: Path
    data: Any
    root: yaml.Node | None = None  # YAML files: composed on demand when `text` is kept (`tree`)
    entry_lines: list[int] = field(default_factory=list)  # JSONL files: line of each entry
    text: str | None = None  # YAML read the fast way: the text `tree` composes
    positions: dict[tuple[str | int, ...], tuple[int, int]] = field(default_factory=dict)

    def tree(self) -> yaml.Node | None:
        """The YAML node tree (None for JSONL), composed from the kept text on first use."""
        if self.root is None and self.text is not None:
            self.root = yaml.compose(self.text, Loader=_Loader)  # it read once already: it reads again
        return self.root

    def locate(self, data_path: Sequence[str | int], key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the value at `data_path`, or of its key if `key`.

        Walks as far as the path exists, so a missing key points at the mapping that lacks it.
        """
        if self.root is None and self.text is not None and not key:
            known = self.positions.get(tuple(data_path))
            if known is not None:
                return known
        root = self.tree()
        if root is None:
            if data_path and isinstance(data_path[0], int) and data_path[0] < len(self.entry_lines):
                return self.entry_lines[data_path[0]], 1
            return 1, 1
        node = root
        mark = node.start_mark
        last = len(data_path) - 1
        for index, step in enumerate(data_path):
            child = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(step):
                        child, mark = v, (k.start_mark if key and index == last else v.start_mark)
                        break
            elif (
                isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value)
            ):
                child = node.value[step]
                mark = child.start_mark
            if child is None:
                break
            node = child
        return mark.line + 1, mark.column + 1


@dataclass(frozen=True, slots=True)
class Placed:
    """A raw entry together with where it sits, so later checks can point at it."""

    document: Document
    path: tuple[str | int, ...]
    data: Any

    def at(self, message: str, *sub: str | int, key: bool = False) -> Problem:
        line, column = self.document.locate([*self.path, *sub], key=key)
        return at(self.document.path, line, column, message)


def read(path: Path) -> Document:
    """Read a spec file or bank; raises SpecError (never anything else) on bad input."""
    path = Path(path)
    is_jsonl = path.suffix == ".jsonl"
    limit = MAX_JSONL_BYTES if is_jsonl else MAX_YAML_BYTES
    try:
        size = path.stat().st_size
        if size > limit:
            raise SpecError(
                [
                    at(
                        path,
                        1,
                        1,
                        (
                            f"file is {_size(size)}, over the {_size(limit)} limit for "
                            f"{'JSONL banks' if is_jsonl else 'YAML files'}; move scenarios into JSONL "
                            "banks (`- include: bank.jsonl`) or split the file"
                        ),
                    )
                ]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([at(path, 1, 1, f"cannot read file: {exc.strerror or exc}")]) from None
    text = _decode(path, raw)
    if not text.strip():
        raise SpecError([at(path, 1, 1, _empty_message(is_jsonl))])
    return _read_jsonl(path, text) if is_jsonl else _read_yaml(path, text)


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MiB" if count >= 2**20 else f"{count / 1024:.1f} KiB"


def _empty_message(is_jsonl: bool) -> str:
    if is_jsonl:
        return "file is empty; a scenario bank holds one JSON scenario object per line"
    return (
        "file is empty; a spec starts with `spec: NAME`, `levels: [...]` and "
        "`principles: [...]` (see docs/spec-format.md)"
    )


def _decode(path: Path, raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise SpecError(
            [
                at(
                    path,
                    line,
                    column,
                    (
                        f"file is not UTF-8 (byte 0x{raw[exc.start]:02x} here); re-save it as UTF-8, "
                        "e.g. `iconv -f latin1 -t utf-8`"
                    ),
                )
            ]
        ) from None


def _read_jsonl(path: Path, text: str) -> Document:
    entries: list[Any] = []
    lines: list[int] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            # one decoder for every line (json.loads builds one per call when given a hook); a
            # stray BOM goes through json.loads, whose message names it
            entries.append(
                _JSON.decode(line)
                if line[:1] != "\ufeff"
                else json.loads(line, object_pairs_hook=_no_duplicate_pairs)
            )
            lines.append(number)
        except _DuplicateKey as exc:
            problems.append(
                at(
                    path,
                    number,
                    1,
                    (
                        f"duplicate key '{exc.key}' in this JSON object; only one may stay: "
                        "remove or rename the other"
                    ),
                )
            )
        except (ValueError, RecursionError) as exc:
            column = getattr(exc, "colno", 1)
            reason = getattr(exc, "msg", "nested too deeply")
            problems.append(
                at(
                    path,
                    number,
                    column,
                    (
                        f"not valid JSON ({reason}); each line of a .jsonl bank must be one "
                        "complete JSON object"
                    ),
                )
            )
    if problems:
        raise SpecError(problems)
    return Document(path, entries, entry_lines=lines)


class _DuplicateKey(InputError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicate_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)  # built in C; only an object with a repeated key is walked again
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


_JSON = json.JSONDecoder(object_pairs_hook=_no_duplicate_pairs)


def _read_yaml(path: Path, text: str) -> Document:
    tabs = _tab_indents(path, text)
    if tabs:
        raise SpecError(tabs)
    plain = _read_plain_yaml(path, text)
    if plain is not None:
        return plain
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise SpecError([_syntax_problem(path, text, exc)]) from None
    except RecursionError:
        raise SpecError([at(path, 1, 1, "nesting is too deep to read; flatten the file")]) from None
    if root is None:
        raise SpecError([at(path, 1, 1, _empty_message(False))])
    builder = _Builder(path, root)
    data = builder.build(root, 0)
    if builder.problems:
        raise SpecError(builder.problems)
    return Document(path, data, root=root)


def _tab_indents(path: Path, text: str) -> list[Problem]:
    if "\t" not in text:  # most files: no line to split and look at (700k lines at 100k scenarios)
        return []
    problems = []
    for number, line in enumerate(YAML_LINE_BREAK.split(text), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            problems.append(
                at(
                    path,
                    number,
                    indent.index("\t") + 1,
                    ("tab in indentation; YAML indents with spaces only: replace the tab with spaces"),
                )
            )
            if len(problems) >= 20:
                break
    return problems


def _syntax_problem(path: Path, text: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    else:  # ReaderError: a character YAML does not allow, given by offset
        position = getattr(exc, "position", 0) or 0
        before = text[:position]
        line, column = before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1
    lines = YAML_LINE_BREAK.split(text)
    if line > len(lines):  # libyaml marks the end of the stream one line past the last
        line, column = len(lines), len(lines[-1]) + 1
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context else str(problem)
    return at(
        path,
        line,
        column,
        (
            f"YAML syntax error: {detail}; check indentation, quoting and brackets here "
            "(quote text that contains ': ' or starts with a special character)"
        ),
    )


class _Builder:
    """Turns composed nodes into plain data, collecting problems instead of stopping."""

    def __init__(self, path: Path, root: yaml.Node):
        self.path = path
        self.root = root
        self.problems: list[Problem] = []
        self.built = 0
        self.limit = ALIAS_ALLOWANCE  # raised once to fit the file's real size, see _over_limit
        self.bomb = False
        self.scalars = yaml.constructor.SafeConstructor()

    def problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(at(self.path, node.start_mark.line + 1, node.start_mark.column + 1, message))

    def build(self, node: yaml.Node, depth: int) -> Any:
        if self.bomb:
            return None
        self.built += 1
        if self.built > self.limit and self._over_limit():
            self.bomb = True
            self.problem(
                node,
                (
                    "aliases here expand to far more data than the file holds (an alias bomb?); "
                    "write the repeated parts out, or use fewer nested aliases"
                ),
            )
            return None
        if depth > MAX_DEPTH:
            self.problem(node, f"nested more than {MAX_DEPTH} levels deep; flatten this part")
            self.bomb = True
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self.problem(node, f"unsupported tag '{node.tag}'; remove it")
            return [self.build(child, depth + 1) for child in node.value]
        assert isinstance(node, yaml.MappingNode)  # libyaml composes only these three kinds
        if node.tag != _MAP:
            self.problem(node, f"unsupported tag '{node.tag}'; remove it")
        return self.mapping(node, depth)

    def _over_limit(self) -> bool:
        """True when aliases have made us build far more nodes than the file holds.

        Counting distinct nodes costs a walk, so it is done only once the build passes the
        allowance; an ordinary large file then gets a limit twice its size plus the allowance.
        """
        if self.limit == ALIAS_ALLOWANCE:
            seen: set[int] = set()
            stack = [self.root]
            while stack:
                node = stack.pop()
                if id(node) in seen:
                    continue
                seen.add(id(node))
                if isinstance(node, yaml.SequenceNode):
                    stack.extend(node.value)
                elif isinstance(node, yaml.MappingNode):
                    for pair in node.value:
                        stack.extend(pair)
            self.limit = 2 * len(seen) + ALIAS_ALLOWANCE
        return self.built > self.limit

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _TIMESTAMP:  # dates stay as written: versions like 2025-12-18 are text
            return node.value
        if tag in _PLAIN_SCALARS:
            if tag == _INT and node.value.isdigit():
                return int(node.value)
            return self.scalars.construct_object(node)
        self.problem(node, f"unsupported tag '{tag}'; remove it (spec files hold plain data only)")
        return node.value

    def mapping(self, node: yaml.MappingNode, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for source in self.merge_sources(value_node, depth):
                    for k, v in source.items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, "a key must be plain text, not a list or mapping")
                continue
            key = self.scalar(key_node)
            if not isinstance(key, str):
                key = key_node.value  # keys are names: `yes:` or `1:` mean the text
            if key in result:
                self.problem(
                    key_node,
                    (
                        f"duplicate key '{key}' (first at line {first_line[key]}); YAML would "
                        "silently keep only the last one: remove or rename one of them"
                    ),
                )
                continue
            first_line[key] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, depth + 1)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result

    def merge_sources(self, node: yaml.Node, depth: int) -> list[dict[Any, Any]]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        out = []
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self.problem(source, "`<<:` merges mappings only; give it an alias of a mapping")
                continue
            out.append(self.build(source, depth + 1))
        return out


#: Event kinds of the fast reader, and what stops it (the full reader then decides).
_SCALAR_TAGS = {_STR, _TIMESTAMP, *_PLAIN_SCALARS}
_NO_KEY = object()


class _NotPlain(Exception):
    """The file uses something only the full reader handles: aliases, anchors, explicit tags,
    merge keys, duplicate or non-text keys, deep nesting, several documents, a syntax error."""


def _read_plain_yaml(path: Path, text: str) -> Document | None:
    """The file's data straight from libyaml's parse events, without composing a node tree.

    A composed tree costs two position marks and a node object per scalar, and the resolver
    is called back from C for every one of them: for a 100k-scenario file that was most of
    the loading time and a peak of hundreds of MB. The events carry the same marks, one at a
    time. Only plain data is read this way; anything else (see `_NotPlain`), including every
    file with a problem, returns None and goes through the full reader, which reports it.
    The data equals what `_Builder` builds from the composed tree of the same file.
    """
    loader = _Loader(text)
    try:
        data, positions = _plain_events(loader)
    except (_NotPlain, yaml.YAMLError):
        return None
    finally:
        loader.dispose()
    return Document(path, data, text=text, positions=positions)


def _plain_events(loader: Any) -> tuple[Any, dict[tuple[str | int, ...], tuple[int, int]]]:
    resolvers = loader.yaml_implicit_resolvers
    constructor = yaml.constructor.SafeConstructor()
    positions: dict[tuple[str | int, ...], tuple[int, int]] = {}
    # one frame per open collection: [container, pending key (mappings), data path]
    stack: list[list[Any]] = []
    root: Any = _NO_KEY
    documents = 0
    scalar_event, mapping_start, sequence_start = (
        yaml.ScalarEvent,
        yaml.MappingStartEvent,
        yaml.SequenceStartEvent,
    )
    while True:
        event = loader.get_event()
        kind = type(event)
        if kind is scalar_event or kind is mapping_start or kind is sequence_start:
            if event.anchor is not None or event.tag not in (None, "!"):
                raise _NotPlain
            value: Any
            if kind is scalar_event:
                tag = _STR
                if event.implicit[0]:
                    for candidate, pattern in resolvers.get(event.value[:1], ()):
                        if pattern.match(event.value):
                            tag = candidate
                            break
                if tag not in _SCALAR_TAGS:
                    raise _NotPlain
                if tag in (_STR, _TIMESTAMP):  # dates stay as written, as in `_Builder.scalar`
                    value = event.value
                elif tag == _INT and event.value.isdigit():
                    value = int(event.value)
                else:
                    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
                    value = constructor.construct_object(node)
            else:
                if len(stack) >= MAX_DEPTH:
                    raise _NotPlain
                value = {} if kind is mapping_start else []
            where: tuple[str | int, ...] = ()
            if not stack:
                root = value
                positions[()] = (event.start_mark.line + 1, event.start_mark.column + 1)
            else:
                frame = stack[-1]
                container = frame[0]
                if type(container) is list:
                    where = (*frame[2], len(container))
                    container.append(value)
                elif frame[1] is _NO_KEY:  # a key: text as written (`yes:` and `1:` are names)
                    if kind is not scalar_event or event.value in container:
                        raise _NotPlain
                    frame[1] = event.value
                    continue
                else:
                    where = (*frame[2], frame[1])
                    container[frame[1]] = value
                    frame[1] = _NO_KEY
                if len(where) <= 2:
                    positions[where] = (event.start_mark.line + 1, event.start_mark.column + 1)
            if kind is not scalar_event:
                stack.append([value, _NO_KEY, where])
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            stack.pop()
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _NotPlain
        elif kind is yaml.StreamEndEvent:
            break
        elif kind is not yaml.StreamStartEvent and kind is not yaml.DocumentEndEvent:
            raise _NotPlain  # an alias
    if root is _NO_KEY:  # an empty document: the full reader says so
        raise _NotPlain
    return root, positions
