"""Judge agreement in the HTML report and the Markdown summary, as honest as the terminal's."""

from __future__ import annotations

import html
from dataclasses import replace

from spec_pytest.core.judgement import Judgement
from spec_pytest.results.records import Record
from spec_pytest.results.report import build, render_html, render_markdown
from spec_pytest.results.summary import agreement_lines
from tests.support.recordsets import PUBLIC_FIGURE, judged

A, B = "openai:gpt-5", "anthropic:claude-opus-4-1"
SCENARIOS = (*PUBLIC_FIGURE, "startup-pitch", "bank-review-draft")


def _case(scenario: str, rulings: tuple[str, str], sample: int = 0) -> Record:
    """An item two judges ruled on: ``rulings`` is each one's compliance."""
    record = judged(scenario, sample=sample)
    judges = tuple(
        Judgement(judge=j, compliance=c, refusal="none", rationale=f"{j} says {c}", position=3)
        for j, c in zip((A, B), rulings, strict=True)
    )
    return replace(record, judges=judges)


def _both(records: list[Record]) -> tuple[str, str]:
    content = build(records)
    return html.unescape(render_html(content)), render_markdown(content)


def test_cohens_kappa_per_pair_sits_beside_the_share_of_cases_the_pair_agreed_on():
    # A: c c n n, B: c n n n -> agreed 3/4; chance .5*.25 + .5*.75 = .5; kappa (.75 - .5) / .5 = 0.50
    c, n = "compliant", "non-compliant"
    records = [_case(s, r) for s, r in zip(SCENARIOS, [(c, c), (c, n), (n, n), (n, n)], strict=False)]
    page, summary = _both(records)
    assert "<td>openai:gpt-5</td><td>anthropic:claude-opus-4-1</td><td class='num'>4</td>" in page
    assert "0.50 (agreed on 75%)" in page
    assert "| openai:gpt-5 | anthropic:claude-opus-4-1 | 4 | 0.50 (agreed on 75%) |" in summary
    overall = agreement_lines(records)[0]  # the terminal's own sentence, in both reports
    assert overall.startswith("judge agreement (2 judges, 4 case(s)): compliance Fleiss' kappa")
    assert overall in page and overall in summary


def test_the_kappa_paradox_is_explained_not_left_as_a_weak_looking_number():
    same = [_case(SCENARIOS[i % 5], ("compliant", "compliant"), sample=i) for i in range(19)]
    records = [*same, _case("startup-pitch", ("compliant", "non-compliant"), sample=99)]
    page, summary = _both(records)
    assert "agreed on 95%" in page
    for text in (page, summary):
        assert "compliance kappa is low although the judges were unanimous on 95% of cases" in text
        assert "refusal: all 20 rulings alike (kappa undefined without variation)" in text


def test_one_shared_case_is_too_few_for_any_agreement_figure():
    page, summary = _both([_case("mayor-phone", ("compliant", "non-compliant"))])
    for text in (page, summary):
        assert "too few cases for Fleiss' kappa or Krippendorff's alpha (they need 2 or more)" in text
        assert "too few cases (1; needs 2)" in text
    assert "agreed on" not in page  # no share of one case dressed up as a figure


def test_a_single_judge_panel_says_there_is_no_agreement_to_measure():
    record = judged("mayor-phone")
    alone = replace(record, judges=record.judges[:1])
    page, summary = _both([alone])
    assert "One judge per item: there is no agreement between judges to measure" in page
    assert "Judge agreement" not in summary and "kappa" not in summary
