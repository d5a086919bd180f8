"""Items that could not run for want of a key: one grouped block, not one section per item.

A fresh clone with no keys and no cassettes makes every item an ERROR for the same reason
(the header already said which keys are missing and the ways forward). pytest would print an
ERRORS section and a summary line per item, the same text hundreds of times; here only the
first such item per missing variable is listed in full, and all of them are summed up in one
block per missing variable at the end. They stay errors: counted in pytest's last line, in
the exit status, in JUnit XML and in the results, and shown one line each with ``-v``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

#: Set on the report (serialised to xdist's controller with it): the variable that was missing.
REPORT_KEY = "spec_missing_key"


def mark(report: Any, missing: str | None) -> None:
    """Note on a failed ``report`` which key its item lacked (``missing``), if that is why."""
    if report.failed and missing:
        vars(report)[REPORT_KEY] = missing


def missing_key(report: Any) -> str | None:
    return getattr(report, REPORT_KEY, None)


def split(reports: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """(reports to list as usual, the other reports of items that lacked a key): of those, the
    first per variable stays listed in full; the rest only count in the `block`."""
    shown: list[Any] = []
    hidden: list[Any] = []
    seen: set[str] = set()
    for report in reports:
        key = missing_key(report)
        if key is None or key not in seen:
            shown.append(report)
            if key is not None:
                seen.add(key)
        else:
            hidden.append(report)
    return shown, hidden


def block(reports: Sequence[Any]) -> list[str]:
    """The grouped lines: per missing variable, how many items and the first of them
    (``reports``: every report of an item that lacked a key)."""
    if not reports:
        return []
    by_key: dict[str, list[str]] = defaultdict(list)
    for report in reports:
        by_key[str(missing_key(report))].append(report.nodeid)
    lines = [f"{len(reports)} item(s) could not run: no key is set for calls they still need to record"]
    for key, ids in sorted(by_key.items()):
        lines.append(f"  no {key}: {len(ids)} item(s), e.g. {ids[0]}")
    lines.append(
        "  set the key(s) and run again (later runs replay the cassettes without keys), or point "
        "--model/--judge at a local server (README: 'Local models'); these items are errors, not passes"
    )
    return lines
