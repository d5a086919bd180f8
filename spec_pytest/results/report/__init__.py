"""Reports of a run: one self-contained HTML page and a Markdown summary, from result records."""

from spec_pytest.results.report.content import ReportContent, build
from spec_pytest.results.report.html import render_html
from spec_pytest.results.report.markdown import render_markdown

__all__ = ["ReportContent", "build", "render_html", "render_markdown"]
