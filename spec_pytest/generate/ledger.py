"""The bank on disk, written so that a killed run can continue without losing or repeating.

Three files sit side by side: the bank (``BANK.jsonl``: the scenarios kept), the dropped
file (``BANK.dropped.jsonl``: every generation left out and why) and the ledger
(``BANK.ledger.jsonl``). Each finished pair is committed in one step: its lines are
appended to the bank and the dropped file and both are fsynced, then one ledger line
records the pair and the two files' sizes, and is fsynced too. A run that dies in between
leaves lines the ledger does not vouch for; the next run cuts both files back to the sizes
of the last ledger line and redoes that pair (from its cassettes, so identically).

The ledger's first line holds the settings that shape the bank (generator, template
version, queries per pair, contexts, threshold): continuing a bank with other settings
would mix two banks in one file, so that is refused with the way out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from spec_pytest.errors import InputError
from spec_pytest.secrets import scrub_data
from spec_pytest.spec.importers import jsonl_line


class LedgerError(InputError):
    """The files on disk do not fit together; the message says which file and what to do."""


def dropped_path(bank: Path) -> Path:
    return bank.with_name(f"{bank.stem}.dropped.jsonl")


def ledger_path(bank: Path) -> Path:
    return bank.with_name(f"{bank.stem}.ledger.jsonl")


class BankFiles:
    def __init__(self, bank: Path, settings: Mapping[str, Any]) -> None:
        self.bank = Path(bank)
        self.dropped = dropped_path(self.bank)
        self.ledger = ledger_path(self.bank)
        self.settings = dict(settings)
        self.finished: dict[str, dict[str, Any]] = {}

    def open(self) -> dict[str, dict[str, Any]]:
        """Check the files, cut off what no ledger line vouches for; the finished pairs."""
        entries = self._read_ledger()
        if entries is None:
            for path in (self.bank, self.dropped):
                if path.exists() and path.stat().st_size:
                    raise LedgerError(
                        f"{path} exists but has no ledger ({self.ledger.name}), so it was not written by "
                        f"an interrupted generation; choose another --out or remove the file"
                    )
            self.bank.parent.mkdir(parents=True, exist_ok=True)
            self._append(self.ledger, [{"ledger": 1, "settings": self.settings}])
            entries = []
        bank_size = entries[-1]["bank_bytes"] if entries else 0
        dropped_size = entries[-1]["dropped_bytes"] if entries else 0
        for path, size in ((self.bank, bank_size), (self.dropped, dropped_size)):
            actual = path.stat().st_size if path.exists() else 0
            if actual < size:
                raise LedgerError(
                    f"{path} is shorter ({actual} bytes) than its ledger records ({size}); it was edited "
                    f"after generation. Remove {self.ledger.name} (and the bank) to generate afresh"
                )
            with open(path, "ab") as handle:  # creates it; cuts a killed run's uncommitted tail
                handle.truncate(size)
        self.finished = {e["pair"]: e for e in entries}
        return self.finished

    def kept_lines(self) -> list[dict[str, Any]]:
        """The scenarios already in the bank (to rebuild the duplicate index when continuing)."""
        if not self.bank.exists():
            return []
        return [json.loads(line) for line in self.bank.read_text(encoding="utf-8").split("\n") if line]

    def commit(self, pair: str, kept: Iterable[dict[str, Any]], dropped: Iterable[dict[str, Any]]) -> None:
        kept, dropped = list(kept), list(dropped)
        self._append(self.bank, kept)
        self._append(self.dropped, dropped)
        entry = {
            "pair": pair,
            "kept": len(kept),
            "dropped": len(dropped),
            "bank_bytes": self.bank.stat().st_size,
            "dropped_bytes": self.dropped.stat().st_size,
        }
        self._append(self.ledger, [entry])
        self.finished[pair] = entry

    @staticmethod
    def _append(path: Path, lines: list[dict[str, Any]]) -> None:
        with open(path, "a", encoding="utf-8", newline="\n") as handle:
            handle.write("".join(jsonl_line(scrub_data(line)) for line in lines))  # no key on disk
            handle.flush()
            os.fsync(handle.fileno())

    def _read_ledger(self) -> list[dict[str, Any]] | None:
        if not self.ledger.exists():
            return None
        raw = self.ledger.read_text(encoding="utf-8")
        lines = raw.split("\n")[:-1]  # only newline-terminated lines were committed
        parsed: list[dict[str, Any]] = []
        good_bytes = 0
        for line in lines:
            try:
                parsed.append(json.loads(line))
            except ValueError:
                break  # a line torn by a kill: everything before it stands
            good_bytes += len(line.encode("utf-8")) + 1
        if not parsed or "ledger" not in parsed[0]:
            raise LedgerError(f"{self.ledger} is not a generation ledger; remove it to start afresh")
        if parsed[0].get("settings") != self.settings:
            changed = _diff(parsed[0].get("settings"), self.settings)
            raise LedgerError(
                f"{self.bank} was generated with other settings ({changed}); "
                f"continue with the same settings, or write to another --out"
            )
        if good_bytes < len(raw.encode("utf-8")):
            with open(self.ledger, "ab") as handle:
                handle.truncate(good_bytes)
        return parsed[1:]


def _diff(old: Any, new: Mapping[str, Any]) -> str:
    old = old if isinstance(old, dict) else {}
    keys = sorted(set(old) | set(new))
    changed = [k for k in keys if old.get(k) != new.get(k)]
    return ", ".join(f"{k}: {old.get(k)!r} then, {new.get(k)!r} now" for k in changed)
