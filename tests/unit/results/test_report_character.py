"""The reports' per-value character figures and the study's D line (HTML and Markdown)."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from spec_pytest.results.records import Record
from spec_pytest.results.report import build, render_html, render_markdown

VALUES = ("harm_prevention", "helpfulness")


def _record(
    model: str, scenario: str, pair: tuple[float, float] | None, position: float | None = None
) -> Record:
    if pair is not None:
        position = 3 + (pair[1] - pair[0]) / 2
    return Record(
        suite="study",
        scenario=scenario,
        model=model,
        sample=0,
        outcome="measured",
        values=VALUES,
        position=position,
        value_positions=pair,
        compliance="compliant",
        refusal="none",
    )


def _records() -> list[Record]:
    return [
        _record("m:refuser", "s1", (0, 0)),  # a refusal: low on both
        _record("m:helper", "s1", (6, 5)),  # serves both
        _record("m:refuser", "s2", (1, 0)),
        _record("m:helper", "s2", (2, 6)),
    ]


def _bars(page: str, model: str, value: str) -> dict[int, int]:
    figure = re.search(
        rf'<figure class="mini" data-model="{re.escape(model)}" data-value="{value}">(.*?)</figure>',
        page,
        re.S,
    )
    assert figure, (model, value)
    return {
        int(p): int(n) for p, n in re.findall(r'data-position="(\d)" data-count="(\d+)"', figure.group(1))
    }


def test_the_html_shows_each_models_distribution_on_each_values_own_spectrum() -> None:
    page = render_html(build(_records()))
    assert '<section id="value-character">' in page
    assert _bars(page, "m:refuser", "harm_prevention") == {0: 1, 1: 1, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0}
    assert _bars(page, "m:helper", "helpfulness") == {0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 1, 6: 1}
    assert "m:refuser · 2 oppose, 0 neutral, 0 favor" in page
    # s1: D = 3 per value (0 vs 6), where the bipolar reading (3 vs 2.5) sees little
    assert "2 of 2 scenario(s) compared; D measured on both per-value spectra for 2 of them" in page
    assert "position 3 (per value 0, 0)" in page  # the item's panel reading, in its drill-down


def test_a_bipolar_run_has_no_per_value_section() -> None:
    page = render_html(build([_record("m:a", "s1", None, 2.0), _record("m:b", "s1", None, 5.0)]))
    assert 'id="value-character"' not in page and 'id="positions"' in page


def test_the_markdown_summary_has_one_row_per_model_and_value_and_stays_a_table() -> None:
    text = render_markdown(build(_records()))
    assert "### Character on each value's own spectrum (per-value rubric)" in text
    assert "| m:refuser | harm\\_prevention | 2 | 0 | 0 | 1 1 0 0 0 0 0 |" in text
    tables = [t for t in MarkdownIt("commonmark").enable("table").parse(text) if t.type == "table_open"]
    assert tables  # GitHub renders it as a table
    assert "Character on each value" not in render_markdown(build([_record("m:a", "s1", None, 2.0)]))
