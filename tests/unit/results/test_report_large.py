"""A large run's report: listed a page at a time, searchable whole, every regression reachable.

The page draws its scenarios from embedded data (`drilldown.PAGE` at a time), so these tests
check in real Chromium what a reader of a 250-scenario run sees and can reach: the count of
what is not listed yet, the button that lists it, the filter finding a scenario that is not
listed, and a regression's link opening its scenario wherever it sits. And the data the page
embeds is scrubbed like every other sink: a key an answer echoed is in neither the file nor
what the page draws, even where the answer is cut.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from spec_pytest.results.gate import Baseline
from spec_pytest.results.records import Record
from spec_pytest.results.report import build, render_html
from spec_pytest.results.report.drilldown import HTML_EXCERPT_CHARS, PAGE
from spec_pytest.results.report.markup import anchor
from tests.support.browser import BrowserMissing, assert_clean, chromium, open_page, rendered
from tests.support.recordsets import GPT, expected_lean, judged

SCENARIOS = 250
LAST = f"bulk-{SCENARIOS - 1:03d}"  # sorted last, far beyond the first page
LISTED = "[...document.querySelectorAll('details.scenario')].map(d => d.querySelector('summary b').innerText)"
MORE = "[...document.querySelectorAll('button.more')].find(b => b.previousElementSibling.id === 'scenarios')"
SHOWN = "document.getElementById('shown').textContent"


@pytest.fixture(scope="module", autouse=True)
def browser() -> None:
    try:
        chromium()
    except BrowserMissing as exc:
        pytest.fail(str(exc), pytrace=False)


def _bulk(name: str, position: int) -> Record:
    """mayor-phone's record renamed: a run of many scenarios, each answered by one model."""
    record = judged("mayor-phone", GPT, position)
    return replace(record, scenario=name, nodeid=f"example_suite.yaml::{name}[{GPT}-s0]")


def _failing() -> int:
    lean = expected_lean("mayor-phone")
    return 6 if lean < 3 else 0


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """250 failing scenarios; the last one passed in the baseline, so the gate links to it."""
    now = [_bulk(f"bulk-{i:03d}", _failing()) for i in range(SCENARIOS)]
    before = [_bulk(LAST, expected_lean("mayor-phone"))]
    path = tmp_path_factory.mktemp("large") / "report.html"
    path.write_text(render_html(build(now, baseline=Baseline.from_records(before))), encoding="utf-8")
    return path


def test_a_large_run_lists_a_page_says_what_is_left_and_lists_the_rest_on_request(large: Path):
    load = open_page(
        large,
        {
            "first": f"[{LISTED}.length, {SHOWN}, {MORE}.textContent]",
            "next": f"(() => {{ {MORE}.click(); return [{LISTED}.length, {SHOWN}, {MORE}.textContent]; }})()",
            "rest": f"(() => {{ {MORE}.click(); return [{LISTED}.length, {SHOWN}, {MORE}.hidden]; }})()",
        },
    )
    assert_clean(load)
    assert load.values["first"] == [
        PAGE,
        f"{SCENARIOS} of {SCENARIOS} scenarios match, the first {PAGE} listed",
        f"list the next {PAGE} ({SCENARIOS - PAGE} not listed)",
    ]
    assert load.values["next"] == [
        2 * PAGE,
        f"{SCENARIOS} of {SCENARIOS} scenarios match, the first {2 * PAGE} listed",
        f"list the next {SCENARIOS - 2 * PAGE} ({SCENARIOS - 2 * PAGE} not listed)",
    ]
    assert load.values["rest"] == [SCENARIOS, f"{SCENARIOS} of {SCENARIOS} scenarios shown", True]


def test_the_filter_finds_a_scenario_that_is_not_listed_yet(large: Path):
    load = open_page(
        large,
        {
            "listed": f"{LISTED}.includes({LAST!r})",
            "found": "(() => { const box = document.getElementById('filter'); box.value = "
            f"{LAST.upper()!r}; box.dispatchEvent(new Event('input')); return [{LISTED}, {SHOWN}]; }})()",
        },
    )
    assert load.values["listed"] is False
    assert load.values["found"] == [[LAST], f"1 of {SCENARIOS} scenarios shown"]


def test_a_regressions_link_opens_its_scenario_even_past_the_listed_page_and_a_filter(large: Path):
    target = anchor("example", LAST)
    link = f"document.querySelector('#regression-table a[href=\"#{target}\"]')"
    load = open_page(
        large,
        {
            "hash": "location.hash",
            "open": f"document.getElementById({target!r}).open",
            "answer": f"document.getElementById({target!r}).querySelector('pre.response').textContent",
            "box": "document.getElementById('filter').value",
            "in_view": f"(r => r.top >= 0 && r.top < innerHeight)(document.getElementById({target!r})"
            ".getBoundingClientRect())",
            # closed by the reader, then the same link clicked again (the address does not change)
            "again": f"(() => {{ document.getElementById({target!r}).open = false; {link}.click();"
            f" return document.getElementById({target!r}).open; }})()",
        },
        actions=[
            # a filter that hides the scenario, then a click on the regression's node id
            "const box = document.getElementById('filter'); box.value = 'bulk-000';"
            "box.dispatchEvent(new Event('input'));",
            f"new Promise(done => {{ {link}.click(); setTimeout(done, 300); }})",
        ],
    )
    assert_clean(load)
    assert load.values["hash"] == f"#{target}"
    assert load.values["open"] is True
    assert load.values["answer"]  # its answer is drawn, not only its title
    assert load.values["box"] == ""  # the filter that hid it was cleared
    assert load.values["in_view"] is True
    assert load.values["again"] is True


def test_a_key_an_answer_echoed_is_neither_in_the_file_nor_drawn_even_where_the_answer_is_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    key = "sk-proj-" + "Zq7" * 12
    monkeypatch.setenv("OPENAI_API_KEY", key)
    # the key starts just before the cut: cut first and scrubbed after, its start would be shown
    answer = "x" * (HTML_EXCERPT_CHARS - 6) + key + " and more"
    rationale = f"It repeats the key {key} verbatim."
    record = judged("mayor-phone", GPT, 3, text=answer, rationale=rationale)
    record = replace(record, response_chars=len(answer))
    path = tmp_path / "report.html"
    page = render_html(build([record]))
    path.write_text(page, encoding="utf-8")
    load, dom = rendered(path)
    assert_clean(load)
    for text in (page, dom):
        assert key[:6] not in text and key[8:20] not in text
    assert "It repeats the key &lt;OPENAI_API_KEY&gt; verbatim." in dom  # drawn as text, the key replaced


def test_text_repeated_across_items_is_written_once_so_the_page_grows_by_what_is_new(large: Path):
    page = large.read_text("utf-8")
    rationale = judged("mayor-phone", GPT, _failing()).judges[0].rationale
    message = judged("mayor-phone", GPT).messages[0]["content"]
    # 250 scenarios, each with the same judges' rationales and the same user message: once each
    assert page.count(rationale) == 1 and page.count(message) == 1
    one = len(render_html(build([_bulk("bulk-000", _failing())])).encode())
    assert len(page.encode()) < one + SCENARIOS * 400  # each further item costs its ids and path
