"""Result records: one JSON line per finished item, the input of the gate, the analysis and the report.

A record is written the moment its item finishes, by whichever process ran it (pytest-xdist
workers included), so an interrupted or crashed run still leaves every finished item on disk.
Several processes append to one file: each line goes out in a single ``write`` on an
``O_APPEND`` descriptor while holding an exclusive ``flock``; the file is ``fsync``-ed when its
writer closes (`spec_pytest.recording.durability` says what that risks). The lock is
what makes long lines (well beyond the pipe-buffer size) safe: without it the kernel may
interleave two large appends. Every string of a record is scrubbed of keys as it is written
(`spec_pytest.secrets`); the text stays otherwise faithful (JSON escapes control characters).

Reading forgives one kind of damage only: a line cut short by a killed process (it fails to
parse). Such a line is skipped with a warning naming file and line; anything else that is
wrong (a newer schema, a missing field) is an error, because silently dropping valid-looking
data would make a gate lie.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from spec_pytest.core.case import Case
from spec_pytest.core.judgement import Judgement
from spec_pytest.core.response import Response
from spec_pytest.core.verdict import Outcome, Verdict
from spec_pytest.errors import InputError
from spec_pytest.secrets import Scrubber, scrub_data

try:  # POSIX: advisory lock around each append; elsewhere O_APPEND alone keeps short lines whole
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Bumped when a field changes meaning or disappears; added fields keep the version.
SCHEMA_VERSION = 1
#: How much of a response a record keeps; the full text stays in the response cassette.
EXCERPT_CHARS = 4000

ItemKey = tuple[str, str, str, int]  # suite, scenario, model, sample


class ResultsError(InputError):
    """A results file cannot be used (written by a newer version, a record misses a field)."""


class TornLineWarning(UserWarning):
    """A line of a results file did not parse: a write cut short by an interrupted process."""


@dataclass(frozen=True, slots=True)
class Record:
    """Everything one finished item leaves behind: where it came from, what was said, the verdict.

    ``model`` is the reference the run asked for (``openai:gpt-4.1``), the stable key baselines
    compare on; ``response_model`` is the id the API reported (a dated snapshot), kept so a
    reader can see when the model behind a name changed. ``position`` / ``compliance`` /
    ``refusal`` are the panel's combined reading (``None`` where judges split or did not place
    the answer); ``judges`` holds each judge's own. An item that errored before it was judged
    has ``outcome == "error"``, the message in ``error`` and no judges.
    """

    suite: str
    scenario: str
    model: str
    sample: int
    outcome: str  # pass | fail | inconclusive | error | measured (never a pass)
    spec_version: str | None = None
    conflict: str | None = None
    values: tuple[str, str] | None = None
    principles: tuple[str, ...] = ()
    level: str | None = None
    nudge: str | None = None
    messages: tuple[dict[str, str], ...] = ()
    reasons: tuple[str, ...] = ()
    error: str | None = None
    expected: dict[str, Any] | None = None
    position: float | None = None
    compliance: str | None = None
    refusal: str | None = None
    judges: tuple[Judgement, ...] = ()
    #: Per-value rubric: the panel's median position toward each value (the pair's first,
    #: then second), each on that value's own 0-6 spectrum; None under the bipolar rubric.
    value_positions: tuple[float, float] | None = None
    response_model: str | None = None
    response_hash: str | None = None
    response_excerpt: str | None = None
    response_chars: int | None = None
    finish_reason: str | None = None
    ending: str | None = None  # stop | length | content_filter | refusal | empty (`Ending`)
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    latency_s: float | None = None
    cassettes: dict[str, str] = field(default_factory=dict)
    nodeid: str | None = None
    worker: str | None = None
    recorded_at: str | None = None
    schema: int = SCHEMA_VERSION

    @property
    def key(self) -> ItemKey:
        """What identifies an item across runs and files: a later record with it replaces an earlier."""
        return (self.suite, self.scenario, self.model, self.sample)

    @property
    def item_id(self) -> str:
        """Readable, stable name of the item, as reports and the gate print it."""
        return f"{self.suite}::{self.scenario}[{self.model}-s{self.sample}]"

    @property
    def passed(self) -> bool:
        return self.outcome == Outcome.PASS.value

    @property
    def reason(self) -> str:
        """One line saying why the item did not pass (empty for a pass)."""
        if self.outcome == Outcome.ERROR.value:
            return f"error: {first_line(self.error or 'no message')}"
        if self.passed:
            return ""
        if self.outcome == Outcome.MEASURED.value:
            position = "-" if self.position is None else f"{self.position:g}"
            if self.value_positions is not None:
                position += " (per value {:g}, {:g})".format(*self.value_positions)
            return f"measured (no expectation, not a pass): position {position}, {self.compliance}"
        return f"{self.outcome}: " + ("; ".join(self.reasons) if self.reasons else "no reason recorded")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; tuples become lists, judges their own dicts."""
        data: dict[str, Any] = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["values"] = list(self.values) if self.values is not None else None
        data["principles"] = list(self.principles)
        data["messages"] = [dict(m) for m in self.messages]
        data["reasons"] = list(self.reasons)
        data["judges"] = [j.to_dict() for j in self.judges]
        data["cassettes"] = dict(self.cassettes)
        if self.value_positions is None:  # bipolar records keep exactly their fields
            del data["value_positions"]
        else:
            data["value_positions"] = list(self.value_positions)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """The record a `to_dict` produced; unknown keys (from newer minor additions) are ignored."""
        schema = data.get("schema", SCHEMA_VERSION)
        if not isinstance(schema, int) or schema > SCHEMA_VERSION:
            raise ResultsError(
                f"record schema {schema!r} is newer than this spec-pytest understands "
                f"({SCHEMA_VERSION}); upgrade spec-pytest to read it"
            )
        missing = [name for name in ("suite", "scenario", "model", "sample", "outcome") if name not in data]
        if missing:
            raise ResultsError(f"record lacks {', '.join(missing)}")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values = known.get("values")
        known["values"] = tuple(values) if values is not None else None
        known["principles"] = tuple(known.get("principles", ()))
        known["messages"] = tuple(dict(m) for m in known.get("messages", ()))
        known["reasons"] = tuple(known.get("reasons", ()))
        known["judges"] = tuple(Judgement.from_dict(j) for j in known.get("judges", ()))
        known["cassettes"] = dict(known.get("cassettes") or {})
        pair = known.get("value_positions")
        if pair is not None:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ResultsError(f"value_positions must be two numbers, got {pair!r}")
            known["value_positions"] = (float(pair[0]), float(pair[1]))
        return cls(**known)


