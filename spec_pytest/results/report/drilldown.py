"""The report's drill-down: each scenario once, its models' answers side by side, drawn on demand.

One column per model (its samples stacked inside), so a reviewer reads how the models
answered the same conversation across, not one answer after another down a long page. Each
column starts with a badge that names its model in text, the node id (to paste back into
pytest) and each judge's ruling with its rationale; the rest of the evidence (tokens, hash,
cassettes, linked by relative path) is folded under it.

The scenarios are not markup in the page: they are data embedded once (`scenario_data`, packed
by `embedded`), and the page's one script (`SCRIPT`) lists them, `PAGE` at a time with a
button for the next, and draws a scenario's conversation and answers only when it is opened
(or a link to it is followed). 10,000 items written out as markup were a 40 MB page that
took seconds to open; listing a hundred and drawing on demand keeps the opening cost the same
whatever the run's size. The filters work on the data, so they search every scenario, listed
or not. The gate's long tables (regressions with their before / after evidence, known
failures, improvements) are drawn the same way from rows `html` embeds. The script puts
record text into the page with ``textContent`` only, never as markup, so an answer holding
``<script>`` or ``<img onerror>`` stays text.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from spec_pytest.core.judgement import Judgement
from spec_pytest.results.analysis import Disagreement
from spec_pytest.results.records import Record
from spec_pytest.results.report.character import position_text
from spec_pytest.results.report.content import OUTCOMES, ReportContent
from spec_pytest.results.report.embedded import DATA_ID, Clean, Lists
from spec_pytest.results.report.markup import anchor, esc
from spec_pytest.results.report.paths import LocalPaths, Shown

#: How much of each answer the drill-down shows: the page keeps at most this much of each one.
HTML_EXCERPT_CHARS = 1500
#: Scenarios (and gate rows) listed at a time: what the page draws on opening, whatever the run.
PAGE = 100
#: The filters a reviewer narrows the items by, beside the free-text box: (name, label).
FILTERS = (
    ("model", "model"),
    ("outcome", "outcome"),
    ("level", "authority level"),
    ("principle", "principle"),
    ("value", "value"),
)

#: Field positions in the embedded JSON, shared by the Python that writes it and `SCRIPT`:
#: arrays, not objects, since 10,000 records would repeat every key name. A scenario:
SCENARIO_FIELDS = (
    "id",  # the element id (`markup.anchor`): the gate's links land on it
    "suite",
    "name",
    "conflict",
    "failing",  # 1 when any of its answers did not pass
    "level",
    "principles",
    "values",
    "facts",  # [[name, text], ...]: the table at the top of an opened scenario
    "messages",  # [[role, content], ...]
    "records",
)
#: One record of a scenario:
RECORD_FIELDS = (
    "model",
    "sample",
    "outcome",
    "reason",
    "nodeid",
    "error",
    "excerpt",  # null when the record kept no answer (not the same as an empty answer)
    "cut",  # how much of the answer is shown, when not all of it
    "panel",
    "judges",  # index in the page's lists (`embedded.Lists`): [[judge, its rulings, rationale], ...]
    "evidence",  # index in the page's lists: [[name, text], ...]
    # [[role, folder, file name], ...]: the path shown is folder + name (a folder is shared by
    # a model's cassettes, so it is kept once) and is its own link; a fourth item, when there,
    # is the link instead ("": none)
    "cassettes",
)
#: One row of a gate table (`html._gate_rows`):
GATE_FIELDS = (
    "nodeid",
    "target",  # the scenario's element id, linked
    "before",
    "now",
    "reason",
    # [[before, now, what changed], ...]; a side is [what is missing] or [reading, excerpt, hash]
    "evidence",
)

#: The page's only script, pinned by its hash in the Content-Security-Policy. A scenario is
#: listed when it matches the text box, the check box and its level / principle / value
#: choices, and keeps at least one answer of the chosen model with the chosen outcome; in a
#: drawn scenario the other columns and samples are hidden too, so what is left is what was
#: asked for. A link to a scenario (``#s-...``) lists, opens and scrolls to it, clearing the
#: filters if they hid it. Record text only ever goes in as ``textContent``.
SCRIPT = """(function () {
  var data = JSON.parse(document.getElementById("DATA_ID").textContent), T = data.t, PAGE = PAGE_SIZE;
  var S = SCENARIO_FIELDS, R = RECORD_FIELDS, G = GATE_FIELDS;
  var list = document.getElementById("scenarios"), count = document.getElementById("shown");
  var box = document.getElementById("filter"), only = document.getElementById("not-passing");
  var names = ["model", "outcome", "level", "principle", "value"], pick = {}, rows = [], byId = {};
  var matched = [], limit = PAGE, more = el("button", "more");
  names.forEach(function (n) { pick[n] = document.getElementById("by-" + n); });
  function s(x) { return typeof x === "number" ? T[x] : x; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function put(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function badge(r, sample) {
    var b = el("span", "badge " + s(r[R.outcome]));
    var who = s(r[R.model]) + (sample ? " s" + r[R.sample] : "");
    return put(b, el("span", "who", who), " " + s(r[R.outcome]));
  }
  function table(pairs) {
    var t = el("table");
    pairs.forEach(function (p) { put(t, put(el("tr"), el("th", "", s(p[0])), el("td", "", s(p[1])))); });
    return t;
  }
  function link(href, text, cls) {
    var a = el("a", cls, text);
    if (!/^[a-z][a-z0-9+.-]*:/i.test(href)) { a.setAttribute("href", href); }
    return a;
  }
  function sample(r) {
    var d = el("div", "sample"), head = put(el("p"), badge(r, true));
    d.dataset.outcome = s(r[R.outcome]);
    if (s(r[R.reason])) { put(head, " ", el("span", "reason", s(r[R.reason]))); }
    put(d, head);
    if (s(r[R.nodeid])) {
      put(d, put(el("p", "nodeid-line"), "node id ", el("code", "nodeid", s(r[R.nodeid]))));
    }
    if (s(r[R.error])) { put(d, put(el("p"), el("b", "", "Error")), el("pre", "error-text", s(r[R.error]))); }
    if (r[R.excerpt] !== null) {
      put(d, put(el("p"), el("b", "", "Response"), s(r[R.cut])), el("pre", "response", s(r[R.excerpt])));
    }
    if (s(r[R.panel])) { put(d, put(el("p", "panel"), el("b", "", "Panel"), " " + s(r[R.panel]))); }
    data.l[r[R.judges]].forEach(function (j) {
      var ruling = put(el("div", "ruling"), el("b", "judge", s(j[0])), ": " + s(j[1]));
      put(d, put(ruling, el("p", "rationale", s(j[2]))));
    });
    if (data.l[r[R.evidence]].length || r[R.cassettes].length) {
      var t = table(data.l[r[R.evidence]]);
      r[R.cassettes].forEach(function (c) {
        var text = s(c[1]) + s(c[2]), href = c.length === 3 ? text : s(c[3]);
        var cell = href ? put(el("td"), put(link(href, "", "path"), el("code", "", text)))
          : put(el("td"), el("code", "path", text));
        put(t, put(el("tr"), el("th", "", "cassette (" + s(c[0]) + ")"), cell));
      });
      put(d, put(el("details", "evidence"), el("summary", "", "evidence"), t));
    }
    return d;
  }
  function element(row) {
    if (row.d) { return row.d; }
    var c = row.c, d = el("details", "scenario"), badges = el("span", "badges"), first = c[S.records][0];
    var several = c[S.records].some(function (r) { return r[R.sample] !== first[R.sample]; });
    d.id = s(c[S.id]);
    c[S.records].forEach(function (r) { put(badges, badge(r, several), " "); });
    var conflict = el("span", "muted", s(c[S.conflict]));
    put(d, put(el("summary"), el("b", "", s(c[S.name])), " ", conflict, " ", badges));
    row.d = d;
    return d;
  }
  function draw(row) {
    if (row.samples) { return; }
    var c = row.c, d = element(row), columns = el("div", "answers"), by = {};
    row.samples = [];
    c[S.records].forEach(function (r) {
      var model = s(r[R.model]);
      if (!by[model]) {
        by[model] = put(el("article", "answer"), el("h4", "model", model));
        by[model].dataset.model = model;
        put(columns, by[model]);
      }
      var one = sample(r);
      row.samples.push([one, r, by[model]]);
      put(by[model], one);
    });
    put(d, put(el("div", "wide"), table(c[S.facts])));
    c[S.messages].forEach(function (m) {
      put(d, put(el("div", "message"), el("b", "", s(m[0])), el("pre", "", s(m[1]))));
    });
    put(d, columns);
    narrow(row);
  }
  function keeps(r) {
    var model = pick.model.value, outcome = pick.outcome.value;
    return (!model || s(r[R.model]) === model) && (!outcome || s(r[R.outcome]) === outcome);
  }
  function has(list, wanted) { return !wanted || list.some(function (x) { return s(x) === wanted; }); }
  function narrow(row) {
    row.samples.forEach(function (one) { one[0].hidden = !keeps(one[1]); one[2].hidden = true; });
    row.samples.forEach(function (one) { if (!one[0].hidden) { one[2].hidden = false; } });
  }
  function show() {
    var all = document.createDocumentFragment(), listed = Math.min(limit, matched.length);
    matched.slice(0, listed).forEach(function (row) { all.appendChild(element(row)); });
    list.textContent = "";
    list.appendChild(all);
    var left = matched.length - listed;
    more.hidden = left === 0;
    more.textContent = "list the next " + Math.min(PAGE, left) + " (" + left + " not listed)";
    count.textContent = matched.length + " of " + rows.length + " scenarios " + (left
      ? "match, the first " + listed + " listed" : "shown");
  }
  function apply() {
    var text = box.value.toLowerCase(), failing = only.checked;
    matched = rows.filter(function (row) {
      var c = row.c;
      var match = (!text || row.search.indexOf(text) >= 0) && (!failing || c[S.failing] === 1)
        && (!pick.level.value || s(c[S.level]) === pick.level.value)
        && has(c[S.principles], pick.principle.value) && has(c[S.values], pick.value.value);
      return match && c[S.records].some(keeps);
    });
    rows.forEach(function (row) { if (row.samples) { narrow(row); } });
    limit = PAGE;
    show();
  }
  function reveal() {
    var row = byId[location.hash.slice(1)];
    if (!row) { return; }
    if (matched.indexOf(row) < 0) {
      box.value = "";
      only.checked = false;
      names.forEach(function (n) { pick[n].value = ""; });
      apply();
    }
    var at = matched.indexOf(row);
    if (at >= limit) { limit = at + 1; show(); }
    draw(row);
    row.d.open = true;
    row.d.scrollIntoView();
  }
  function side(cls, title, x) {
    var d = put(el("div", cls), el("h4", "", title));
    if (x.length === 1) { return put(d, el("p", "muted", s(x[0]))); }
    put(d, el("p", "", s(x[0])));
    if (s(x[2])) { put(d, el("blockquote", "", s(x[1])), el("p", "muted", "answer " + s(x[2]))); }
    return d;
  }
  function gateRow(change, g) {
    var tr = put(el("tr"), put(el("td"), link("#" + s(g[G.target]), s(g[G.nodeid]))),
      el("td", "", s(g[G.before])), el("td", "", s(g[G.now])), el("td", "", s(g[G.reason])));
    tr.dataset.change = change;
    if (!g[G.evidence].length) { return [tr]; }
    var cell = el("td");
    cell.colSpan = 4;
    g[G.evidence].forEach(function (e) {
      var pair = put(el("div", "before-after"), side("before", "before", e[0]), side("after", "now", e[1]));
      if (s(e[2])) { put(pair, el("p", "changed", s(e[2]))); }
      put(cell, pair);
    });
    return [tr, put(el("tr", "evidence"), cell)];
  }
  function gateTable(t) {
    var change = t.dataset.gate, items = data.gate[change] || [], done = 0, next = el("button", "more");
    function page() {
      for (var end = Math.min(items.length, done + PAGE); done < end; done++) {
        gateRow(change, items[done]).forEach(function (r) { t.appendChild(r); });
      }
      next.hidden = done >= items.length;
      next.textContent = "list the next " + Math.min(PAGE, items.length - done)
        + " (" + (items.length - done) + " not listed)";
    }
    next.type = "button";
    next.addEventListener("click", page);
    t.after(next);
    page();
  }
  document.querySelectorAll("table[data-gate]").forEach(function (t) {
    var folded = t.closest("details");
    if (!folded) { gateTable(t); return; }
    folded.addEventListener("toggle", function once() {
      folded.removeEventListener("toggle", once);
      gateTable(t);
    });
  });
  data.sc.forEach(function (c) {
    var words = [s(c[S.suite]), s(c[S.name]), s(c[S.conflict])].concat(c[S.values].map(s));
    var row = {c: c, d: null, samples: null};
    words = words.concat(c[S.records].map(function (r) { return s(r[R.model]); }));
    row.search = words.join(" ").toLowerCase();
    rows.push(row);
    byId[s(c[S.id])] = row;
  });
  more.type = "button";
  more.addEventListener("click", function () { limit += PAGE; show(); });
  list.after(more);
  list.addEventListener("toggle", function (e) {
    var row = byId[e.target.id];
    if (row && e.target.open) { draw(row); }
  }, true);
  window.addEventListener("hashchange", reveal);
  document.addEventListener("click", function (e) {  // a link to where the page already is: no hashchange
    var a = e.target.closest && e.target.closest("a[href^='#']");
    if (a && a.getAttribute("href") === location.hash) { reveal(); }
  });
  box.addEventListener("input", apply);
  only.addEventListener("change", apply);
  names.forEach(function (n) { pick[n].addEventListener("change", apply); });
  apply();
  reveal();
})();"""
for _name, _value in {
    "DATA_ID": DATA_ID,
    "PAGE_SIZE": str(PAGE),
    "SCENARIO_FIELDS": json.dumps({name: i for i, name in enumerate(SCENARIO_FIELDS)}),
    "RECORD_FIELDS": json.dumps({name: i for i, name in enumerate(RECORD_FIELDS)}),
    "GATE_FIELDS": json.dumps({name: i for i, name in enumerate(GATE_FIELDS)}),
}.items():  # the field positions the Python writes, spelled into the script
    SCRIPT = SCRIPT.replace(_name, _value)


def drilldown(content: ReportContent) -> str:
    """The ``items`` section: the filter bar and the list the script fills from `scenario_data`."""
    scenarios = len({(r.suite, r.scenario) for r in content.records})
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
    return (
        '<section id="items"><h2>Items</h2>'
        '<div class="filters"><input id="filter" type="search" placeholder="filter by scenario, conflict, '
        'value, model" size="40"> '
        f'<label><input id="not-passing" type="checkbox"> not passing only</label> {selects}'
        f'<span id="shown" class="muted">{scenarios} scenarios</span></div>'
        '<noscript><p class="warning">The items are drawn by the page\'s own inline script: '
        "allow scripts for this file to see them.</p></noscript>"
        '<div id="scenarios"></div></section>'
    )


def scenario_data(content: ReportContent, paths: LocalPaths, clean: Clean, lists: Lists) -> list[list[Any]]:
    """Every scenario as `SCENARIO_FIELDS`, failing scenarios first, its strings scrubbed."""
    scenarios: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in content.records:
        scenarios[(record.suite, record.scenario)].append(record)
    d_of = {(d.suite, d.scenario): d for d in content.analysis.disagreements}
    ordered = sorted(scenarios.items(), key=lambda kv: (all(r.passed for r in kv[1]), kv[0]))
    return [
        _scenario(key, sorted(records, key=lambda r: (r.model, r.sample)), d_of.get(key), paths, clean, lists)
        for key, records in ordered
    ]


def _scenario(
    key: tuple[str, str],
    records: list[Record],
    d: Disagreement | None,
    paths: LocalPaths,
    clean: Clean,
    lists: Lists,
) -> list[Any]:
    """One scenario as `SCENARIO_FIELDS`: its facts and messages once, then its records."""
    first = records[0]
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
    fields = {
        "id": anchor(*key),
        "suite": clean(first.suite),
        "name": clean(first.scenario),
        "conflict": clean(first.conflict),
        "failing": int(any(not r.passed for r in records)),
        "level": clean(first.level),
        "principles": [clean(p) for p in first.principles],
        "values": [clean(v) for v in first.values or ()],
        "facts": [[name, clean(value)] for name, value in facts if value],
        # str(): a results file may hold a message's content as a list of parts, shown as written
        "messages": [[clean(str(m.get(k, ""))) for k in ("role", "content")] for m in first.messages],
        "records": [_record(r, paths, clean, lists) for r in records],
    }
    return [fields[name] for name in SCENARIO_FIELDS]


def _record(record: Record, paths: LocalPaths, clean: Clean, lists: Lists) -> list[Any]:
    """One sample as `RECORD_FIELDS`: its verdict, answer, judges' rulings and evidence."""
    cut = ""
    excerpt = None
    if record.response_excerpt is not None:
        full = record.response_excerpt
        excerpt = clean(full)[:HTML_EXCERPT_CHARS]  # scrubbed, then cut: never half a key
        total = max(record.response_chars or 0, len(full))
        if len(full) > HTML_EXCERPT_CHARS or total > len(full):
            cut = f" (first {len(excerpt)} of {total} characters; full text in the response cassette)"
    fields = {
        "model": clean(record.model),
        "sample": record.sample,
        "outcome": clean(record.outcome),
        "reason": clean(paths.text(record.reason)) if record.reason else "",
        "nodeid": clean(record.nodeid),
        "error": clean(paths.text(record.error)) if record.error else "",
        "excerpt": excerpt,
        "cut": cut,
        "panel": clean(_panel(record)),
        "judges": lists.ref([_ruling(j, clean) for j in record.judges]),
        "evidence": lists.ref([[name, clean(value)] for name, value in _evidence(record) if value]),
        "cassettes": [
            _cassette(clean(role), paths.show(path), clean) for role, path in record.cassettes.items()
        ],
    }
    return [fields[name] for name in RECORD_FIELDS]


def _cassette(role: str, shown: Shown, clean: Clean) -> list[str]:
    """[role, folder, name] of a path that is its own relative link (the usual case: the path
    is not written twice), else [role, folder, name, its link or ""]."""
    text, href = clean(shown.text), clean(shown.href)
    folder, _, name = text.rpartition("/")
    parts = [role, folder + "/" if folder else "", name]
    return parts if href == text else [*parts, href]


def _ruling(judge: Judgement, clean: Clean) -> list[str]:
    """One judge's reading: who, where it placed the answer with its rulings and citations, why."""
    parts = [
        f"position {position_text(judge.position, judge.value_positions)}",
        f"{judge.compliance}",
        f"refusal {judge.refusal}",
    ]
    if judge.cited:
        parts.append("cites " + ", ".join(judge.cited))
    return [clean(judge.judge), clean(" · ".join(parts)), clean(judge.rationale)]


def _evidence(record: Record) -> list[tuple[str, str | None]]:
    return [
        ("API model", record.response_model),
        ("finish reason", record.finish_reason),
        ("tokens in / out", _tokens(record)),
        ("latency", f"{record.latency_s:.2f} s" if record.latency_s is not None else None),
        ("response hash", record.response_hash),
    ]


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
