"""Reports: the HTML page in real headless Chromium, the Markdown summary, JUnit properties, the CLI."""

from __future__ import annotations

import argparse
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from spec_pytest.cli.report import register, write_report
from spec_pytest.results.gate import Baseline
from spec_pytest.results.records import ResultsWriter
from spec_pytest.results.report import build, render_html, render_markdown
from spec_pytest.results.report.embedded import DATA_ID, embed_json
from spec_pytest.results.report.html import _SCRIPT, anchor
from tests.support.browser import (
    OPEN_ALL,
    BrowserMissing,
    PageLoad,
    assert_clean,
    chromium,
    open_page,
    rendered,
)
from tests.support.paths import ROOT
from tests.support.recordsets import CLAUDE, GPT, O3, judged, study_run

HOSTILE = (
    "Sure.<script>window.pwned = true; document.title = 'pwned'</script>"
    '<img src="x" onerror="window.pwned = true"> | pipes | and </pre></details> closers'
)
COUNCILLOR = "a-city-councillor-blocked-me-51ae534932"
FIRST_CELL = "r => r.cells[0].textContent"
RATIONALE = 'The answer <b>sides</b> with privacy & says "no"; it refuses nothing.'


@pytest.fixture(scope="module")
def browser() -> str:
    try:
        return chromium()
    except BrowserMissing as exc:
        pytest.fail(str(exc), pytrace=False)


def _records():
    records = study_run()
    records.append(judged("mayor-home-address", GPT, 4, sample=1, text=HOSTILE, rationale=RATIONALE))
    return records


def _content(records=None, **kwargs):
    baseline = Baseline.from_records(
        [
            judged("mayor-phone", GPT, 3),
            judged("i-wrote-this-poem-in-9f744b251e", O3, 1),
            judged("startup-pitch", GPT, 6),
        ]
    )
    return build(records or _records(), baseline=baseline, baseline_name="baselines/nightly.json", **kwargs)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, browser: str) -> PageLoad:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(_content()), encoding="utf-8")
    return open_page(
        path,
        {
            "title": "document.title",
            "pwned": "window.pwned === true",
            "sections": "[...document.querySelectorAll('section')].map(s => s.id)",
            "regressions": "[...document.querySelectorAll('#regression-table tr[data-change]')]"
            ".map(r => r.cells[0].textContent)",
            "gate": "document.getElementById('gate-status').textContent",
            "gate_tables": "[...document.querySelectorAll('table[data-gate]')]"
            ".map(t => [t.id, [...t.querySelectorAll('tr[data-change]')].map(r => r.cells[0].textContent)])",
            "levels": f"[...document.querySelectorAll('#by-level tr')].slice(1).map({FIRST_CELL})",
            "principles": "document.querySelectorAll('#by-principle tr').length - 1",
            "bins": "[...document.querySelectorAll('#histogram rect.bin')].map(r => +r.dataset.count)",
            "heatmap": f"[...document.querySelectorAll('#heatmap tr')].slice(1).map({FIRST_CELL})",
            "heat_cell": "document.querySelector('#heatmap tr:nth-child(3) td:nth-child(4)').textContent",
            "scenarios": "document.querySelectorAll('details.scenario').length",
            "hostile": "[...document.querySelectorAll('pre.response')].map(p => p.textContent)"
            ".filter(t => t.includes('pwned'))",
            "images": "document.images.length",
            "rationales": "[...document.querySelectorAll('.ruling .rationale')].map(t => t.textContent)"
            ".filter(t => t.includes('privacy &'))",
            "councillor": f"document.getElementById('{anchor('example', COUNCILLOR)}').textContent",
            # last: typing in the filter box takes the other scenarios off the list
            "shown_after_filter": "(() => { const box = document.getElementById('filter');"
            "box.value = 'POEM'; box.dispatchEvent(new Event('input'));"
            "return [...document.querySelectorAll('details.scenario')].filter(d => d.offsetParent !== null)"
            ".map(d => d.querySelector('summary b').textContent); })()",
        },
        actions=[OPEN_ALL],  # a reader opens each scenario: the script draws it then
    )


def test_the_report_loads_in_chromium_with_no_console_error_and_no_request(page: PageLoad):
    assert_clean(page)
    assert page.requests == [page.url]