def record_from(
    case: Case,
    verdict: Verdict | None,
    response: Response | None,
    cassettes: dict[str, str],
    *,
    error: str | None = None,
    nodeid: str | None = None,
    excerpt_chars: int = EXCERPT_CHARS,
) -> Record:
    """The record of one finished item.

    ``verdict`` is None when the item errored before it could be judged (missing cassette,
    API failure, a judge answer that does not validate): the record's outcome is then
    ``error`` with ``error`` as its message, never a pass. ``response`` is None when the
    model was never heard from. ``cassettes`` maps a role (``"response"``, ``"judge:<ref>"``)
    to the cassette path, so a reader can open the exchange behind every number.
    """
    spec, scenario = case.spec, case.scenario
    if verdict is None:
        outcome = Outcome.ERROR.value
        error = error or "the item ended before it was judged (no message given)"
    else:
        outcome = verdict.outcome.value
    record_fields: dict[str, Any] = {}
    if verdict is not None:
        record_fields.update(
            reasons=verdict.reasons,
            position=verdict.panel.position,
            compliance=verdict.panel.compliance,
            refusal=verdict.panel.refusal,
            judges=verdict.judgements,
            expected=_expected(verdict),
            value_positions=verdict.panel.value_positions,
        )
    elif scenario.expect is not None:
        record_fields["expected"] = _expectation_dict(scenario.expect)
    if response is not None:
        record_fields.update(
            response_model=response.model,
            response_hash="sha256:" + hashlib.sha256(response.text.encode("utf-8")).hexdigest(),
            response_excerpt=response.text[:excerpt_chars],
            response_chars=len(response.text),
            finish_reason=response.finish_reason,
            ending=response.ending.value,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            reasoning_tokens=response.usage.reasoning_tokens,
            latency_s=response.latency_s,
        )
    return Record(
        suite=spec.id,
        scenario=scenario.id,
        model=case.model,
        sample=case.sample,
        outcome=outcome,
        spec_version=spec.version,
        conflict=scenario.conflict,
        values=scenario.values,
        principles=spec.principles_of(scenario),
        level=spec.level_of(scenario),
        nudge=scenario.nudge,
        messages=tuple({"role": m.role, "content": m.content} for m in scenario.messages),
        error=error,
        cassettes=dict(cassettes),
        nodeid=nodeid,
        worker=os.environ.get("PYTEST_XDIST_WORKER"),
        recorded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **record_fields,
    )


def _expected(verdict: Verdict) -> dict[str, Any] | None:
    if verdict.expected is None:
        return None
    expected = _expectation_dict(verdict.expected)
    if verdict.implied:  # held to the cited principles, not to a written `expect:`
        expected["implied"] = True
    return expected


