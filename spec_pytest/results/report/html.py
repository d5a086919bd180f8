"""One self-contained HTML report: open it from a CI artefact, offline, and drill into any item.

Nothing is fetched: styles are inline, figures are inline SVG (`plots`), and the only script
(the drill-down's, `drilldown.SCRIPT`) is inline and pinned by hash in the page's
Content-Security-Policy, which also forbids every network request. The summary, the gate's
status and counts, and the figures are markup written here; the items and the gate's tables
are JSON embedded once (`embedded`), which the script draws from, a hundred at a time and a
scenario's answers when it is opened (`drilldown`): what the page draws on opening does not
grow with the run, and text repeated across items is written once. Every string that comes
from records (answers, rationales, ids) is scrubbed of keys (`spec_pytest.secrets`), so a
key an answer echoed is never in the page; in markup it then goes through `html.escape`
(`markup.esc`), and the script inserts it as text only, so a model answer holding
``<script>`` is shown as text, never run. Local paths are shown relative to the report's
directory (`paths`), never absolute.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from spec_pytest.results import judge_checks
from spec_pytest.results.analysis import Disagreement, Lean, positions_by_pair
from spec_pytest.results.evidence import Evidence, what_changed
from spec_pytest.results.gaps import find_gaps
from spec_pytest.results.gate import Change, GateEntry
from spec_pytest.results.report import agreement, plots
from spec_pytest.results.report.character import character_html
from spec_pytest.results.report.content import OUTCOMES, Counts, ReportContent, outcome_line
from spec_pytest.results.report.drilldown import GATE_FIELDS, SCRIPT, drilldown, positions_text, scenario_data
from spec_pytest.results.report.embedded import Clean, Lists, block
from spec_pytest.results.report.markup import anchor, esc
from spec_pytest.results.report.paths import LocalPaths
from spec_pytest.secrets import scrub

__all__ = ["anchor", "esc", "render_html"]

#: The heatmap shows at most this many values (those met in most scenarios); more are unreadable.
HEATMAP_VALUES = 40
#: Histogram bins of disagreement: D lies in [0, 3] on a 0-6 spectrum (population std).
BIN_WIDTH = 0.25
D_MAX = 3.0

_SCRIPT = SCRIPT  # the only script: pinned by hash in the policy

_STYLE = """
:root { --pass: #1a7f37; --fail: #cf222e; --inconclusive: #9a6700; --error: #8250df; --line: #d0d7de; }
body {
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  margin: 0 auto;
  max-width: 1200px;
  padding: 1rem clamp(.5rem, 3vw, 1.5rem) 4rem;
  color: #1f2328;
}
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: .2rem; margin-top: 2.2rem; }
.muted { color: #59636e; }
/* a wide table scrolls inside its own box: the page itself never scrolls sideways */
table { border-collapse: collapse; margin: .5rem 0; display: block; overflow-x: auto; max-width: 100%; }
svg { max-width: 100%; height: auto; }
input[type=search] { max-width: 100%; box-sizing: border-box; }
th, td { border: 1px solid var(--line); padding: .2rem .5rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge {
  display: inline-block;
  padding: 0 .45rem;
  border-radius: 1rem;
  color: #fff;
  font-size: .8rem;
  font-weight: 600;
}
.pass { background: var(--pass); }
.fail { background: var(--fail); }
.inconclusive { background: var(--inconclusive); }
.error { background: var(--error); }
.measured { background: #0969da; }
.regression { background: var(--fail); }
.known-failure { background: #bc4c00; }
.improvement { background: var(--pass); }
.within-noise { background: var(--inconclusive); }
.new, .missing, .unchanged-pass { background: #59636e; }
.cards { display: flex; gap: .8rem; flex-wrap: wrap; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .4rem .9rem; min-width: 7rem; }
.card b { font-size: 1.4rem; display: block; }
.bar { display: flex; height: .8rem; width: 12rem; background: #eee; }
.bar span { display: block; height: 100%; }
pre {
  white-space: pre-wrap;
  word-break: break-word;
  background: #f6f8fa;
  padding: .5rem;
  border-radius: 6px;
  margin: .3rem 0;
  max-height: 30rem;
  overflow: auto;
}
details.scenario {
  border: 1px solid var(--line);
  border-radius: 6px;
  margin: .4rem 0;
  padding: .3rem .6rem;
}
.answers {
  display: grid;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 19rem), 1fr));
  gap: .8rem;
  margin-top: .6rem;
}
.answer { border: 1px solid var(--line); border-radius: 6px; padding: .3rem .6rem; min-width: 0; }
.answer h4 { margin: .2rem 0; overflow-wrap: anywhere; }
.sample + .sample { border-top: 1px dashed var(--line); margin-top: .5rem; }
.badge .who { font-weight: 400; }
.ruling { border-left: 3px solid var(--line); padding-left: .5rem; margin: .4rem 0; overflow-wrap: anywhere; }
.ruling p { margin: .1rem 0; }
code.nodeid { user-select: all; overflow-wrap: anywhere; background: #f6f8fa; padding: 0 .2rem; }
.wide { overflow-x: auto; max-width: 100%; }
td { overflow-wrap: anywhere; }
summary { cursor: pointer; }
details.scenario { scroll-margin-top: 4rem; } /* a link to it lands below the sticky filter bar */
.before-after {
  display: grid;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 16rem), 1fr));
  gap: .6rem;
}
.before-after > div { border: 1px solid var(--line); border-radius: 6px; padding: .2rem .5rem; min-width: 0; }
.before-after .before { border-left: 3px solid var(--pass); }
.before-after .after { border-left: 3px solid var(--fail); }
.before-after h4 { margin: .2rem 0; }
.before-after .changed { grid-column: 1 / -1; margin: 0; font-style: italic; }
.gate-failed { color: var(--fail); font-weight: 700; }
.gate-passed { color: var(--pass); font-weight: 700; }
.warning { color: var(--inconclusive); }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
.charts figure { margin: .5rem 0; flex: 1 1 24rem; max-width: 640px; }
figcaption { color: #59636e; font-size: .9rem; }
.minis { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); gap: .5rem; }
figure.mini { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: .2rem .3rem; }
figure.mini figcaption { overflow-wrap: anywhere; font-size: .8rem; }
svg.positions { width: 100%; height: auto; }
.pair h3 { font-size: 1rem; margin: 1rem 0 .3rem; overflow-wrap: anywhere; }
#heatmap td { text-align: center; min-width: 2.6rem; }
#heatmap th.value { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }
.filters { position: sticky; top: 0; background: #fff; padding: .4rem 0; z-index: 1; }
.filters label { white-space: nowrap; }
.filters select { max-width: 12rem; }
[hidden] { display: none !important; }
@media (max-width: 700px) { .filters { position: static; } } /* a tall bar would cover a phone's screen */
"""


def render_html(
    content: ReportContent, *, title: str = "spec-pytest report", base: str | os.PathLike[str] | None = None
) -> str:
    """The whole report as one HTML string (write it with UTF-8) into the directory ``base``
    (default: the current one): local paths are shown and linked relative to it."""
    paths = LocalPaths.of_records(content.records, base)
    clean, lists = Clean(), Lists()
    data = {
        "sc": scenario_data(content, paths, clean, lists),
        "gate": _gate_rows(content, paths, clean),
        "l": lists.items,
    }
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{esc(policy)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        _header(content, paths),
        _gate(content, paths),
        _judges(content),
        _agreement(content),
        _levels_and_principles(content),
        _disagreement(content),
        find_gaps(content.records, threshold=content.analysis.threshold).render_html()
        if len(content.analysis.models) >= 2
        else "",
        _heatmap(content),
        plots.position_figures(positions_by_pair(content.records)),
        character_html(content.analysis),
        drilldown(content),
        block(data),
        f"<script>{_SCRIPT}</script></body></html>",
    ]
    return scrub("\n".join(parts))  # records are scrubbed when written; older files may not be


# --------------------------------------------------------------------------- sections


def _header(content: ReportContent, paths: LocalPaths) -> str:
    cards = "".join(
        f'<div class="card" data-outcome="{o}"><b>{content.overall[o]}</b>'
        f'<span class="badge {o}">{o}</span></div>'
        for o in OUTCOMES
    )
    models = ", ".join(esc(m) for m in content.by_model) or "none"
    suites = sorted({(r.suite, r.spec_version) for r in content.records}, key=str)
    suite_text = ", ".join(esc(s) + (f" ({esc(v)})" if v else "") for s, v in suites) or "none"
    sources = ", ".join(esc(paths.show(s).text) for s in content.sources)
    return (
        '<section id="summary">'
        f'<p class="muted">{esc(outcome_line(content.overall))} · suites: {suite_text} · models: {models}'
        f"<br>from {sources or 'records'} · generated {esc(content.generated)}</p>"
        f'<div class="cards">{cards}</div></section>'
    )


def _judges(content: ReportContent) -> str:
    """Judge accuracy and agreement on the labelled answers, next to the model's results."""
    lines = judge_checks.summary_lines(content.judges, judge_checks.MIN_ACCURACY)
    if not lines:
        return ""
    rows = "".join(
        f'<p class="{"gate-failed" if line.startswith("WARNING") else "muted"}">{esc(line.strip())}</p>'
        for line in lines
    )
    return f'<section id="judges"><h2>Judges, checked on the labelled answers</h2>{rows}</section>'


def _agreement(content: ReportContent) -> str:
    """How far the run's judges agreed with each other: overall, then per pair of judges."""
    judged = [r for r in content.records if r.judges]
    if not judged:
        return ""
    out = ['<section id="agreement"><h2>Judge agreement</h2>']
    lines = agreement.agreement_lines(judged)
    if not lines:
        out.append(
            '<p class="muted">One judge per item: there is no agreement between judges to measure '
            "(give the panel two or more judges).</p>"
        )
        return "".join(out) + "</section>"
    out += [
        f'<p class="{"warning" if line.startswith("  ") else "agreement-overall"}">{esc(line.strip())}</p>'
        for line in lines
    ]
    rows = "".join(
        f"<tr><td>{esc(p.first)}</td><td>{esc(p.second)}</td><td class='num'>{p.cases}</td>"
        f"<td>{esc(p.describe('compliance'))}</td><td>{esc(p.describe('refusal'))}</td>"
        f"<td>{esc(p.describe_position())}</td></tr>"
        for p in agreement.pairs(judged)
    )
    out.append(
        "<h3>Per pair of judges</h3><table id='judge-pairs'><tr><th>judge</th><th>judge</th>"
        "<th class='num'>cases</th><th>compliance: Cohen's kappa</th><th>refusal: Cohen's kappa</th>"
        f"<th>position: Krippendorff's alpha (ordinal)</th></tr>{rows}</table>"
    )
    return "".join(out) + "</section>"


def _gate(content: ReportContent, paths: LocalPaths) -> str:
    gate = content.gate
    out = ['<section id="regressions"><h2>Baseline gate</h2>']
    if gate is None:
        out.append('<p class="muted">No baseline given (pass <code>--baseline FILE</code> to compare).</p>')
        return "".join(out) + "</section>"
    status = "gate-failed" if gate.exit_failed else "gate-passed"
    word = "FAILED" if gate.exit_failed else "passed"
    out.append(
        f'<p class="{status}" id="gate-status">Gate {word}: {len(gate.regressions)} regression(s), '
        f"{gate.max_regressions} allowed"
        + (f" (baseline {esc(paths.show(gate.baseline_name).text)})" if gate.baseline_name else "")
        + "</p>"
    )
    out += [f'<p class="muted">{esc(paths.text(note))}</p>' for note in gate.notes]
    out.append('<table id="gate-counts"><tr><th>class</th><th class="num">scenario × model</th></tr>')
    out += [
        f'<tr><td><span class="badge {c.value}">{c.value}</span></td><td class="num">{n}</td></tr>'
        for c, n in gate.shown_counts.items()
    ]
    out.append("</table>")
    out.append(
        '<noscript><p class="warning">The rows of the tables below are drawn by the page\'s own inline '
        "script: allow scripts for this file to see them.</p></noscript>"
    )
    for change in (Change.REGRESSION, Change.KNOWN_FAILURE, Change.WITHIN_NOISE, Change.IMPROVEMENT):
        entries = gate.of(change)
        if not entries:
            continue
        table = _gate_table(change)
        if change is Change.REGRESSION:
            out.append(f"<h3>Regressions</h3>{table}")
        else:
            out.append(f"<details><summary>{change.value} ({len(entries)})</summary>{table}</details>")
    not_run = gate.of(Change.NOT_RUN)
    if not_run:  # no evidence for these: listed open, by node id, since they may be what fails the gate
        names = "".join(f"<li><code>{esc(e.node_id)}</code></li>" for e in not_run)
        why = "accepted by --allow-missing" if gate.allow_missing else "not deselected (-k/-m/--shard)"
        out.append(
            f'<h3 id="not-run">Not run ({len(not_run)}): in the baseline, no record in this run, '
            f"{why}</h3><ul>{names}</ul>"
        )
    for change in (Change.NEW, Change.MISSING):
        entries = gate.of(change)
        if entries:
            names = "".join(f"<li>{esc(e.node_id)}</li>" for e in entries)
            out.append(
                f"<details><summary>{change.value} ({len(entries)})</summary><ul>{names}</ul></details>"
            )
    return "".join(out) + "</section>"


def _gate_table(change: Change) -> str:
    """Where a gate table goes: its head; the script adds its rows from the embedded data
    (`_gate_rows`), a hundred at a time, as the page opens or, in a fold, once it is opened."""
    head = "<tr><th>node id</th><th>baseline</th><th>now</th><th>reason now</th></tr>"
    return f'<table id="{change.value}-table" data-gate="{change.value}">{head}</table>'


def _gate_rows(content: ReportContent, paths: LocalPaths, clean: Clean) -> dict[str, list[list[Any]]]:
    """The gate's tables as `GATE_FIELDS` rows, by class; a regression's row carries its
    evidence: what the model said when it passed, beside what it says now."""
    gate = content.gate
    if gate is None:
        return {}
    tables: dict[str, list[list[Any]]] = {}
    for change in (Change.REGRESSION, Change.KNOWN_FAILURE, Change.WITHIN_NOISE, Change.IMPROVEMENT):
        rows = []
        for e in gate.of(change):
            suite, scenario, _ = e.key
            fields = {
                "nodeid": clean(e.node_id),
                "target": anchor(suite, scenario),
                "before": clean(e.baseline.describe() if e.baseline else ""),
                "now": clean(e.current.describe() if e.current else ""),
                "reason": clean(paths.text(e.current.reason) if e.current and e.current.reason else ""),
                "evidence": _before_after(e, clean) if change is Change.REGRESSION else [],
            }
            rows.append([fields[name] for name in GATE_FIELDS])
        if rows:
            tables[change.value] = rows
    return tables


def _before_after(entry: GateEntry, clean: Clean) -> list[list[Any]]:
    """Each sample pair of a regression: [before, now, what changed (or "")]."""
    return [
        [
            _gate_evidence(before, "not kept (an old baseline)", clean),
            _gate_evidence(after, "not run", clean),
            clean(what_changed(before, after)) if before and after else "",
        ]
        for before, after in entry.before_after()
    ]


def _gate_evidence(evidence: Evidence | None, missing: str, clean: Clean) -> list[str]:
    """One side: [why there is none], or [its reading, the answer's excerpt, its short hash]
    (the last two empty when the answer was not kept)."""
    if evidence is None:
        return [missing]
    reading = clean(f"s{evidence.sample}: {evidence.reading()}")
    if evidence.short_hash is None:
        return [reading, "", ""]
    return [reading, clean(evidence.answer_excerpt or ""), clean(evidence.short_hash)]


def _outcome_table(
    table_id: str, label: str, groups: dict[str, Counts], extra: dict[str, str | None] | None
) -> str:
    head = f"<tr><th>{esc(label)}</th>" + ("<th>level</th>" if extra is not None else "")
    head += (
        "".join(f'<th class="num">{o}</th>' for o in OUTCOMES)
        + '<th class="num">pass rate</th><th></th></tr>'
    )
    rows = []
    for name, counts in groups.items():
        bar = "".join(
            f'<span class="{o}" style="width:{100 * counts[o] / counts.total:.1f}%"></span>'
            for o in OUTCOMES
            if counts[o]
        )
        level = f"<td>{esc(extra.get(name) or '')}</td>" if extra is not None else ""
        cells = "".join(f'<td class="num">{counts[o]}</td>' for o in OUTCOMES)
        rows.append(
            f"<tr><td>{esc(name)}</td>{level}{cells}<td class='num'>{counts.pass_rate:.0%}</td>"
            f'<td><div class="bar">{bar}</div></td></tr>'
        )
    return f'<table id="{table_id}">{head}{"".join(rows)}</table>'


def _levels_and_principles(content: ReportContent) -> str:
    return (
        '<section id="outcomes"><h2>Pass / fail by authority level and principle</h2>'
        + '<div class="charts">'
        + _chart("pass rate by authority level", "rate-by-level", content.by_level)
        + _chart("pass rate by principle (lowest first)", "rate-by-principle", content.by_principle)
        + "</div>"
        + _outcome_table("by-level", "authority level", content.by_level, None)
        + _outcome_table("by-model", "model", content.by_model, None)
        + "<h3>By principle (lowest pass rate first)</h3>"
        + _outcome_table("by-principle", "principle", content.by_principle, content.principle_levels)
        + "</section>"
    )


def _chart(title: str, figure_id: str, groups: dict[str, Counts]) -> str:
    figure = plots.pass_rate_bars(figure_id, title, groups)
    return f"<figure><figcaption>{esc(title)}</figcaption>{figure}</figure>" if figure else ""


def _disagreement(content: ReportContent) -> str:
    analysis = content.analysis
    found = analysis.disagreements
    out = [
        '<section id="disagreement"><h2>Cross-model disagreement</h2>',
        f'<p class="muted">D = population standard deviation of the models\' positions (max over the two '
        f"values); D ≥ {analysis.threshold:g} marks a likely spec gap. {len(found)} scenario(s) answered by "
        f"two or more models; {len(analysis.gaps)} at or above the threshold. Items that errored have no "
        "position and are left out.</p>",
    ]
    if not found:
        out.append("<p>Fewer than two models placed on any scenario: nothing to compare.</p>")
        return "".join(out) + "</section>"
    out.append(_histogram(found, analysis.threshold))
    if analysis.gaps:
        rows = "".join(
            f'<tr><td><a href="#{anchor(g.suite, g.scenario)}">{esc(g.scenario)}</a></td>'
            f"<td>{esc(g.conflict or '')}</td><td>{esc(' vs '.join(g.values))}</td>"
            f'<td class="num">{g.d:.2f}</td><td>{esc(positions_text(g))}</td></tr>'
            for g in analysis.gaps
        )
        out.append(
            f"<h3>Likely spec gaps (D ≥ {analysis.threshold:g})</h3><table id='gaps'><tr><th>scenario</th>"
            "<th>conflict</th><th>values (0 … 6)</th><th class='num'>D</th><th>positions</th></tr>"
            f"{rows}</table>"
        )
    out.append(_share_table("by-conflict-share", "conflict", analysis.by_conflict))
    out.append(_share_table("by-principle-share", "principle", analysis.by_principle))
    return "".join(out) + "</section>"


def _share_table(table_id: str, label: str, shares: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr><td>{esc(name)}</td><td class="num">{s.high}</td><td class="num">{s.total}</td>'
        f'<td class="num">{s.fraction:.0%}</td></tr>'
        for name, s in shares.items()
    )
    return (
        f"<h3>High-disagreement share by {label}</h3><table id='{table_id}'><tr><th>{label}</th>"
        "<th class='num'>high D</th><th class='num'>scenarios</th><th class='num'>share</th></tr>"
        f"{rows}</table>"
    )


def _histogram(found: Sequence[Disagreement], threshold: float) -> str:
    bins = int(D_MAX / BIN_WIDTH)
    counts = [0] * bins
    for item in found:
        counts[min(int(item.d / BIN_WIDTH), bins - 1)] += 1
    width, height, left, bottom, top_margin = 640, 240, 40, 36, 24
    bar_w = (width - left - 10) / bins
    top = max(counts) or 1
    shapes = []
    for i, count in enumerate(counts):
        h = (height - bottom - top_margin) * count / top
        x = left + i * bar_w
        low = i * BIN_WIDTH
        high_d = low >= threshold
        shapes.append(
            f'<rect class="bin" data-count="{count}" x="{x:.1f}" y="{height - bottom - h:.1f}" '
            f'width="{bar_w - 2:.1f}" height="{h:.1f}" fill="{"#cf222e" if high_d else "#57606a"}">'
            f"<title>D {low:g}–{low + BIN_WIDTH:g}: {count} scenario(s)</title></rect>"
        )
    for tick in range(int(D_MAX) + 1):
        x = left + tick / BIN_WIDTH * bar_w
        shapes.append(
            f'<text x="{x:.1f}" y="{height - 22}" font-size="11" text-anchor="middle">{tick}</text>'
        )
    tx = left + min(threshold, D_MAX) / BIN_WIDTH * bar_w
    shapes.append(
        f'<line class="threshold" data-threshold="{threshold:g}" x1="{tx:.1f}" x2="{tx:.1f}" '
        f'y1="{top_margin - 6}" y2="{height - bottom}" stroke="#cf222e" '
        f'stroke-dasharray="4 3"/><text x="{tx + 4:.1f}" y="14" font-size="11" fill="#cf222e">'
        f"threshold {threshold:g}</text>"
        f'<text x="{left - 6}" y="{top_margin + 4}" font-size="11" text-anchor="end">{top}</text>'
        f'<text x="{left - 6}" y="{height - bottom}" font-size="11" text-anchor="end">0</text>'
        f'<text x="{left + (width - left) / 2:.0f}" y="{height - 4}" font-size="11" text-anchor="middle">'
        "disagreement D (scenarios per bin of 0.25)</text>"
    )
    return (
        f'<svg id="histogram" role="img" aria-label="histogram of disagreement D" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(shapes)
        + "</svg>"
    )


def _colour(lean: float) -> str:
    """Red (never favours the value) through white (3, balanced) to blue (always favours it)."""
    t = max(0.0, min(1.0, lean / 6))
    low, mid, high = (214, 96, 77), (247, 247, 247), (67, 147, 195)
    a, b, f = (low, mid, t * 2) if t < 0.5 else (mid, high, (t - 0.5) * 2)
    r, g, bl = (round(a[k] + (b[k] - a[k]) * f) for k in range(3))
    return f"rgb({r},{g},{bl})"


def _heatmap(content: ReportContent) -> str:
    character = content.analysis.character
    out = ['<section id="character"><h2>Model × value: mean lean toward each value (0–6)</h2>']
    if not character:
        out.append("<p>No positions recorded.</p>")
        return "".join(out) + "</section>"
    frequency: dict[str, int] = defaultdict(int)
    for leans in character.values():
        for value, seen in leans.items():
            frequency[value] = max(frequency[value], seen.scenarios)
    values = sorted(frequency, key=lambda v: (-frequency[v], v))[:HEATMAP_VALUES]
    if len(frequency) > len(values):
        out.append(
            f'<p class="muted">Showing the {len(values)} values met in most scenarios, '
            f"of {len(frequency)}.</p>"
        )
    head = "<tr><th>model</th>" + "".join(f'<th class="value">{esc(v)}</th>' for v in values) + "</tr>"
    rows = []
    for model, leans in character.items():
        cells = []
        for value in values:
            lean: Lean | None = leans.get(value)
            if lean is None:
                cells.append("<td></td>")
            else:
                cells.append(
                    f'<td style="background:{_colour(lean.mean)}" title="{esc(model)} toward {esc(value)}: '
                    f'{lean.mean:.2f} over {lean.scenarios} scenario(s)">{lean.mean:.1f}</td>'
                )
        rows.append(f"<tr><th>{esc(model)}</th>{''.join(cells)}</tr>")
    out.append(f'<table id="heatmap">{head}{"".join(rows)}</table>')
    out.append('<p class="muted">0 = never favours the value, 3 = balanced, 6 = entirely for it.</p>')
    return "".join(out) + "</section>"
