"""Problems found in spec files, each pinned to file:line:col with what to do about it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from spec_pytest.errors import InputError
from spec_pytest.spec.model import Location


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a spec file: where, what, and how to fix it."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class SpecError(InputError):
    """A spec (or a file it includes) is invalid; carries every problem found, in file order.

    This is the only exception the loader raises for bad input, so callers (the CLI, the
    pytest plugin) can print it as-is instead of a traceback.
    """

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(
            problems, key=lambda p: (str(p.location.path), p.location.line, p.location.column)
        )
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        lines = [str(p) for p in self.problems]
        if count > 1:
            lines.append(f"{count} problems")
        return "\n".join(lines)


def at(path: Path, line: int, column: int, message: str) -> Problem:
    return Problem(Location(path, line, column), message)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """'; did you mean 'x'?' when a close match exists, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
