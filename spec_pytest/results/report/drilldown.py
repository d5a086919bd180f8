"""The report's drill-down: each scenario once, its models' answers side by side.

One column per model (its samples stacked inside), so a reviewer reads how the models
answered the same conversation across, not one answer after another down a long page. Each
column starts with a badge that names its model in text, the node id (to paste back into
pytest) and each judge's ruling with its rationale; the rest of the evidence (tokens, hash,
cassettes, linked by relative path) is folded under it. The scenario's messages are shown
once, above the columns, and each answer once: a 10,000-item page must stay openable.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from spec_pytest.core.judgement import Judgement
from spec_pytest.results.analysis import Disagreement
from spec_pytest.results.records import Record
from spec_pytest.results.report.character import position_text
from spec_pytest.results.report.content import OUTCOMES, ReportContent
from spec_pytest.results.report.markup import anchor, esc, path_link
from spec_pytest.results.report.paths import LocalPaths

#: How much of each answer the drill-down shows: a page with 10,000 items must stay openable.
HTML_EXCERPT_CHARS = 1500
#: The filters a reviewer narrows the items by, beside the free-text box: (name, label).
FILTERS = (
    ("model", "model"),
    ("outcome", "outcome"),
    ("level", "authority level"),
    ("principle", "principle"),
    ("value", "value"),
)

#: The page's only script, pinned by its hash in the Content-Security-Policy. A scenario shows
#: when it matches the text box, the check box and its level / principle / value choices, and
#: keeps at least one answer of the chosen model with the chosen outcome; the other columns
#: and samples of a shown scenario are hidden too, so what is left is what was asked for.
FILTER_SCRIPT = """(function () {
  var box = document.getElementById("filter"), only = document.getElementById("not-passing");
  var names = ["model", "outcome", "level", "principle", "value"], pick = {};
  var scenarios = document.querySelectorAll("details.scenario"), count = document.getElementById("shown");
  names.forEach(function (n) { pick[n] = document.getElementById("by-" + n); });
  function has(list, wanted) { return !wanted || JSON.parse(list).indexOf(wanted) >= 0; }
  function apply() {
    var text = box.value.toLowerCase(), failing = only.checked, shown = 0;
    var model = pick.model.value, outcome = pick.outcome.value;
    scenarios.forEach(function (d) {
      var match = (!text || d.dataset.search.indexOf(text) >= 0) && (!failing || d.dataset.failing === "1")
        && (!pick.level.value || d.dataset.level === pick.level.value)
        && has(d.dataset.principles, pick.principle.value) && has(d.dataset.values, pick.value.value);
      var answers = 0;
      d.querySelectorAll(".answer").forEach(function (a) {
        var kept = 0;
        a.querySelectorAll(".sample").forEach(function (s) {
          var keep = (!model || a.dataset.model === model) && (!outcome || s.dataset.outcome === outcome);
          s.hidden = !keep;
          kept += keep ? 1 : 0;
        });
        a.hidden = kept === 0;
        answers += kept;
      });
      d.hidden = !(match && answers > 0);
      shown += d.hidden ? 0 : 1;
    });
    count.textContent = shown + " of " + scenarios.length + " scenarios shown";
  }
  box.addEventListener("input", apply);
  only.addEventListener("change", apply);
  names.forEach(function (n) { pick[n].addEventListener("change", apply); });
})();"""


def drilldown(content: ReportContent, paths: LocalPaths) -> str:
    """The ``items`` section: a filter bar, then one collapsed block per scenario, failing first."""
    scenarios: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in content.records:
        scenarios[(record.suite, record.scenario)].append(record)
    d_of = {(d.suite, d.scenario): d for d in content.analysis.disagreements}
    ordered = sorted(scenarios.items(), key=lambda kv: (all(r.passed for r in kv[1]), kv[0]))
    choices = {
        "model": sorted({r.model for r in content.records}),
        "outcome": [o for o in OUTCOMES if content.overall[o]],
        "level": sorted({r.level for r in content.records if r.level}),
        "principle": sorted({p for r in content.records for p in r.principles}),
        "value": sorted({v for r in content.records for v in r.values or ()}),
    }
    selects = "".join(
        f'<label>{label} <select id="by-{name}"><option value="">all</option>'
        + "".join(f'<option value="{esc(c)}">{esc(c)}</option>' for c in choices[name])
        + "</select></label> "
        for name, label in FILTERS
    )
    out = [
        '<section id="items"><h2>Items</h2>',
        '<div class="filters"><input id="filter" type="search" placeholder="filter by scenario, conflict, '
        'value, model" size="40"> '
        f'<label><input id="not-passing" type="checkbox"> not passing only</label> {selects}'
        f'<span id="shown" class="muted">{len(scenarios)} of {len(scenarios)} scenarios shown</span></div>',
    ]
    out += [
        scenario_block(key, sorted(records, key=lambda r: (r.model, r.sample)), d_of.get(key), paths)
        for key, records in ordered
    ]
    return "".join(out) + "</section>"


def scenario_block(
    key: tuple[str, str], records: list[Record], d: Disagreement | None, paths: LocalPaths
) -> str:
    """One scenario: its facts and messages once, then a grid of one column per model."""
    first = records[0]
    failing = any(not r.passed for r in records)
    search = " ".join(
        [*key, first.conflict or "", *(first.values or ()), *(r.model for r in records)]
    ).lower()
    several = len({r.sample for r in records}) > 1
    badges = "".join(_badge(r, sample=several) + " " for r in records)
    facts = [
        ("suite", f"{first.suite}" + (f" ({first.spec_version})" if first.spec_version else "")),
        ("conflict", first.conflict),
        ("values", " (0) vs (6) ".join(first.values) if first.values else None),
        ("principles", ", ".join(first.principles) or None),
        ("authority level", first.level),
        ("nudge", first.nudge),
        ("expected", _expected(first.expected)),
        ("disagreement", f"D = {d.d:.2f} ({positions_text(d)})" if d else None),
    ]
    rows = "".join(f"<tr><th>{name}</th><td>{esc(value)}</td></tr>" for name, value in facts if value)
    messages = "".join(
        f'<div class="message"><b>{esc(m.get("role", ""))}</b><pre>{esc(m.get("content", ""))}</pre></div>'
        for m in first.messages
    )
    by_model: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_model[record.model].append(record)
    columns = "".join(_column(model, samples, paths) for model, samples in by_model.items())
    return (
        f'<details class="scenario" id="{anchor(*key)}" data-failing="{int(failing)}" '
        f'data-search="{esc(search)}" data-level="{esc(first.level or "")}" '
        f'data-principles="{esc(json.dumps(list(first.principles)))}" '
        f'data-values="{esc(json.dumps(list(first.values or ())))}">'
        f"<summary><b>{esc(first.scenario)}</b> <span class='muted'>{esc(first.conflict or '')}</span> "
        f'<span class="badges">{badges}</span></summary><div class="wide"><table>{rows}</table></div>'
        f'{messages}<div class="answers">{columns}</div></details>'
    )


def _badge(record: Record, *, sample: bool) -> str:
    """The verdict, naming its model in visible text (a colour alone says nothing to some readers)."""
    which = f" s{record.sample}" if sample else ""
    return (
        f'<span class="badge {esc(record.outcome)}"><span class="who">{esc(record.model)}{which}</span> '
        f"{esc(record.outcome)}</span>"
    )


def _column(model: str, samples: Sequence[Record], paths: LocalPaths) -> str:
    return (
        f'<article class="answer" data-model="{esc(model)}"><h4 class="model">{esc(model)}</h4>'
        + "".join(_sample(r, paths) for r in samples)
        + "</article>"
    )


def _sample(record: Record, paths: LocalPaths) -> str:
    """One sample's verdict, answer, judges' rulings and (folded) evidence."""
    body = [
        f"<p>{_badge(record, sample=True)}"
        + (f' <span class="reason">{esc(paths.text(record.reason))}</span>' if record.reason else "")
        + "</p>"
    ]
    if record.nodeid:
        body.append(f'<p class="nodeid-line">node id <code class="nodeid">{esc(record.nodeid)}</code></p>')
    if record.error:
        body.append(f'<p><b>Error</b></p><pre class="error-text">{esc(paths.text(record.error))}</pre>')
    if record.response_excerpt is not None:
        excerpt = record.response_excerpt[:HTML_EXCERPT_CHARS]
        total = max(record.response_chars or 0, len(record.response_excerpt))
        cut = (
            f" (first {len(excerpt)} of {total} characters; full text in the response cassette)"
            if total > len(excerpt)
            else ""
        )
        body.append(f"<p><b>Response</b>{esc(cut)}</p><pre class='response'>{esc(excerpt)}</pre>")
    panel = _panel(record)
    if panel:
        body.append(f'<p class="panel"><b>Panel</b> {esc(panel)}</p>')
    body += [_ruling(j) for j in record.judges]
    body.append(_evidence(record, paths))
    return f'<div class="sample" data-outcome="{esc(record.outcome)}">{"".join(body)}</div>'


def _ruling(judge: Judgement) -> str:
    """One judge's reading: where it placed the answer, its rulings, what it cited, and why."""
    parts = [
        f"position {position_text(judge.position, judge.value_positions)}",
        f"{judge.compliance}",
        f"refusal {judge.refusal}",
    ]
    if judge.cited:
        parts.append("cites " + ", ".join(judge.cited))
    return (
        f'<div class="ruling"><b class="judge">{esc(judge.judge)}</b>: {esc(" · ".join(parts))}'
        f'<p class="rationale">{esc(judge.rationale)}</p></div>'
    )


