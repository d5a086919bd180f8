"""Loading a spec: the file, the scenario banks it includes, the schema, then the references.

`load_spec(path)` returns a `Spec` or raises `SpecError` listing every problem it found;
nothing else escapes, whatever the bytes in the file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from spec_pytest.spec import document, schema
from spec_pytest.spec.document import Document, Placed
from spec_pytest.spec.errors import Problem, SpecError
from spec_pytest.spec.model import Spec
from spec_pytest.spec.references import build_spec

BANK_SUFFIXES = (".yaml", ".yml", ".jsonl")


_CACHE: dict[Path, tuple[tuple[tuple[int, int], ...], Spec]] = {}


def load_spec_cached(path: str | Path) -> Spec:
    """`load_spec`, reusing the last result while none of the spec's files has changed.

    A pytest run reads each spec twice in one process (the header's preflight, then
    collection); large suites should not pay the schema check twice.
    """
    key = Path(path).resolve()
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == _stamps(hit[1].files):
        return hit[1]
    spec = load_spec(key)
    _CACHE[key] = (_stamps(spec.files), spec)
    return spec


def _stamps(files: tuple[Path, ...]) -> tuple[tuple[int, int], ...]:
    stamps = []
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            return ()
        stamps.append((stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def load_spec(path: str | Path) -> Spec:
    """Read, validate and cross-check a spec file and everything it includes."""
    path = Path(path).resolve()
    main = document.read(path)
    checked = schema.check(main)
    if checked.top:  # without a sound skeleton there is nothing to cross-check
        raise SpecError(checked.problems)
    if checked.stray:  # a misspelt top-level key: report it and cross-check everything else
        main = replace(main, data={k: v for k, v in main.data.items() if k not in checked.stray})
    problems = [*checked.stray_problems, *checked.entries]
    scenarios: list[Placed] = []
    files: list[Path] = [path]
    _collect_scenarios(
        main, ("scenarios",), main.data.get("scenarios", []), [path], scenarios, files, problems, checked.bad
    )
    try:
        spec = build_spec(main, scenarios, tuple(files))
    except SpecError as exc:  # reference problems of the sound entries, beside the schema's
        raise SpecError([*problems, *exc.problems]) from None
    if problems:
        raise SpecError(problems)
    return spec


def _collect_scenarios(
    doc: Document,
    base: tuple[str | int, ...],
    entries: list[Any],
    stack: list[Path],
    out: list[Placed],
    files: list[Path],
    problems: list[Problem],
    skip: frozenset[int] = frozenset(),
) -> None:
    """Flatten scenario entries, following `include:` into banks (depth first, in order).

    Entries in `skip` failed the schema (their problems are reported already) and are left out.
    """
    for index, entry in enumerate(entries):
        if index in skip:
            continue
        placed = Placed(doc, (*base, index), entry)
        if "include" not in entry:
            out.append(placed)
            continue
        target = (doc.path.parent / entry["include"]).resolve()
        if target.suffix not in BANK_SUFFIXES:
            problems.append(
                placed.at(
                    f"cannot include '{entry['include']}': a scenario bank must be .yaml, .yml or .jsonl",
                    "include",
                )
            )
            continue
        if target in stack:
            cycle = " -> ".join(p.name for p in [*stack[stack.index(target) :], target])
            problems.append(placed.at(f"include cycle: {cycle}; remove one of these includes", "include"))
            continue
        if not target.is_file():
            problems.append(
                placed.at(
                    f"included file '{entry['include']}' not found (looked for {target}); "
                    "paths are relative to the including file",
                    "include",
                )
            )
            continue
        try:
            bank = document.read(target)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        files.append(target)
        if target.suffix == ".jsonl":
            found = schema.check(bank, root="lines")
            bank_base: tuple[str | int, ...] = ()
            bank_entries = bank.data
        else:
            found = schema.check(bank, root="bank")
            bank_base = ("scenarios",)
            bank_entries = bank.data.get("scenarios", []) if isinstance(bank.data, dict) else []
        problems.extend(found.problems)
        if found.top:
            continue
        if target.suffix == ".jsonl":
            nested = [i for i, e in enumerate(bank_entries) if i not in found.bad and "include" in e]
            for i in nested:
                problems.append(
                    Placed(bank, (i,), bank_entries[i]).at(
                        "a .jsonl bank cannot include other files; list the include in the spec"
                    )
                )
            if nested:
                continue
        _collect_scenarios(bank, bank_base, bank_entries, [*stack, target], out, files, problems, found.bad)