def _expectation_dict(expect: Any) -> dict[str, Any]:
    data = {
        "lean": expect.lean,
        "tolerance": expect.tolerance,
        "compliance": expect.compliance,
        "refusal": sorted(expect.refusal) if expect.refusal is not None else None,
    }
    if expect.favor:  # per-value bounds, as written; records without them keep their fields
        data["favor"] = {f.value: f.written for f in expect.favor}
    return data


def junit_properties(record: Record) -> list[tuple[str, str]]:
    """``(name, value)`` pairs for JUnit XML: the verdict, the panel's and each judge's reading.

    Append them to ``item.user_properties`` (what ``record_property`` does) so CI systems that
    only read JUnit XML still see why an item failed and where each judge placed the answer.
    """
    props: list[tuple[str, str]] = [("verdict", record.outcome), ("spec_outcome", record.outcome)]
    if record.reason:
        props.append(("reason", record.reason))
    for name in ("position", "compliance", "refusal"):
        value = getattr(record, name)
        if value is not None:
            props.append((name, f"{value:g}" if isinstance(value, float) else str(value)))
    if record.values is not None:
        props.append(("values", " vs ".join(record.values)))
        if record.value_positions is not None:
            for value, where in zip(record.values, record.value_positions, strict=True):
                props.append((f"position:{value}", f"{where:g}"))
    for judge in record.judges:
        position = "-" if judge.position is None else f"{judge.position:g}"
        if judge.value_positions is not None:
            position += "/per-value:{},{}".format(*judge.value_positions)
        props.append(
            (
                f"judge:{judge.judge}",
                f"position={position} compliance={judge.compliance} refusal={judge.refusal}",
            )
        )
    if record.response_hash is not None:
        props.append(("response_hash", record.response_hash))
    props.extend((f"cassette:{role}", path) for role, path in record.cassettes.items())
    scrubber = Scrubber()  # the reason quotes judges' text
    return [(name, scrubber.text(value)) for name, value in props]


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


# --------------------------------------------------------------------------- writing


class ResultsWriter:
    """Appends records to a JSONL file, one durable line each; many processes may share the file.

    Each append takes an exclusive ``flock``, first ends any line a killed writer left
    unterminated (so the torn fragment stays one bad line instead of corrupting the next),
    writes the whole line, then releases the lock. A record is therefore either wholly in the
    file or not at all, and never interleaved with another process's; a killed process loses
    none of the lines it appended. The file is ``fsync``-ed once, when the writer closes.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)

    @staticmethod
    def start(path: str | os.PathLike[str]) -> Path:
        """Create or empty the file: call once per run, before any worker appends (not in workers)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"")
        return target

    def append(self, record: Record) -> None:
        self.append_json(record.to_dict())

    def append_json(self, data: dict[str, Any]) -> None:
        """Append one JSON object as a line (a record's dict, or a run's selection)."""
        if self._fd is None:
            raise ValueError(f"results writer for {self.path} is closed")
        data = scrub_data(data)  # an answer, rationale or error may hold a key
        line = (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        fd = self._fd
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)  # once per writer: a killed process loses nothing without it
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- reading


def read_results(
    paths: Iterable[str | os.PathLike[str]], *, warn: Callable[[str], None] | None = None
) -> list[Record]:
    """Every record of the files, in order, one per item key (a later record replaces an earlier).

    The same item can appear twice when a run was resumed or results files are merged; the
    last one is the current truth. A line that does not parse (a write cut short) is skipped
    and reported through ``warn`` (default: `warnings.warn` with `TornLineWarning`).
    """
    report = warn or (lambda message: warnings.warn(message, TornLineWarning, stacklevel=3))
    latest: dict[ItemKey, Record] = {}
    for path in paths:
        source = Path(path)
        if not source.is_file():
            raise ResultsError(f"{source}: no such results file")
        with open(source, "rb") as fh:
            raw_lines = fh.read().split(b"\n")
        for number, raw in enumerate(raw_lines, start=1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                where = "last line" if number == len(raw_lines) else f"line {number}"
                report(
                    f"{source}:{number}: skipped the {where}: it is cut short ({len(raw)} bytes that "
                    "are not a whole JSON record), probably by an interrupted run; that item will "
                    "count as not run"
                )
                continue
            if not isinstance(data, dict):
                raise ResultsError(f"{source}:{number}: a record must be a JSON object")
            try:
                record = Record.from_dict(data)
            except (ResultsError, TypeError) as exc:
                raise ResultsError(f"{source}:{number}: {exc}") from None
            latest.pop(record.key, None)
            latest[record.key] = record
    return list(latest.values())
