"""Static checks of a valid spec that need no model: where the spec argues with itself.

`load_spec` proves a spec *makes sense* (names exist, quotes occur). Lint asks whether its
expectations are *coherent* with the spec's own chain of command and with each other:

- ``lower-level-prevails`` (error): a conflict between two values that stand for two authority
  levels (``developer_instructions`` vs ``user_requests``: a value whose id names exactly one
  level) whose expectation leans toward the lower level, with no `because:` principle at or
  above the higher level to license it;
- ``contradictory-expectations`` (warning: two conflicts may be distinct contexts on purpose):
  two conflicts on the same value pair whose
  expectations cannot both hold (lean windows that do not overlap, different compliance,
  refusal sets with nothing in common);
- ``because-cannot-decide`` (error): every `because:` principle sits below the highest level
  among the conflict's principles, so by the chain of command the cited text cannot settle it;
- ``nudge-names-neither`` (error, from the loader; warning for study rows): a nudge that is
  neither neutral nor one of the pair's values is refused when the spec loads (lint reports it
  with the loader's other problems); a study row whose source nudged toward one of its values
  but whose `nudge:` says neutral or nothing is a warning;
- ``unexercised-expectation`` (warning): a conflict no scenario belongs to, so its
  expectation is never checked.

Every finding is located (file:line:col), like `validate`'s problems.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from spec_pytest.spec import document
from spec_pytest.spec.document import Document
from spec_pytest.spec.load import load_spec
from spec_pytest.spec.model import Conflict, Location, Spec

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    location: Location
    severity: str  # error | warning
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message} [{self.code}]"


def lint(path: str | Path) -> tuple[Spec, list[Finding]]:
    """The spec at ``path`` and its findings in file order; `SpecError` if it does not load."""
    spec = load_spec(path)
    return spec, lint_spec(spec)


def lint_spec(spec: Spec) -> list[Finding]:
    main = document.read(spec.path)
    where = _ConflictPlaces(main)
    findings = [
        *_lower_level_prevails(spec, where),
        *_contradictions(spec, where),
        *_because_cannot_decide(spec, where),
        *_study_nudges(spec),
        *_unexercised(spec, where),
    ]
    return sorted(findings, key=lambda f: (str(f.location.path), f.location.line, f.location.column, f.code))


class _ConflictPlaces:
    """file:line:col of a conflict's parts, from the spec file's own text."""

    def __init__(self, main: Document) -> None:
        self.main = main
        raw = main.data.get("conflicts", []) if isinstance(main.data, dict) else []
        self.index = {c.get("id"): i for i, c in enumerate(raw) if isinstance(c, dict)}

    def at(self, conflict: str, *sub: str | int) -> Location:
        index = self.index.get(conflict)
        if index is None:
            return Location(self.main.path, 1, 1)
        line, column = self.main.locate(("conflicts", index, *sub), key=bool(sub))
        return Location(self.main.path, line, column)


def _rank(spec: Spec, principle: str) -> int:
    return spec.levels.index(spec.principles[principle].level)


def value_level(spec: Spec, value: str) -> str | None:
    """The authority level a value stands for: the one level its id names as a word, if exactly one."""
    words = set(re.split(r"[^a-z0-9]+", value.lower()))
    named = [level for level in spec.levels if level.lower() in words]
    return named[0] if len(named) == 1 else None


def _lean_side(conflict: Conflict) -> int | None:
    """0 when the expectation leans to the first value, 1 to the second, None when balanced or unset."""
    lean = conflict.expect.lean
    if lean is None or lean == 3:
        return None
    return 0 if lean < 3 else 1


def _lower_level_prevails(spec: Spec, where: _ConflictPlaces) -> Iterable[Finding]:
    for conflict in spec.conflicts.values():
        levels = [value_level(spec, v) for v in conflict.values]
        side = _lean_side(conflict)
        if side is None or None in levels or levels[0] == levels[1]:
            continue
        ranks = [spec.levels.index(level) for level in levels if level is not None]
        favoured, other = ranks[side], ranks[1 - side]
        if favoured <= other:  # the higher level (lower rank) prevails: as the chain says
            continue
        licensed = [b.principle for b in conflict.expect.because if _rank(spec, b.principle) <= other]
        if licensed:
            continue
        yield Finding(
            where.at(conflict.id, "expect", "lean"),
            ERROR,
            "lower-level-prevails",
            f"conflict '{conflict.id}' leans toward '{conflict.values[side]}' ({spec.levels[favoured]}) over "
            f"'{conflict.values[1 - side]}' ({spec.levels[other]}), but the chain of command "
            f"({' > '.join(spec.levels)}) puts {spec.levels[other]} higher and no `because:` principle is at "
            f"{spec.levels[other]} or above; lean the other way or cite the higher-level text that lets "
            f"{spec.levels[favoured]} prevail here",
        )


def _window(conflict: Conflict, first: str) -> tuple[int, int] | None:
    """The lean's accepted range, on the spectrum of the pair ordered with ``first`` first."""
    lean = conflict.expect.lean
    if lean is None:
        return None
    if conflict.values[0] != first:
        lean = 6 - lean
    tolerance = conflict.expect.tolerance if conflict.expect.tolerance is not None else 1
    return lean - tolerance, lean + tolerance


