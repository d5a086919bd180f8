"""Spec gaps, grouped by what is at stake: the spec author's view of a run.

`results.analysis` ranks single scenarios by cross-model disagreement. An author needs the next
step: which *part of the spec* is unclear. This module groups the troubled scenarios of a run
by the value pair, the principles and the authority levels involved, in three kinds:

- ``disagreement``: the models disagree (D at or above the threshold), the study's sign that the
  spec is contradictory or silent there;
- ``agreed-violation``: the models agree with each other (D below the threshold) and every one of
  them fails the expectation, so the expectation, not the models, may be what is off;
- ``judges-split``: the judges themselves split on an answer (no majority, or their positions
  three or more points apart), so the spec does not even let readers agree on what was done.

Each group says how big it is, how D is distributed, where each model sits on the pair's
spectrum (the study's "character" view), two or three representative scenarios picked to be
diverse (not near-duplicates of each other), and, given the spec, the sentences in play. The
same `GapReport` renders as terminal text, Markdown, JSON and a section of the HTML report.
"""

from __future__ import annotations

import html
import json
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spec_pytest.results.analysis import (
    HIGH_DISAGREEMENT,
    SPECTRUM_MAX,
    model_positions,
    model_value_positions,
    study_disagreement,
)
from spec_pytest.results.records import Record
from spec_pytest.secrets import scrub
from spec_pytest.spec.model import Spec

KINDS = ("disagreement", "agreed-violation", "judges-split")
KIND_TITLES = {
    "disagreement": "models disagree",
    "agreed-violation": "models agree but violate the expectation",
    "judges-split": "judges split",
}
#: Judges whose positions on one answer lie this far apart have split (the gap D >= 1.5 implies
#: between two models, applied to the judges of one answer).
JUDGE_SPREAD = 3
#: Two prompts sharing this share of their words are near-duplicates: never both representatives.
NEAR_DUPLICATE = 0.6
#: Bins of the D distribution shown per group.
D_BINS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
#: Sentences of a principle shown as "in play" when the expectation quotes none of them.
SENTENCES_PER_PRINCIPLE = 2

_WORD = re.compile(r"[a-z0-9']{3,}")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_NORMATIVE = re.compile(r"\b(should|must|never|always|may|can't|cannot|shouldn't|avoid|do not)\b", re.I)


@dataclass(frozen=True, slots=True)
class GapScenario:
    """One scenario of a group: where each model landed and what it was asked."""

    suite: str
    scenario: str
    conflict: str | None
    d: float
    positions: dict[str, float]  # model -> mean panel position
    outcomes: dict[str, str]  # model -> outcome (the worst of its samples)
    prompt: str  # the last user message
    nudge: str | None = None
    judge_spread: float | None = None  # widest gap between one answer's judges

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "scenario": self.scenario,
            "conflict": self.conflict,
            "d": round(self.d, 3),
            "positions": {m: round(p, 3) for m, p in self.positions.items()},
            "outcomes": dict(self.outcomes),
            "prompt": self.prompt,
            "nudge": self.nudge,
            "judge_spread": self.judge_spread,
        }


@dataclass(frozen=True, slots=True)
class SpecSentence:
    """A sentence of the spec at stake in a group, with the principle and level it comes from."""

    principle: str
    level: str | None
    text: str
    quoted: bool  # the group's expectation quotes it in `because:`

    def to_dict(self) -> dict[str, Any]:
        return {"principle": self.principle, "level": self.level, "text": self.text, "quoted": self.quoted}


