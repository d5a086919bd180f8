"""A Markdown summary for a CI job summary or a pull-request comment.

Short by design: GitHub caps a step summary at 1 MiB and a comment at 65,536 characters, and a
reviewer reads the top. Long lists are cut at `ROWS` with a count of what was left out; the
HTML report has everything. Text from records is escaped so an answer cannot inject Markdown
or HTML into the comment.
"""

from __future__ import annotations

import os
import re

from spec_pytest.results import judge_checks
from spec_pytest.results.evidence import what_changed
from spec_pytest.results.gate import Change, GateEntry, GateReport
from spec_pytest.results.report import agreement
from spec_pytest.results.report.character import character_markdown
from spec_pytest.results.report.content import OUTCOMES, ReportContent, outcome_line
from spec_pytest.results.report.paths import LocalPaths
from spec_pytest.secrets import for_terminal, neutralise, scrub

ROWS = 20
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def cell(value: object, limit: int = 160) -> str:
    """Text safe inside a Markdown table cell: one line, no markup, no HTML, bounded length."""
    text = " ".join(neutralise(scrub(str(value))).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _SPECIAL.sub(r"\\\1", text)


def _table(head: list[str], rows: list[list[str]], total: int | None = None) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[:ROWS]]
    left = (total if total is not None else len(rows)) - min(len(rows), ROWS)
    if left > 0:
        lines.append(f"\n… and {left} more (see the HTML report)")
    return lines


def render_markdown(
    content: ReportContent, *, title: str = "spec-pytest", base: str | os.PathLike[str] | None = None
) -> str:
    """The summary as Markdown; local paths are shown relative to ``base`` (default: the
    current directory, a CI job's checkout), never absolute (the text is posted publicly)."""
    paths = LocalPaths.of_records(content.records, base)
    lines = [f"## {cell(title)}: {outcome_line(content.overall)}", ""]
    gate = content.gate
    if gate is not None:
        status = "❌ **FAILED**" if gate.exit_failed else "✅ passed"
        where = f" against `{cell(paths.show(gate.baseline_name).text)}`" if gate.baseline_name else ""
        lines += [
            f"**Gate**{where}: {status}: {len(gate.regressions)} regression(s), "
            f"{gate.max_regressions} allowed.",
            "",
            *_green_despite(gate, content),
            "Per scenario × model: " + " · ".join(f"{n} {c.value}" for c, n in gate.shown_counts.items()),
            "",
        ]
        lines += [f"> {cell(paths.text(note), 300)}" for note in gate.notes]
        lines += _not_run(gate)
        for change in (Change.REGRESSION, Change.KNOWN_FAILURE, Change.IMPROVEMENT):
            entries = gate.of(change)
            if entries:
                lines += ["", f"### {change.value.capitalize()}s ({len(entries)})", ""]
                if change is Change.REGRESSION:  # what the model did before, beside what it does now
                    head = ["node id", "before", "now", "what changed"]
                    lines += _table(head, _regression_rows(entries, paths))
                else:
                    head = ["node id", "baseline", "now", "reason now"]
                    lines += _table(head, _gate_rows(entries, paths))
        lines.append("")
    judged = judge_checks.summary_lines(content.judges, judge_checks.MIN_ACCURACY)
    if judged:
        lines += ["### Judges (checked on the spec's labelled answers)", ""]
        lines += [f"- {cell(line.strip(), 400)}" for line in judged]
        lines.append("")
    lines += _agreement(content)
    lines += ["### Outcomes by authority level", ""]
    lines += _table(
        ["level", *OUTCOMES, "pass rate"],
        [
            [cell(name), *(str(c[o]) for o in OUTCOMES), f"{c.pass_rate:.0%}"]
            for name, c in content.by_level.items()
        ],
    )
    lines += ["", "### Outcomes by model", ""]
    lines += _table(
        ["model", *OUTCOMES, "pass rate"],
        [
            [cell(name), *(str(c[o]) for o in OUTCOMES), f"{c.pass_rate:.0%}"]
            for name, c in content.by_model.items()
        ],
    )
    analysis = content.analysis
    if analysis.disagreements:
        lines += [
            "",
            f"### Likely spec gaps: {len(analysis.gaps)} of {len(analysis.disagreements)} scenarios "
            f"with D ≥ {analysis.threshold:g}",
            "",
        ]
        lines += _table(
            ["scenario", "conflict", "values (0 vs 6)", "D", "positions"],
            [
                [
                    cell(g.scenario),
                    cell(g.conflict or ""),
                    cell(" vs ".join(g.values)),
                    f"{g.d:.2f}",
                    cell(", ".join(f"{m} {p:g}" for m, p in g.positions.items())),
                ]
                for g in analysis.gaps
            ],
        )
    if analysis.character:
        values = sorted({v for leans in analysis.character.values() for v in leans})[:12]
        lines += ["", "### Model character: mean lean toward each value (0–6)", ""]
        lines += _table(
            ["model", *(cell(v, 40) for v in values)],
            [
                [cell(model), *(f"{leans[v].mean:.1f}" if v in leans else "" for v in values)]
                for model, leans in analysis.character.items()
            ],
        )
    lines += character_markdown(analysis, cell, _table)
    failing = content.failing if gate is None else []  # with a gate, its tables say what matters
    if failing:
        lines += ["", f"### Not passing ({len(failing)})", ""]
        lines += _table(
            ["item", "reason"], [[cell(r.item_id), cell(paths.text(r.reason), 240)] for r in failing]
        )
    return for_terminal("\n".join(lines).rstrip()) + "\n"  # often printed: keys out, escapes shown


