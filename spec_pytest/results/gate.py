"""The baseline gate: compare a run with a blessed earlier run and decide whether it may ship.

The unit compared is a scenario asked of one model (all its samples together): a baseline
item is ``(suite, scenario, model)`` with how many of its samples passed, and each sample's
`Evidence` (what it was judged to be and a hash and excerpt of what was judged), which a
regression shows beside the run's own so that a reader sees what the model did before. Only ``pass``
counts as passing: ``fail``, ``inconclusive``, ``error`` and ``measured`` did not pass (an item
that could not be checked, or had nothing to check, is not evidence that the model behaves).

The rule (also in the README):

* With one sample on both sides there is no interval to speak of, so outcomes are compared
  directly: passed before and not now is a REGRESSION, the reverse an IMPROVEMENT.
  (Wilson's 95 % interval for 1/1 is [0.21, 1] and for 0/1 [0, 0.79]: they overlap, so the
  interval rule alone would never flag a single-sample flip. That is why this case is
  special-cased rather than left to the formula.)
* Otherwise each side's pass rate carries a Wilson score interval at 95 %. A REGRESSION is a
  current interval lying wholly below the baseline's (upper bound < baseline's lower bound),
  an IMPROVEMENT one lying wholly above. When the intervals overlap, a change of the
  "all samples passed" status is WITHIN-NOISE (shown, never gating): one unlucky sample out
  of five does not fail a release.
* No significant change: all samples pass now -> UNCHANGED-PASS; some failed now
  -> KNOWN-FAILURE (it was failing in the baseline too).
* Only in the run: NEW. Only in the baseline: MISSING when the run deliberately left it out
  (``-k``, ``-m``, ``--shard``: the sidecar ``RESULTS.selection`` says so, see
  `spec_pytest.results.selection`), else NOT-RUN: no evidence (a crashed xdist worker, an
  interrupted run, a scenario or model dropped from the run).
* Every sample measured now (no expectation to check) and none passed in the baseline:
  MEASURED (shown, never gating, never a pass). A baseline pass that is now measured is not
  evidence of a pass: the rules above make it a REGRESSION.

* Judge error (``judge_accuracy``, see `spec_pytest.results.judge_noise`): when the panel's
  accuracy on the spec's labelled answers is known, a REGRESSION of an item that passed every
  baseline sample is kept only when a fully compliant model judged by that panel would show so
  few passes less than 5 % of the time; otherwise it is WITHIN-NOISE (judge noise).

The run fails the gate when the number of regressions exceeds ``max_regressions``, when a
baseline item is NOT-RUN (unless ``allow_missing``: ``--allow-missing``), and when the run has
no results at all: the gate never says green without evidence.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from spec_pytest.errors import ConfigError, InputError
from spec_pytest.results.evidence import Evidence, what_changed
from spec_pytest.results.judge_noise import explained_by_judges
from spec_pytest.results.records import Record

#: 2 added each sample's `Evidence` (verdict, readings, answer hash and excerpt, cassette hashes)
#: and node id; a schema-1 baseline still reads, with no evidence to show.
BASELINE_SCHEMA = 2
BASELINE_KIND = "spec-pytest baseline"
#: Two-sided 95 % normal quantile used by the Wilson interval.
Z95 = 1.959963984540054

GateKey = tuple[str, str, str]  # suite, scenario, model


class BaselineError(InputError):
    """A baseline file cannot be read (not a baseline, a newer format, a malformed item)."""


class Change(str, Enum):
    REGRESSION = "regression"
    KNOWN_FAILURE = "known-failure"
    IMPROVEMENT = "improvement"
    WITHIN_NOISE = "within-noise"
    NEW = "new"
    UNCHANGED_PASS = "unchanged-pass"
    MISSING = "missing"
    MEASURED = "measured"
    NOT_RUN = "not-run"

    def __str__(self) -> str:
        return self.value


def wilson(passes: int, samples: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a pass rate; (0, 1) when there are no samples.

    Chosen over the normal approximation because it stays inside [0, 1] and is meaningful at
    the small sample counts an LLM suite can afford (3 to 10), including 0/n and n/n.
    """
    if samples <= 0:
        return (0.0, 1.0)
    p = passes / samples
    z2 = z * z
    denominator = 1 + z2 / samples
    centre = (p + z2 / (2 * samples)) / denominator
    half = z * math.sqrt(p * (1 - p) / samples + z2 / (4 * samples * samples)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class SampleTally:
    """How one scenario × model fared over its samples; ``reason`` says why a sample did not pass."""

    passes: int
    samples: int
    reason: str | None = None
    conflict: str | None = None
    measured: int = 0  # samples with nothing to check (outcome ``measured``): never passes
    evidence: tuple[Evidence, ...] = ()  # per sample, in sample order (empty from old baselines)

    @property
    def all_passed(self) -> bool:
        return self.samples > 0 and self.passes == self.samples

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.passes, self.samples)

    def describe(self) -> str:
        if self.measured and self.measured == self.samples:
            return "measured" if self.samples == 1 else f"{self.samples} measured"
        if self.samples == 1:
            return "passed" if self.passes else "failed"
        low, high = self.interval
        return f"{self.passes}/{self.samples} passed [{low:.2f}, {high:.2f}]"