@dataclass(frozen=True)
class GapGroup:
    """Scenarios of one kind that put the same things at stake."""

    kind: str
    values: tuple[str, str]
    principles: tuple[str, ...]
    levels: tuple[str, ...]
    conflicts: tuple[str, ...]  # conflicts its scenarios belong to (none: inline value pairs)
    scenarios: tuple[GapScenario, ...]
    representatives: tuple[GapScenario, ...]
    model_positions: dict[str, float]  # model -> mean position over the group
    expected: dict[str, Any] | None  # the expectation its scenarios share, if any
    sentences: tuple[SpecSentence, ...] = ()
    cited: dict[str, int] = field(default_factory=dict)  # principle -> judges citing it

    @property
    def key(self) -> str:
        """A stable name: kind, pair, principles and levels (what the group is about)."""
        principles = "+".join(self.principles) or "no-principle"
        levels = "+".join(self.levels) or "no-level"
        return f"{self.kind}:{self.values[0]}--{self.values[1]}:{principles}:{levels}"

    @property
    def size(self) -> int:
        return len(self.scenarios)

    @property
    def ds(self) -> list[float]:
        return [s.d for s in self.scenarios]

    def d_summary(self) -> dict[str, float]:
        ds = self.ds
        return {"min": min(ds), "median": statistics.median(ds), "max": max(ds)}

    def d_histogram(self) -> dict[str, int]:
        """Scenarios per D bin, ``"1.5-2"`` style labels (the last bin is open-ended)."""
        counts: dict[str, int] = {}
        for i, low in enumerate(D_BINS):
            high = D_BINS[i + 1] if i + 1 < len(D_BINS) else None
            label = f"{low:g}-{high:g}" if high is not None else f"{low:g}+"
            counts[label] = sum(1 for d in self.ds if d >= low and (high is None or d < high))
        return counts

    def spectrum(self) -> list[tuple[str, float]]:
        """Models from the first value's end of the spectrum to the second's."""
        return sorted(self.model_positions.items(), key=lambda kv: (kv[1], kv[0]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "values": list(self.values),
            "principles": list(self.principles),
            "levels": list(self.levels),
            "conflicts": list(self.conflicts),
            "size": self.size,
            "d": {k: round(v, 3) for k, v in self.d_summary().items()},
            "d_histogram": self.d_histogram(),
            "model_positions": {m: round(p, 3) for m, p in self.spectrum()},
            "expected": self.expected,
            "representatives": [s.to_dict() for s in self.representatives],
            "scenarios": [s.scenario for s in self.scenarios],
            "sentences": [s.to_dict() for s in self.sentences],
            "cited": dict(self.cited),
        }


@dataclass(frozen=True)
class GapReport:
    """Every group of a run, by kind, biggest and murkiest first."""

    threshold: float
    models: tuple[str, ...]
    scenarios_compared: int  # scenarios placed for two or more models
    groups: tuple[GapGroup, ...]
    spec_path: str | None = None

    def of_kind(self, kind: str) -> list[GapGroup]:
        return [g for g in self.groups if g.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "models": list(self.models),
            "scenarios_compared": self.scenarios_compared,
            "spec": self.spec_path,
            "groups": [g.to_dict() for g in self.groups],
        }

    def to_json(self) -> str:
        return scrub(json.dumps(self.to_dict(), indent=2, ensure_ascii=False))

    # ------------------------------------------------------------------ renderings

    def render_text(self, *, width: int = 100) -> str:
        """The terminal summary: one block per group."""
        lines = [self._headline()]
        for kind in KINDS:
            groups = self.of_kind(kind)
            if not groups:
                continue
            lines += ["", f"== {KIND_TITLES[kind]} ({len(groups)} group(s)) =="]
            for group in groups:
                lines += ["", *_text_group(group, width)]
        return _printable("\n".join(lines))

    def render_markdown(self) -> str:
        lines = ["# Spec gaps", "", self._headline()]
        for kind in KINDS:
            groups = self.of_kind(kind)
            if not groups:
                continue
            lines += ["", f"## {KIND_TITLES[kind].capitalize()} ({len(groups)} group(s))"]
            for group in groups:
                lines += ["", *_markdown_group(group)]
        return _printable("\n".join(lines)) + "\n"

    def render_html(self) -> str:
        """A ``<section id="spec-gaps">`` for the HTML report (escaped, scrubbed)."""
        out = [
            '<section id="spec-gaps"><h2>Spec gaps by what is at stake</h2>'
            f'<p class="muted">{_e(self._headline())}</p>'
        ]
        for group in self.groups:
            reps = "".join(
                f"<li><b>{_e(s.scenario)}</b> (D {s.d:.2f}): {_e(_short(s.prompt, 240))}</li>"
                for s in group.representatives
            )
            spectrum = ", ".join(f"{_e(m)} {p:.1f}" for m, p in group.spectrum())
            sentences = "".join(
                f"<li>{_e(s.principle)} ({_e(s.level or '-')}){' [quoted]' if s.quoted else ''}: "
                f"{_e(_short(s.text, 300))}</li>"
                for s in group.sentences
            )
            d = group.d_summary()
            out.append(
                f'<details class="gap" data-kind="{_e(group.kind)}"><summary>{_e(KIND_TITLES[group.kind])}: '
                f"<b>{_e(' vs '.join(group.values))}</b>"
                f" · {_e(', '.join(group.principles) or 'no principle')}"
                f" · {_e(', '.join(group.levels) or 'no level')} · {group.size} scenario(s)</summary>"
                f"<p>D min {d['min']:.2f} / median {d['median']:.2f} / max {d['max']:.2f}; "
                f"spectrum 0 = {_e(group.values[0])} … 6 = {_e(group.values[1])}: {spectrum}</p>"
                f"<ul>{reps}</ul>"
                + (f"<p>Spec sentences in play:</p><ul>{sentences}</ul>" if sentences else "")
                + "</details>"
            )
        out.append("</section>")
        return scrub("".join(out))

    def _headline(self) -> str:
        counts = ", ".join(f"{len(self.of_kind(k))} {KIND_TITLES[k]}" for k in KINDS)
        models = ", ".join(self.models) or "none"
        return (
            f"{len(self.groups)} group(s) ({counts}) over {self.scenarios_compared} scenario(s) answered by "
            f"two or more models; D threshold {self.threshold:g}; models: {models}"
        )


def find_gaps(
    records: Sequence[Record],
    spec: Spec | None = None,
    *,
    threshold: float = HIGH_DISAGREEMENT,
    representatives: int = 3,
) -> GapReport:
    """Group the troubled scenarios of ``records`` (see the module docstring).

    ``spec`` (the spec the run used) adds each principle's own level to the group's levels and
    the spec sentences in play; without it a group knows its principles by id and its level by
    the records' (highest) level.
    """
    records = [r for r in records if spec is None or r.suite == spec.id]
    by_scenario: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in records:
        by_scenario[(record.suite, record.scenario)].append(record)
    positions = model_positions(records)
    compared = {key: p for key, p in positions.items() if len(p) >= 2}
    per_value = model_value_positions(records)  # D: the study's, on both per-value spectra

    members: dict[tuple[str, tuple[str, str], tuple[str, ...], tuple[str, ...]], list[GapScenario]] = (
        defaultdict(list)
    )
    for key, scenario_records in sorted(by_scenario.items()):
        first = scenario_records[0]
        if first.values is None:
            continue
        placed = compared.get(key)
        d = study_disagreement(list(per_value[key].values())) if placed else 0.0
        spread = _judge_spread(scenario_records)
        kinds = []
        if placed and d >= threshold:
            kinds.append("disagreement")
        if placed and d < threshold and _all_fail(scenario_records):
            kinds.append("agreed-violation")
        if spread is not None:
            kinds.append("judges-split")
        if not kinds:
            continue
        item = GapScenario(
            suite=first.suite,
            scenario=first.scenario,
            conflict=first.conflict,
            d=d,
            positions=dict(sorted((placed or positions.get(key, {})).items())),
            outcomes=_outcomes(scenario_records),
            prompt=_last_user(first),
            nudge=first.nudge,
            judge_spread=spread,
        )
        levels = _levels(first, spec)
        for kind in kinds:
            members[(kind, first.values, tuple(sorted(first.principles)), levels)].append(item)

    groups = []
    for (kind, values, principles, levels), items in members.items():
        items.sort(key=lambda s: (-_severity(kind, s), s.scenario))
        scenario_records = [r for s in items for r in by_scenario[(s.suite, s.scenario)]]
        groups.append(
            GapGroup(
                kind=kind,
                values=values,
                principles=principles,
                levels=levels,
                conflicts=tuple(sorted({s.conflict for s in items if s.conflict})),
                scenarios=tuple(items),
                representatives=tuple(pick_representatives(items, representatives)),
                model_positions=_group_positions(items),
                expected=_shared_expectation(scenario_records),
                sentences=tuple(_sentences(spec, principles, scenario_records)) if spec else (),
                cited=_cited(scenario_records),
            )
        )
    groups.sort(key=lambda g: (KINDS.index(g.kind), -g.size, -g.d_summary()["max"], g.key))
    return GapReport(
        threshold=threshold,
        models=tuple(sorted({r.model for r in records})),
        scenarios_compared=len(compared),
        groups=tuple(groups),
        spec_path=str(spec.path) if spec is not None else None,
    )


def pick_representatives(items: Sequence[GapScenario], count: int = 3) -> list[GapScenario]:
    """Up to ``count`` scenarios, the most severe first, then each as unlike the picked as possible.

    Likeness is the share of words two prompts have in common (Jaccard); a near-duplicate of a
    picked scenario (``NEAR_DUPLICATE`` or more) is never picked, so a bank of paraphrases
    shows one of them, not three.
    """
    if not items:
        return []
    words = {s.scenario: _words(s.prompt) for s in items}
    picked = [items[0]]
    while len(picked) < count:
        best, best_distance = None, -1.0
        for candidate in items:
            if candidate in picked:
                continue
            similarity = max(_jaccard(words[candidate.scenario], words[p.scenario]) for p in picked)
            if similarity >= NEAR_DUPLICATE:
                continue
            if 1 - similarity > best_distance:
                best, best_distance = candidate, 1 - similarity
        if best is None:
            break
        picked.append(best)
    return picked


def similarity(a: str, b: str) -> float:
    """Share of words two texts have in common (what representatives are kept apart by)."""
    return _jaccard(_words(a), _words(b))


# --------------------------------------------------------------------------- helpers


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _judge_spread(records: Iterable[Record]) -> float | None:
    """The widest split among the judges of the scenario's answers, if any answer split them."""
    worst = None
    for record in records:
        if record.outcome == "error":
            continue
        placed = [j.position for j in record.judges if j.position is not None]
        spread = max(placed) - min(placed) if len(placed) >= 2 else 0
        if record.outcome == "inconclusive" or spread >= JUDGE_SPREAD:
            worst = max(worst or 0, spread)
    return worst


def _all_fail(records: Sequence[Record]) -> bool:
    judged = [r for r in records if r.outcome != "error"]
    return bool(judged) and all(r.outcome == "fail" for r in judged)


_OUTCOME_RANK = {"error": 0, "inconclusive": 1, "fail": 2, "measured": 3, "pass": 4}


def _outcomes(records: Iterable[Record]) -> dict[str, str]:
    worst: dict[str, str] = {}
    for record in records:
        seen = worst.get(record.model)
        if seen is None or _OUTCOME_RANK.get(record.outcome, 0) < _OUTCOME_RANK.get(seen, 0):
            worst[record.model] = record.outcome
    return dict(sorted(worst.items()))


def _severity(kind: str, item: GapScenario) -> float:
    if kind == "judges-split":
        return float(item.judge_spread or 0)
    if kind == "agreed-violation":
        return -item.d  # the most unanimous violations first
    return item.d


def _levels(record: Record, spec: Spec | None) -> tuple[str, ...]:
    """Levels involved, highest first: each principle's own with the spec, else the record's."""
    if spec is None:
        return (record.level,) if record.level else ()
    found = {spec.principles[p].level for p in record.principles if p in spec.principles}
    return tuple(level for level in spec.levels if level in found)


def _group_positions(items: Iterable[GapScenario]) -> dict[str, float]:
    per_model: dict[str, list[float]] = defaultdict(list)
    for item in items:
        for model, position in item.positions.items():
            per_model[model].append(position)
    return {m: statistics.fmean(ps) for m, ps in sorted(per_model.items())}


def _shared_expectation(records: Iterable[Record]) -> dict[str, Any] | None:
    seen = {json.dumps(r.expected, sort_keys=True) for r in records if r.expected is not None}
    return json.loads(next(iter(seen))) if len(seen) == 1 else None


def _cited(records: Iterable[Record]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for record in records:
        for judgement in record.judges:
            for principle in judgement.cited:
                counts[principle] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _sentences(spec: Spec | None, principles: Sequence[str], records: Sequence[Record]) -> list[SpecSentence]:
    """The expectation's quoted sentences, else each principle's normative sentences closest to the group."""
    if spec is None:
        return []
    quoted: dict[str, list[str]] = defaultdict(list)
    for conflict_id in {r.conflict for r in records if r.conflict}:
        conflict = spec.conflicts.get(conflict_id)
        if conflict is not None:
            for because in conflict.expect.because:
                quoted[because.principle].append(" ".join(because.quote.split()))
    topic = _words(" ".join(_last_user(r) for r in records[:20]))
    out: list[SpecSentence] = []
    for pid in [*principles, *(p for p in quoted if p not in principles)]:
        principle = spec.principles.get(pid)
        if principle is None:
            continue
        for quote in dict.fromkeys(quoted.get(pid, [])):
            out.append(SpecSentence(pid, principle.level, quote, True))
        if quoted.get(pid):
            continue
        sentences = [" ".join(s.split()) for s in _SENTENCE.split(principle.text) if s.strip()]
        ranked = sorted(
            [s for s in sentences if _NORMATIVE.search(s)] or sentences,
            key=lambda s: -len(_words(s) & topic),
        )
        out += [SpecSentence(pid, principle.level, s, False) for s in ranked[:SENTENCES_PER_PRINCIPLE]]
    return out


def _last_user(record: Record) -> str:
    for message in reversed(record.messages):
        if message.get("role") == "user":
            return message.get("content", "")
    return ""


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _printable(text: str) -> str:
    """Scrubbed, with control characters shown as escapes (model text reaches a terminal)."""
    return "".join(
        ch if ch in "\n\t" or ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
        for ch in scrub(text)
    )


def _expected_line(expected: dict[str, Any] | None, values: tuple[str, str]) -> str:
    if expected is None:
        return "expectation: none shared by the group's scenarios"
    parts = []
    if expected.get("lean") is not None:
        lean = expected["lean"]
        side = values[0] if lean < 3 else values[1] if lean > 3 else "balanced"
        parts.append(f"lean {lean} ±{expected.get('tolerance') or 1} ({side})")
    if expected.get("compliance"):
        parts.append(str(expected["compliance"]))
    if expected.get("refusal"):
        parts.append("refusal " + "/".join(expected["refusal"]))
    implied = " (implied by the cited principles)" if expected.get("implied") else ""
    return "expectation: " + ", ".join(parts) + implied


def _spectrum_bar(group: GapGroup, width: int = 49) -> list[str]:
    """Each model as a marker on a 0..6 line: who sits where."""
    lines = [f"  spectrum: 0 = {group.values[0]} … 3 balanced … 6 = {group.values[1]}"]
    for model, position in group.spectrum():
        column = round(position / SPECTRUM_MAX * (width - 1))
        bar = "-" * column + "●" + "-" * (width - 1 - column)
        lines.append(f"    |{bar}| {position:4.1f}  {model}")
    return lines


def _text_group(group: GapGroup, width: int) -> list[str]:
    d = group.d_summary()
    histogram = ", ".join(f"{k}: {v}" for k, v in group.d_histogram().items() if v)
    lines = [
        f"[{group.kind}] {group.values[0]} vs {group.values[1]} · principles: "
        f"{', '.join(group.principles) or '-'} · levels: {', '.join(group.levels) or '-'}",
        f"  {group.size} scenario(s)"
        + (f" in {', '.join(group.conflicts)}" if group.conflicts else " (no conflict: inline value pair)")
        + f"; D min {d['min']:.2f} / median {d['median']:.2f} / max {d['max']:.2f} ({histogram})",
        f"  {_expected_line(group.expected, group.values)}",
        *_spectrum_bar(group),
        "  representatives:",
    ]
    for item in group.representatives:
        where = ", ".join(f"{m} {p:.1f}" for m, p in item.positions.items())
        split = f", judges {item.judge_spread:g} apart" if item.judge_spread is not None else ""
        lines.append(f"    - {item.scenario} (D {item.d:.2f}{split}; {where})")
        lines.append(f"      {_short(item.prompt, width - 6)}")
    if group.sentences:
        lines.append("  spec sentences in play:")
        for sentence in group.sentences:
            mark = "quoted by the expectation" if sentence.quoted else "not quoted"
            lines.append(
                f"    - {sentence.principle} ({sentence.level}, {mark}): {_short(sentence.text, width - 8)}"
            )
    return lines


def _markdown_group(group: GapGroup) -> list[str]:
    d = group.d_summary()
    lines = [
        f"### {group.values[0]} vs {group.values[1]} · {', '.join(group.principles) or 'no principle'} · "
        f"{', '.join(group.levels) or 'no level'}",
        "",
        f"- kind: {KIND_TITLES[group.kind]}; {group.size} scenario(s)"
        + (
            f" in `{'`, `'.join(group.conflicts)}`"
            if group.conflicts
            else " (inline value pair, no conflict)"
        ),
        f"- D: min {d['min']:.2f}, median {d['median']:.2f}, max {d['max']:.2f}; "
        + ", ".join(f"{k}: {v}" for k, v in group.d_histogram().items() if v),
        f"- {_expected_line(group.expected, group.values)}",
        f"- spectrum (0 = {group.values[0]}, 6 = {group.values[1]}): "
        + ", ".join(f"{m} {p:.1f}" for m, p in group.spectrum()),
        "",
        "| representative | D | positions | prompt |",
        "|---|---:|---|---|",
    ]
    for item in group.representatives:
        where = ", ".join(f"{m} {p:.1f}" for m, p in item.positions.items())
        prompt = _short(item.prompt, 200).replace("|", "\\|")
        lines.append(f"| `{item.scenario}` | {item.d:.2f} | {where} | {prompt} |")
    if group.sentences:
        lines += ["", "Spec sentences in play:", ""]
        for sentence in group.sentences:
            mark = " (quoted by the expectation)" if sentence.quoted else ""
            lines.append(f"- `{sentence.principle}` ({sentence.level}){mark}: {_short(sentence.text, 400)}")
    return lines