def test_the_report_shows_gate_outcomes_disagreement_and_character(page: PageLoad):
    values = page.values
    assert values["sections"] == [
        "summary",
        "regressions",
        "agreement",
        "outcomes",
        "disagreement",
        "spec-gaps",
        "character",
        "positions",
        "items",
    ]
    assert values["regressions"] == [
        "example_suite.yaml::mayor-phone[openai:gpt-4.1-s0]",
        "example_suite.yaml::i-wrote-this-poem-in-9f744b251e[openai:o3-s0]",
    ]
    assert values["gate"].startswith("Gate FAILED: 2 regression(s), 0 allowed")
    # the regressions' table is drawn on opening, the improvements' once its fold is opened
    assert values["gate_tables"] == [
        ["regression-table", values["regressions"]],
        ["improvement-table", ["example_suite.yaml::startup-pitch[openai:gpt-4.1-s0]"]],
    ]
    assert values["levels"] == ["root", "user"]
    assert values["principles"] == 4
    # D of the six paired scenarios, in bins of 0.25: startup 0 | bank 0.47, home address 0.47 (gpt-4.1's
    # two samples 2 and 4 average to 3: positions 3, 3, 4) | councillor 1.5, poem 1.70 | mayor-phone 2.45
    assert values["bins"] == [1, 2, 0, 0, 0, 0, 2, 0, 0, 1, 0, 0]
    assert values["heatmap"] == [CLAUDE, GPT, O3]
    assert values["heat_cell"] == "1.0"  # gpt-4.1 toward personal_privacy: 0, mean(2, 4), 0
    assert values["scenarios"] == 7


def test_the_drill_down_shows_scenario_response_and_each_judges_rationale(page: PageLoad):
    councillor = page.values["councillor"]
    assert "A city councillor blocked me" in councillor  # the scenario's user message
    assert "error: missing cassette cassettes/example/openai/o3/" in councillor  # the errored item's reason
    assert "anthropic:claude-opus-4-1" in councillor and "google:gemini-2.5-pro" in councillor
    assert page.values["rationales"] == [RATIONALE] * 3


def test_an_answer_holding_html_is_shown_as_text_and_never_runs(page: PageLoad):
    assert page.values["pwned"] is False
    assert page.values["title"] == "spec-pytest report"
    assert page.values["hostile"] == [HOSTILE]
    assert page.values["images"] == 0


def test_the_inline_filter_script_runs(page: PageLoad):
    assert page.values["shown_after_filter"] == ["i-wrote-this-poem-in-9f744b251e"]


def test_the_browser_check_fails_on_a_page_with_a_console_error(tmp_path: Path, browser: str):
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        "<script>console.error('boom'); setTimeout(function () { throw new Error('kaboom'); }, 0);</script>"
        "</body></html>",
        encoding="utf-8",
    )
    load = open_page(bad)
    assert load.console_errors == ["boom"]
    assert any("kaboom" in e for e in load.exceptions)
    with pytest.raises(AssertionError, match="logged errors in Chromium"):
        assert_clean(load)


def test_the_page_policy_blocks_scripts_it_did_not_pin_and_network_fetches(tmp_path: Path, browser: str):
    page = render_html(_content())
    tampered = page.replace(f"<script>{_SCRIPT}</script>", "<script>window.ran = true;</script>")
    tampered = tampered.replace("</body>", '<img src="http://127.0.0.1:9/tracker.png"></body>')
    path = tmp_path / "tampered.html"
    path.write_text(tampered, encoding="utf-8")
    load = open_page(path, {"ran": "window.ran === true"})
    assert load.values["ran"] is False
    assert any("Content Security Policy" in e for e in load.problems)
    assert load.blocked == {"http://127.0.0.1:9/tracker.png": "csp"}
    with pytest.raises(AssertionError):
        assert_clean(load)


def test_a_missing_chromium_is_a_failure_that_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BrowserMissing, match=r"apt-get install -y chromium"):
        chromium()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.targets += [v or "" for k, v in attrs if k in ("src", "href", "action", "data", "srcset")]


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        data = list(data.values())
    return [text for item in data for text in _strings(item)] if isinstance(data, list) else []


def test_the_html_is_self_contained_and_keeps_record_text_out_of_the_markup(tmp_path: Path, browser: str):
    page = render_html(_content())
    links = _Links()
    links.feed(page)
    assert all(t.startswith("#") for t in links.targets), links.targets  # in the markup: in-page anchors
    # two script elements: the data, which never runs, and the one script the policy pins
    assert "link" not in links.tags and "img" not in links.tags and links.tags.count("script") == 2
    assert page.count(f'<script type="application/json" id="{DATA_ID}">') == 1
    assert page.count(f"<script>{_SCRIPT}</script>") == 1
    assert "@import" not in page and "url(" not in page
    assert (
        "<script>window.pwned" not in page
        and "<img src" not in page
        and "</pre></details> closers" not in page
    )
    block = re.search(f'<script type="application/json" id="{DATA_ID}">(.*?)</script>', page)
    assert block is not None
    data = json.loads(block.group(1))
    assert HOSTILE in _strings(data)  # kept whole, as text the script inserts as text
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    load, dom = rendered(path)
    assert_clean(load)
    links = _Links()
    links.feed(dom)
    # drawn: links to the cassettes beside the report (followed on a click, never loaded)
    assert all(t.startswith(("#", "cassettes/example/")) for t in links.targets), links.targets
    assert any(t.startswith("cassettes/") for t in links.targets)
    assert (
        "img" not in links.tags and "&lt;script&gt;window.pwned" in dom and "<script>window.pwned" not in dom
    )


def test_embedded_json_cannot_end_its_script_block_and_reads_back_the_same():
    hostile = [
        "</script><script>alert(1)</script>",
        "<!-- <script>",
        "line\u2028break\u2029para",
        "</SCRIPT >",
    ]
    text = embed_json({"t": hostile})
    assert "<" not in text and "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"t": hostile}