def _agreement(content: ReportContent) -> list[str]:
    """The judges' agreement, as the terminal summary words it, then Cohen's kappa per pair."""
    judged = [r for r in content.records if r.judges]
    overall = agreement.agreement_lines(judged)
    if not overall:
        return []
    lines = ["### Judge agreement", ""]
    lines += [f"- {cell(line.strip(), 400)}" for line in overall]
    lines += ["", "Per pair of judges (Cohen's kappa, and the share of cases they agreed on):", ""]
    lines += _table(
        ["judge", "judge", "cases", "compliance", "refusal", "position alpha"],
        [
            [
                cell(p.first),
                cell(p.second),
                str(p.cases),
                cell(p.describe("compliance")),
                cell(p.describe("refusal")),
                cell(p.describe_position()),
            ]
            for p in agreement.pairs(judged)
        ],
    )
    return [*lines, ""]


def _green_despite(gate: GateReport, content: ReportContent) -> list[str]:
    """The line explaining a green gate over red items (a CI job green, its JUnit red)."""
    note = gate.green_despite(len(content.failing))
    return [f"> {cell(note, 300)}", ""] if note else []


def _code(value: str) -> str:
    """Text safe inside a Markdown code span: one line, no backtick to close it early."""
    return " ".join(neutralise(scrub(value)).split()).replace("`", "'")[:200]


def _not_run(gate: GateReport) -> list[str]:
    """Baseline items with no record in this run, by node id: the gate has no evidence for them."""
    entries = gate.of(Change.NOT_RUN)
    if not entries:
        return []
    why = "accepted by --allow-missing" if gate.allow_missing else "not deselected (-k/-m/--shard)"
    lines = ["", f"### Not run ({len(entries)}): in the baseline, no record in this run, {why}", ""]
    lines += [f"- `{_code(e.node_id)}`" for e in entries[:ROWS]]
    if len(entries) > ROWS:
        lines.append(f"- … and {len(entries) - ROWS} more (see the HTML report)")
    return lines


def _regression_rows(entries: list[GateEntry], paths: LocalPaths) -> list[list[str]]:
    rows = []
    for entry in entries:
        pairs = entry.before_after(limit=1)
        before, after = pairs[0] if pairs else (None, None)
        was = entry.baseline.describe() if entry.baseline else ""
        now = entry.current.describe() if entry.current else ""
        changed = what_changed(before, after) if before and after else ""
        reason = paths.text(entry.current.reason) if entry.current and entry.current.reason else ""
        rows.append(
            [
                cell(entry.node_id),
                cell(f"{was}: {before.summary()}" if before else was, 240),
                cell(f"{now}: {after.summary()}" if after else now, 240)
                + (f"<br>{cell(reason, 200)}" if reason else ""),
                cell(changed),
            ]
        )
    return rows


def _gate_rows(entries: list[GateEntry], paths: LocalPaths) -> list[list[str]]:
    return [
        [
            cell(e.node_id),
            cell(e.baseline.describe() if e.baseline else ""),
            cell(e.current.describe() if e.current else ""),
            cell(paths.text(e.current.reason) if e.current and e.current.reason else "", 240),
        ]
        for e in entries
    ]