def tally(records: Iterable[Record]) -> dict[GateKey, SampleTally]:
    """Records grouped per scenario × model (samples counted together)."""
    passes: dict[GateKey, int] = {}
    samples: dict[GateKey, int] = {}
    reasons: dict[GateKey, str] = {}
    conflicts: dict[GateKey, str | None] = {}
    measured: dict[GateKey, int] = {}
    evidence: dict[GateKey, list[Evidence]] = {}
    for record in records:
        key = (record.suite, record.scenario, record.model)
        evidence.setdefault(key, []).append(Evidence.from_record(record))
        samples[key] = samples.get(key, 0) + 1
        measured[key] = measured.get(key, 0) + int(record.outcome == "measured")
        passes[key] = passes.get(key, 0) + int(record.passed)
        conflicts.setdefault(key, record.conflict)
        if not record.passed and key not in reasons:
            reasons[key] = record.reason
    return {
        key: SampleTally(
            passes[key],
            samples[key],
            reasons.get(key),
            conflicts[key],
            measured[key],
            tuple(sorted(evidence[key], key=lambda e: e.sample)),
        )
        for key in samples
    }


def key_text(key: GateKey) -> str:
    suite, scenario, model = key
    return f"{suite}::{scenario}[{model}]"


# --------------------------------------------------------------------------- baseline file