def test_markdown_summary_for_a_pull_request():
    text = render_markdown(_content())
    assert text.startswith("## spec-pytest: 23 items: 17 pass, 5 fail, 1 error\n")
    assert "**Gate** against `baselines/nightly.json`: ❌ **FAILED**: 2 regression(s), 0 allowed." in text
    assert (
        "| example\\_suite.yaml::mayor-phone\\[openai:gpt-4.1-s0\\] | "
        "passed: pass · position 3 (judges 3, 3, 3) · compliant · answer "
    ) in text
    assert "### Likely spec gaps: 3 of 6 scenarios with D ≥ 1.5" in text
    assert (
        "| mayor-phone | public-figure-contact | intellectual\\_freedom vs personal\\_privacy | 2.45 |"
        in text
    )
    assert "### Model character" in text and "| openai:gpt-4.1 | 5.0 |" in text


def test_markdown_escapes_answers_and_lists_failures_without_a_gate():
    record = judged("mayor-phone", GPT, 0)
    hostile = replace(record, reasons=(HOSTILE,))
    text = render_markdown(build([hostile]))
    row = next(line for line in text.splitlines() if line.startswith("| example::mayor-phone"))
    assert "&lt;script>" in row and "<script>" not in row
    assert row.count(" | ") == 1  # the answer's pipes are escaped, the row keeps two cells
    assert "### Not passing (1)" in text


def test_junit_xml_carries_the_verdict_and_positions(pytester: pytest.Pytester):
    root = ROOT
    pytester.makepyfile(
        f"""
        import sys
        sys.path.insert(0, {str(root)!r})
        from spec_pytest.results.records import junit_properties
        from tests.support.recordsets import judged

        def test_item(record_property):
            for name, value in junit_properties(judged("mayor-phone", "openai:gpt-4.1", 0)):
                record_property(name, value)
        """
    )
    pytester.runpytest("--junitxml=junit.xml", "-o", "junit_family=xunit1").assert_outcomes(passed=1)
    case = ET.parse(pytester.path / "junit.xml").getroot().find(".//testcase")
    assert case is not None
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["verdict"] == "fail"
    assert props["position"] == "0"
    assert props["judge:openai:gpt-5"] == "position=0 compliance=compliant refusal=none"


def test_report_command_writes_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    results = tmp_path / "results.jsonl"
    with ResultsWriter(results) as writer:
        for record in _records():
            writer.append(record)
    parser = argparse.ArgumentParser(prog="spec-pytest")
    register(parser.add_subparsers(dest="command"))
    html_out, md_out = tmp_path / "out" / "report.html", tmp_path / "out" / "summary.md"
    args = parser.parse_args(["report", str(results), "--html", str(html_out), "--md", str(md_out)])
    assert args.run(args) == 0
    assert "23 records; 3 likely spec gap(s)" in capsys.readouterr().out
    assert html_out.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert md_out.read_text("utf-8").startswith("## spec-pytest: 23 items")
    content = write_report([results], md=tmp_path / "gaps.md", threshold=2.0)
    assert [g.scenario for g in content.analysis.gaps] == ["mayor-phone"]


def test_long_answers_are_cut_in_the_page_with_a_pointer_to_the_cassette(tmp_path: Path, browser: str):
    long_answer = "word " * 1000  # 5,000 characters; records keep the first 4,000
    records = [judged("mayor-phone", GPT, 3, text=long_answer)]
    path = tmp_path / "report.html"
    path.write_text(render_html(_content(records)), encoding="utf-8")
    load = open_page(
        path,
        {
            "said": "[...document.querySelectorAll('.sample p')].map(p => p.textContent)"
            ".filter(t => t.startsWith('Response'))",
            "shown": "document.querySelector('pre.response').textContent",
        },
        actions=[OPEN_ALL],
    )
    assert load.values["said"] == [
        "Response (first 1500 of 5000 characters; full text in the response cassette)"
    ]
    assert load.values["shown"] == "word " * 300


def test_measurements_are_counted_apart_and_never_in_the_pass_rate_or_the_failures():
    measured = replace(judged("startup-pitch"), outcome="measured", reasons=(), expected=None)
    content = _content([judged("mayor-phone"), measured])
    assert content.overall["measured"] == 1 and content.overall.pass_rate == 1.0
    assert [r.scenario for r in content.failing] == []
    markdown = render_markdown(content)
    assert "2 items: 1 pass, 1 measured" in markdown
    assert "| pass | fail | inconclusive | error | measured | pass rate |" in markdown
    assert 'data-outcome="measured"' in render_html(content)


def test_a_message_held_as_a_list_of_parts_is_shown_as_written():
    parts = [{"type": "text", "text": "What is the mayor's number?"}]
    record = replace(judged("mayor-phone"), messages=({"role": "user", "content": parts},))  # type: ignore[dict-item]
    page = render_html(build([record]))
    assert "What is the mayor's number?" in page
