"""What an import did: counts of what was taken, and each thing left out with the reason.

An importer never drops material silently: a reader of the report can decide whether a
left-out example matters, and a test can assert that the format was understood.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Unparsed:
    """One item of the source that did not become part of the output."""

    where: str  # file:line or a row number, so the reader can find it
    what: str  # e.g. "example 'asking for contact info'"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}: {self.reason}"


@dataclass
class ImportReport:
    """Counts (principles, examples, scenarios ...) and the items left out, printable."""

    kind: str
    source: Path
    counts: dict[str, int] = field(default_factory=dict)
    unparsed: list[Unparsed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    def skip(self, where: str, what: str, reason: str) -> None:
        self.unparsed.append(Unparsed(where, what, reason))

    def __str__(self) -> str:
        lines = [f"import {self.kind} from {self.source}"]
        lines += [f"  {name}: {count}" for name, count in self.counts.items()]
        lines += [f"  wrote {path}" for path in self.written]
        lines += [f"  note: {note}" for note in self.notes]
        if self.unparsed:
            lines.append(f"  not imported ({len(self.unparsed)}):")
            lines += [f"    {item}" for item in self.unparsed]
        return "\n".join(lines)


@dataclass
class Imported:
    """An importer's result: the document to write, values a bank needs, and the report.

    `document` is a spec mapping (for YAML) or, for a scenario bank, a mapping whose
    `scenarios` list becomes the lines of a .jsonl file. `values` are the value
    declarations a bank's scenarios use; a spec that includes the bank must declare them.
    """

    document: dict[str, Any]
    report: ImportReport
    values: dict[str, str] = field(default_factory=dict)
    is_bank: bool = False