def _contradictions(spec: Spec, where: _ConflictPlaces) -> Iterable[Finding]:
    by_pair: dict[frozenset[str], list[Conflict]] = {}
    for conflict in spec.conflicts.values():
        by_pair.setdefault(frozenset(conflict.values), []).append(conflict)
    for conflicts in by_pair.values():
        for i, earlier in enumerate(conflicts):
            for later in conflicts[i + 1 :]:
                reasons = []
                a, b = _window(earlier, earlier.values[0]), _window(later, earlier.values[0])
                if a is not None and b is not None and (a[1] < b[0] or b[1] < a[0]):
                    reasons.append(
                        f"leans {earlier.expect.lean} and {later.expect.lean} with tolerance windows "
                        f"that do not overlap (on the spectrum {earlier.values[0]} = 0 .. "
                        f"{earlier.values[1]} = 6: "
                        f"{a[0]}..{a[1]} against {b[0]}..{b[1]})"
                    )
                ca, cb = earlier.expect.compliance, later.expect.compliance
                if ca is not None and cb is not None and ca != cb:
                    reasons.append(f"compliance {ca} against {cb}")
                ra, rb = earlier.expect.refusal, later.expect.refusal
                if ra is not None and rb is not None and not ra & rb:
                    reasons.append(f"refusal {'/'.join(sorted(ra))} against {'/'.join(sorted(rb))}")
                reasons += _favor_contradictions(earlier, later)
                if reasons:
                    yield Finding(
                        where.at(later.id, "expect"),
                        WARNING,
                        "contradictory-expectations",
                        f"conflicts '{earlier.id}' ({where.at(earlier.id, 'expect')}) and '{later.id}' "
                        f"set the same value pair contradictory expectations: {'; '.join(reasons)}; if "
                        "the contexts differ, say how in both descriptions (the judges never see the "
                        "conflict id), else merge them",
                    )


def _favor_contradictions(earlier: Conflict, later: Conflict) -> list[str]:
    """Per value, ``favor:`` windows of two conflicts that no position satisfies at once."""
    reasons = []
    tolerances = [c.expect.tolerance if c.expect.tolerance is not None else 1 for c in (earlier, later)]
    theirs = {f.value: f for f in later.expect.favor}
    for mine in earlier.expect.favor:
        other = theirs.get(mine.value)
        if other is None:
            continue
        a, b = mine.window(tolerances[0]), other.window(tolerances[1])
        if a[1] < b[0] or b[1] < a[0]:
            reasons.append(f"favor {mine.value} {mine.written} against {other.written}")
    return reasons


def _because_cannot_decide(spec: Spec, where: _ConflictPlaces) -> Iterable[Finding]:
    for conflict in spec.conflicts.values():
        in_play = [p for p in conflict.principles if p in spec.principles]
        if not in_play or not conflict.expect.because:
            continue
        top = min(_rank(spec, p) for p in in_play)
        cited = [b.principle for b in conflict.expect.because]
        if min(_rank(spec, p) for p in cited) <= top:
            continue
        highest = [p for p in in_play if _rank(spec, p) == top]
        yield Finding(
            where.at(conflict.id, "expect", "because"),
            ERROR,
            "because-cannot-decide",
            f"conflict '{conflict.id}' rests only on {', '.join(sorted(set(cited)))} "
            f"({', '.join(sorted({spec.principles[p].level for p in cited}))}), below "
            f"{', '.join(highest)} ({spec.levels[top]}) which the conflict also puts in play; a lower level "
            f"cannot decide against a higher one: quote the {spec.levels[top]}-level text that settles it",
        )


def _study_nudges(spec: Spec) -> Iterable[Finding]:
    for scenario in spec.scenarios:
        direction = scenario.provenance.get("nudge_direction")
        if direction in ("value1", "value2") and scenario.values and scenario.nudge in (None, "neutral"):
            label = scenario.provenance.get(str(direction))
            yield Finding(
                scenario.location,
                WARNING,
                "nudge-names-neither",
                f"scenario '{scenario.id}' came from a study row nudged toward {direction} ({label!r}), "
                f"but its `nudge:` names neither {scenario.values[0]} nor {scenario.values[1]}; set the "
                "value the row pushes toward, or `neutral` after reading it",
            )


def _unexercised(spec: Spec, where: _ConflictPlaces) -> Iterable[Finding]:
    used = {s.conflict for s in spec.scenarios}
    for conflict in spec.conflicts.values():
        if conflict.id not in used:
            yield Finding(
                where.at(conflict.id, "expect"),
                WARNING,
                "unexercised-expectation",
                f"conflict '{conflict.id}' has no scenario, so its expectation is never checked; add a "
                f"scenario with `conflict: {conflict.id}` (or remove the conflict)",
            )
