"""Local paths in a report: shown relative to the report, never as the absolute path of one machine.

Records hold cassette paths as the run saw them, usually absolute (``/home/runner/work/x/
cassettes/...``, the rootdir joined to ``spec_cassette_dir``), and error texts quote them. A
report is shared (a CI artefact, a pull-request comment), so an absolute path leaks a user
name and a directory layout, and its link works on no other machine. `LocalPaths` rewrites
each one relative to the report's directory: the link then works wherever the report is
opened next to the checkout (``cassettes/...`` or ``../cassettes/...``).

A relative path can still leak: from ``/tmp/out`` to ``/home/alice/proj/cassettes`` it is
``../../home/alice/proj/...``. So a path is made relative only when it and the report's
directory share an ancestor at least `SHARED_DEPTH` levels below the filesystem root (a
project, or at least a user's home); otherwise only its part under the cassette directory's
suite folder is shown (``openai_modelspec/openai/gpt-4.1/x.s0.json``), as text, not as a link,
or its file name when that folder is not in it.

Free text (an error quoting its cassette) gets the same rewriting for every absolute path in
it whose top folder is one the records' own paths or the report live under (``/home``,
``/work``): an endpoint's URL path quoted in the same message (``/v1/...``) is not a local path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath

from spec_pytest.results.records import Record

#: Shared ancestor depth below which a relative path would spell out someone's directories.
SHARED_DEPTH = 2
#: An absolute POSIX path inside free text (an error message quoting a cassette): it starts
#: after a space, quote or bracket, never inside a word or a URL (``https://host/x``).
_ABSOLUTE_IN_TEXT = re.compile(r"(?<![\w.:/~-])/(?:[\w.@+-]+/)+[\w.@+-]*")


@dataclass(frozen=True)
class Shown:
    """How a path appears: ``text`` always, ``href`` (relative) only when the link can work."""

    text: str
    href: str | None


@dataclass(frozen=True)
class LocalPaths:
    """Rewrites paths relative to ``base`` (the report's directory, absolute)."""

    base: PurePath
    #: Suite ids of the records: the folder of the cassette layout a fallback starts from.
    suites: frozenset[str] = frozenset()
    #: Top folders of the local paths known (the base's, the records' cassettes'): free text
    #: is rewritten under these only.
    tops: frozenset[str] = frozenset()

    @classmethod
    def for_report(
        cls, base: str | os.PathLike[str] | None, suites: Iterable[str] = (), paths: Iterable[str] = ()
    ) -> LocalPaths:
        """For a report written into ``base`` (default: the current directory, where CI runs),
        about records of ``suites`` whose files are ``paths`` (cassettes)."""
        where = PurePath(os.path.abspath(base if base is not None else os.getcwd()))
        tops = {_top(PurePath(p)) for p in paths if PurePath(p).is_absolute()} | {_top(where)}
        return cls(where, frozenset(suites), frozenset(t for t in tops if t))

    @classmethod
    def of_records(cls, records: Iterable[Record], base: str | os.PathLike[str] | None) -> LocalPaths:
        """For a report on ``records`` written into ``base``."""
        records = list(records)
        files = [p for r in records for p in r.cassettes.values()]
        return cls.for_report(base, {r.suite for r in records}, files)

    def show(self, path: str) -> Shown:
        """One path as the report shows it; a relative path stays as the record holds it."""
        if not path:
            return Shown(path, None)
        target = PurePath(path)
        if not target.is_absolute():
            return Shown(target.as_posix(), target.as_posix())
        target = PurePath(os.path.normpath(target))
        try:
            shared = PurePath(os.path.commonpath([target, self.base]))
        except ValueError:  # another drive (Windows): nothing in common
            shared = PurePath(target.anchor)
        if len(shared.parts) - 1 >= SHARED_DEPTH:
            relative = PurePath(os.path.relpath(target, self.base)).as_posix()
            return Shown(relative, relative)
        return Shown(self._under_suite(target), None)

    def _under_suite(self, target: PurePath) -> str:
        parts = target.parts
        for i in range(len(parts) - 2, 0, -1):  # the last suite folder: cassette dirs may nest
            if parts[i] in self.suites:
                return PurePosixPath(*parts[i:]).as_posix()
        return target.name

    def text(self, value: str) -> str:
        """Free text (an error, a reason) with every absolute path in it rewritten by `show`."""

        def local(match: re.Match[str]) -> str:
            path = match.group(0)
            return self.show(path).text if _top(PurePath(path)) in self.tops else path

        return _ABSOLUTE_IN_TEXT.sub(local, value)


def _top(path: PurePath) -> str:
    """The first folder below the root (``home`` of ``/home/alice/x``), empty for the root."""
    return path.parts[1] if path.is_absolute() and len(path.parts) > 1 else ""
