"""The Markdown summary as GitHub would take it: a step summary or a pull-request comment.

GitHub refuses a comment over 65,536 characters and a step summary over 1 MiB, and renders
GitHub-flavoured Markdown, where one unescaped ``|`` in an answer shifts a table's columns. The
summary is parsed here with markdown-it-py's GFM tables (CommonMark's reference port), on a run
large and hostile enough to hit each limit.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from markdown_it import MarkdownIt

from spec_pytest.results.gate import Baseline
from spec_pytest.results.report.content import build
from spec_pytest.results.report.markdown import ROWS, render_markdown
from tests.support.recordsets import GPT, O3, expected_lean, judged

COMMENT_LIMIT = 65_536  # characters GitHub accepts in a pull-request comment
PLANTED = "sk-" + "ant-" + "api03-" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8"
HOSTILE = "| col | ``` <script>alert(1)</script> **bold** [link](http://x) \n\n# heading " + PLANTED


def _many(n: int) -> tuple[Baseline, list]:
    """``n`` scenario × model items that passed in the baseline and now fail, each answering
    with text meant to break a table, inject markup and leak a key."""
    before, now = [], []
    for i in range(n):
        model = (GPT, O3)[i % 2]
        scenario = "mayor-phone"
        good = judged(scenario, model, expected_lean(scenario), sample=i)
        bad = judged(scenario, model, 6 if expected_lean(scenario) != 6 else 0, sample=i)
        text = f"answer {i}: {HOSTILE * 30}"
        bad = replace(
            bad,
            scenario=f"{scenario}-{i}",
            nodeid=f"example_suite.yaml::public-figure-contact::{scenario}-{i}[{model}-s0]",
            response_excerpt=text,
            response_hash=hashlib.sha256(text.encode()).hexdigest(),
            sample=0,
        )
        before.append(replace(good, scenario=f"{scenario}-{i}", nodeid=bad.nodeid, sample=0))
        now.append(bad)
    return Baseline.from_records(before), now


def _tables(markdown: str) -> list[list[list[str]]]:
    """Each table GitHub would render: its rows, each a list of cell texts."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    tables: list[list[list[str]]] = []
    row: list[str] | None = None
    for token in tokens:
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(token.content)
        elif token.type == "tr_close" and row is not None:
            tables[-1].append(row)
            row = None
    return tables


def test_a_large_hostile_run_fits_a_comment_and_every_table_keeps_its_columns():
    baseline, now = _many(400)
    text = render_markdown(build(now, baseline=baseline, baseline_name="baselines/main.json"))
    assert len(text) < COMMENT_LIMIT and len(text.encode()) < 1024 * 1024
    assert PLANTED not in text
    tables = _tables(text)
    regressions = next(t for t in tables if t[0][0] == "node id" and t[0][1] == "before")
    assert len(regressions) == 1 + ROWS  # the rest is counted, not listed
    assert all(len(r) == 4 for r in regressions)  # no answer's pipe split a cell
    assert f"… and {400 - ROWS} more (see the HTML report)" in text
    assert regressions[1][0].startswith(
        "example\\_suite.yaml::public-figure-contact::mayor-phone-0\\["
    )  # shown as the id
    assert "FAILED" in text.splitlines()[2]  # the gate's decision is at the top a reviewer reads


def test_no_answer_can_open_markup_in_the_summary():
    baseline, now = _many(3)
    text = render_markdown(build(now, baseline=baseline))
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<script>" not in html and "<h1>" not in html and 'href="http://x"' not in html
    assert "<strong>bold</strong>" not in html and "<pre>" not in html