def _evidence(record: Record, paths: LocalPaths) -> str:
    facts = [
        ("API model", record.response_model),
        ("finish reason", record.finish_reason),
        ("tokens in / out", _tokens(record)),
        ("latency", f"{record.latency_s:.2f} s" if record.latency_s is not None else None),
        ("response hash", record.response_hash),
    ]
    rows = [f"<tr><th>{esc(n)}</th><td>{esc(v)}</td></tr>" for n, v in facts if v]
    rows += [
        f"<tr><th>cassette ({esc(role)})</th><td>{path_link(paths.show(path))}</td></tr>"
        for role, path in record.cassettes.items()
    ]
    if not rows:
        return ""
    return f'<details class="evidence"><summary>evidence</summary><table>{"".join(rows)}</table></details>'


def positions_text(item: Disagreement) -> str:
    """``model p, model p``: where each model landed on a scenario's spectrum."""
    return ", ".join(f"{model} {p:g}" for model, p in item.positions.items())


def _expected(expected: dict[str, Any] | None) -> str | None:
    if not expected:
        return None
    parts = []
    if expected.get("lean") is not None:
        tolerance = expected.get("tolerance")
        parts.append(f"lean {expected['lean']}±{tolerance if tolerance is not None else 1}")
    if expected.get("compliance"):
        parts.append(f"compliance {expected['compliance']}")
    if expected.get("refusal"):
        parts.append("refusal " + " or ".join(expected["refusal"]))
    return ", ".join(parts) or None


def _panel(record: Record) -> str | None:
    parts = []
    if record.position is not None:
        parts.append(f"position {position_text(record.position, record.value_positions)}")
    if record.compliance:
        parts.append(record.compliance)
    if record.refusal:
        parts.append(f"refusal {record.refusal}")
    return ", ".join(parts) or None


def _tokens(record: Record) -> str | None:
    if record.input_tokens is None and record.output_tokens is None:
        return None
    return f"{record.input_tokens if record.input_tokens is not None else '?'} / " + (
        f"{record.output_tokens if record.output_tokens is not None else '?'}"
    )