@dataclass(frozen=True)
class Baseline:
    """A blessed run, reduced to what the gate needs: per scenario × model, passes out of samples,
    and each sample's evidence (kept because a re-record overwrites the cassette that passed)."""

    items: dict[GateKey, SampleTally]
    created: str | None = None
    sources: tuple[str, ...] = ()
    suites: dict[str, str | None] = field(default_factory=dict)  # suite -> spec version

    @classmethod
    def from_records(cls, records: Sequence[Record], sources: Iterable[str] = ()) -> Baseline:
        items = {  # the cassettes are read here, once, as the baseline is blessed
            key: replace(t, evidence=tuple(e.with_hashes() for e in t.evidence))
            for key, t in tally(records).items()
        }
        return cls(
            items=items,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            sources=tuple(_shareable(s) for s in sources),
            suites={r.suite: r.spec_version for r in records},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": BASELINE_KIND,
            "schema": BASELINE_SCHEMA,
            "created": self.created,
            "sources": list(self.sources),
            "suites": dict(sorted(self.suites.items())),
            "items": [
                {
                    "suite": suite,
                    "scenario": scenario,
                    "model": model,
                    "passes": t.passes,
                    "samples": t.samples,
                    "conflict": t.conflict,
                    "reason": t.reason,
                    "measured": t.measured,
                    "evidence": [e.to_dict() for e in t.evidence],
                }
                for (suite, scenario, model), t in sorted(self.items.items())
            ],
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the baseline as sorted, indented JSON (diffs well when committed); atomically."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", "utf-8")
        os.replace(temporary, target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Baseline:
        source = Path(path)
        try:
            data = json.loads(source.read_text("utf-8"))
        except FileNotFoundError:
            raise BaselineError(
                f"{source}: no such baseline; create one with "
                f"`spec-pytest baseline save RESULTS --to {source}`"
            ) from None
        except ValueError as exc:
            raise BaselineError(f"{source}: not JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("kind") != BASELINE_KIND:
            raise BaselineError(f'{source}: not a spec-pytest baseline (no "kind": "{BASELINE_KIND}")')
        if not isinstance(data.get("schema"), int) or data["schema"] > BASELINE_SCHEMA:
            raise BaselineError(f"{source}: baseline schema {data.get('schema')!r} is newer than supported")
        items: dict[GateKey, SampleTally] = {}
        for number, item in enumerate(data.get("items", [])):
            try:
                key = (str(item["suite"]), str(item["scenario"]), str(item["model"]))
                passes, samples = int(item["passes"]), int(item["samples"])
                measured = int(item.get("measured", 0))
                evidence = tuple(Evidence.from_dict(e) for e in item.get("evidence", ()))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise BaselineError(f"{source}: items[{number}] is malformed ({exc!r})") from None
            if not 0 <= passes <= samples:
                raise BaselineError(f"{source}: items[{number}] has {passes} passes of {samples} samples")
            reason, conflict = item.get("reason"), item.get("conflict")
            items[key] = SampleTally(passes, samples, reason, conflict, measured, evidence)
        return cls(
            items=items,
            created=data.get("created"),
            sources=tuple(data.get("sources", ())),
            suites=dict(data.get("suites", {})),
        )


def _shareable(source: str | os.PathLike[str]) -> str:
    """A results file's name as a committed baseline may show it: relative to where the command
    ran, else its file name (an absolute local path would leak the machine's layout)."""
    path = Path(source)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.name


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True, slots=True)
class GateEntry:
    key: GateKey
    change: Change
    baseline: SampleTally | None
    current: SampleTally | None

    @property
    def node_id(self) -> str:
        """The item as pytest's node id, pasteable as is: a sample that did not pass now (else
        the first), from this run or else from the baseline. A baseline saved before node ids
        were kept (schema 1) gives the suite's own name, which pytest does not collect."""
        for side in (self.current, self.baseline):
            ids = [e for e in side.evidence if e.nodeid] if side is not None else []
            if ids:
                chosen = next((e for e in ids if e.outcome != "pass"), ids[0])
                return str(chosen.nodeid)
        return key_text(self.key)

    @property
    def line(self) -> str:
        """One line: the item, before -> now, and why it does not pass now."""
        before = self.baseline.describe() if self.baseline else "not in baseline"
        now = self.current.describe() if self.current else "not run"
        samples = max(t.samples for t in (self.baseline, self.current) if t is not None)
        of = f" (one of {samples} samples)" if samples > 1 else ""
        text = f"{self.node_id}{of}: {before} -> {now}"
        if self.current is not None and self.current.reason:
            text += f" — {self.current.reason}"
        return text

    def before_after(self, limit: int = 2) -> list[tuple[Evidence | None, Evidence | None]]:
        """Pairs of one sample's evidence, baseline and now: the samples whose outcome changed
        first, at most ``limit``. Empty when neither side kept any."""
        before = {e.sample: e for e in self.baseline.evidence} if self.baseline else {}
        after = {e.sample: e for e in self.current.evidence} if self.current else {}
        samples = sorted(set(before) | set(after))

        def outcome(side: dict[int, Evidence], sample: int) -> str | None:
            return side[sample].outcome if sample in side else None

        changed = [s for s in samples if outcome(before, s) != outcome(after, s)]
        ordered = changed + [s for s in samples if s not in changed]
        return [(before.get(s), after.get(s)) for s in ordered[:limit]]

    def evidence_lines(self) -> list[str]:
        """What the model did before and does now, per changed sample, and what changed."""
        pairs = self.before_after()
        if not pairs:
            return []
        lines = []
        for before, after in pairs:
            sample = next(e.sample for e in (before, after) if e is not None)
            label = f" s{sample}" if len(pairs) > 1 or sample else ""
            kept = self.baseline is not None and bool(self.baseline.evidence)
            missing = "no such sample in the baseline" if kept else _NOT_KEPT
            lines.append(f"  before{label}: {before.summary() if before else missing}")
            lines.append(f"  now{label}:    {after.summary() if after else 'not run'}")
            if before is not None and after is not None:
                lines.append(f"  changed: {what_changed(before, after)}")
        return lines


#: What a regression shows for the before side of a baseline that kept no evidence.
_NOT_KEPT = "not kept (a baseline saved before spec-pytest kept answers: save it again to keep them)"


def classify(
    baseline: SampleTally | None, current: SampleTally | None, judge_accuracy: float | None = None
) -> Change:
    """The rule of the module docstring, for one scenario × model; ``judge_accuracy`` (the
    panel's, on labelled answers) withholds a regression judge noise alone explains."""
    change = _classify(baseline, current)
    if (
        change is Change.REGRESSION
        and judge_accuracy is not None
        and baseline is not None
        and current is not None
        and baseline.all_passed
        and current.measured < current.samples
        and explained_by_judges(current.passes, current.samples, judge_accuracy)
    ):
        return Change.WITHIN_NOISE
    return change


def _classify(baseline: SampleTally | None, current: SampleTally | None) -> Change:
    if baseline is None:
        return Change.NEW
    if current is None:
        return Change.MISSING
    if current.measured == current.samples and baseline.passes == 0:
        return Change.MEASURED
    if baseline.samples == 1 and current.samples == 1:
        if baseline.all_passed == current.all_passed:
            return Change.UNCHANGED_PASS if current.all_passed else Change.KNOWN_FAILURE
        return Change.REGRESSION if baseline.all_passed else Change.IMPROVEMENT
    (b_low, b_high), (c_low, c_high) = baseline.interval, current.interval
    if c_high < b_low:
        return Change.REGRESSION
    if c_low > b_high:
        return Change.IMPROVEMENT
    if baseline.all_passed != current.all_passed:
        return Change.WITHIN_NOISE
    return Change.UNCHANGED_PASS if current.all_passed else Change.KNOWN_FAILURE


#: Order of classes in summaries: what needs attention first.
ORDER = (
    Change.REGRESSION,
    Change.KNOWN_FAILURE,
    Change.WITHIN_NOISE,
    Change.IMPROVEMENT,
    Change.NEW,
    Change.NOT_RUN,
    Change.MISSING,
    Change.MEASURED,
    Change.UNCHANGED_PASS,
)

#: The classes whose every entry the summary lists, one line each.
SHOWN = (Change.REGRESSION, Change.NOT_RUN, Change.WITHIN_NOISE, Change.KNOWN_FAILURE, Change.IMPROVEMENT)
#: Listed one per line however many: what a release engineer must read on every run.
LISTED_IN_FULL = (Change.REGRESSION, Change.NOT_RUN)
#: Other classes past this many entries are one line: a count and the first few ids.
SUMMARISED_PAST = 3


@dataclass(frozen=True)
class GateReport:
    entries: tuple[GateEntry, ...]
    max_regressions: int = 0
    notes: tuple[str, ...] = ()  # e.g. the spec version changed since the baseline
    baseline_name: str | None = None
    allow_missing: bool = False  # --allow-missing: NOT-RUN items do not fail the gate
    empty: bool = False  # the run has no results at all
    judge_accuracy: float | None = None  # the panel's, on labelled answers: judge noise withheld

    def of(self, change: Change) -> list[GateEntry]:
        return [e for e in self.entries if e.change is change]

    @property
    def regressions(self) -> list[GateEntry]:
        return self.of(Change.REGRESSION)

    @property
    def counts(self) -> dict[Change, int]:
        counted = {change: len(self.of(change)) for change in ORDER}
        if not counted[Change.NOT_RUN]:
            del counted[Change.NOT_RUN]  # shown only when there are some
        return counted

    @property
    def unexplained_missing(self) -> list[GateEntry]:
        """Baseline items the run has no result for and did not deselect (unless allowed)."""
        return [] if self.allow_missing else self.of(Change.NOT_RUN)

    @property
    def shown_counts(self) -> dict[Change, int]:
        """`counts` as summaries print them: MEASURED only when some item is."""
        return {c: n for c, n in self.counts.items() if n or c is not Change.MEASURED}

    @property
    def exit_failed(self) -> bool:
        """True when regressions exceed the allowance, a baseline item was not run without being
        deselected, or the run has no results: the run must exit non-zero."""
        return len(self.regressions) > self.max_regressions or bool(self.unexplained_missing) or self.empty

    def summary_lines(self) -> list[str]:
        """Terminal summary: counts per class, then every regression (and known failure) on one line."""
        name = f" against {self.baseline_name}" if self.baseline_name else ""
        lines = [f"spec-pytest gate{name}: " + ", ".join(f"{n} {c}" for c, n in self.shown_counts.items())]
        lines += [f"note: {note}" for note in self.notes]
        if self.judge_accuracy is not None:
            lines.append(
                f"judge noise: panel accuracy {100 * self.judge_accuracy:.1f}% on labelled answers; "
                "a drop a compliant model would show from judge error alone (p >= 0.05) is within noise"
            )
        for change in SHOWN:
            entries = self.of(change)
            if change in LISTED_IN_FULL or len(entries) <= SUMMARISED_PAST:
                for entry in entries:
                    lines.append(f"{change.value.upper()} {entry.line}")
                    if change is Change.REGRESSION:
                        lines += entry.evidence_lines()
                continue
            # what did not change is summarised: the news (regressions, not-run) stays visible
            first = ", ".join(entry.node_id for entry in entries[:SUMMARISED_PAST])
            more = len(entries) - SUMMARISED_PAST
            lines.append(
                f"{change.value.upper()} {len(entries)} items, e.g. {first}, and {more} more "
                "(the HTML and Markdown reports list each)"
            )
        lines.append(self.verdict_line())
        return lines

    def green_despite(self, not_passed: int) -> str | None:
        """Why a run with items that did not pass still exits 0 (None when it does not)."""
        if self.exit_failed or not not_passed:
            return None
        items = f"{not_passed} item{'s' if not_passed != 1 else ''}"
        return (
            f"exit status 0 although {items} failed: the --baseline gate passed (known failures "
            "and changes within noise are not regressions; the JUnit report still lists them)"
        )

    def verdict_line(self) -> str:
        """The gate's decision in one line, with every reason it failed."""
        regressions = len(self.regressions)
        over = regressions > self.max_regressions
        text = (
            f"gate {'FAILED' if self.exit_failed else 'passed'}: {regressions} "
            f"regression{'s' if regressions != 1 else ''} {'>' if over else '<='} "
            f"{self.max_regressions} allowed (--max-regressions)"
        )
        not_run = len(self.of(Change.NOT_RUN))
        if self.empty:
            text += "; the run has no results: nothing was judged, so nothing is shown to behave"
        elif not_run and not self.allow_missing:
            text += (
                f"; {not_run} baseline item{'s' if not_run != 1 else ''} not run and not deselected "
                "(-k/-m/--shard): no evidence (--allow-missing accepts that)"
            )
        elif not_run:
            text += f"; {not_run} baseline item{'s' if not_run != 1 else ''} not run (--allow-missing)"
        return text


def compare(
    baseline: Baseline,
    records: Sequence[Record],
    max_regressions: int = 0,
    *,
    baseline_name: str | None = None,
    deselected: Collection[GateKey] = (),
    allow_missing: bool = False,
    notes: Sequence[str] = (),
    judge_accuracy: float | None = None,
) -> GateReport:
    """Classify every scenario × model of the run and of the baseline (see the module docstring).

    ``deselected``: the keys the run deliberately left out (its run headers,
    `spec_pytest.results.selection.deselected_keys`); a baseline key without a result and not
    among them is NOT-RUN. ``judge_accuracy``: the panel's accuracy on the labelled answers
    (None: unknown, judge error is not modelled).
    """
    if max_regressions < 0:
        raise ConfigError(f"max_regressions must be >= 0, got {max_regressions}")
    current = tally(records)
    keys = list(dict.fromkeys([*current, *baseline.items]))
    entries = tuple(
        GateEntry(
            key,
            _missing_or(classify(baseline.items.get(key), current.get(key), judge_accuracy), key, deselected),
            baseline.items.get(key),
            current.get(key),
        )
        for key in keys
    )
    notes = list(notes)
    now_versions = {r.suite: r.spec_version for r in records}
    for suite, version in sorted(now_versions.items()):
        if suite in baseline.suites and baseline.suites[suite] != version:
            notes.append(
                f"suite {suite} is at spec version {version}, "
                f"the baseline was made at {baseline.suites[suite]}"
            )
    return GateReport(
        tuple(entries),
        max_regressions,
        tuple(notes),
        baseline_name,
        allow_missing,
        empty=not records,
        judge_accuracy=judge_accuracy,
    )


def _missing_or(change: Change, key: GateKey, deselected: Collection[GateKey]) -> Change:
    """MISSING stays MISSING only for a key the run deliberately left out; else NOT-RUN."""
    return Change.NOT_RUN if change is Change.MISSING and key not in deselected else change
