"""The report's figures, as inline SVG strings: no script, no library, nothing fetched.

Each figure is a handful of rectangles and labels, so writing the SVG directly is shorter
than configuring a plotting library, and it stays inside the page's Content-Security-Policy
(no ``data:`` images, no network). Every label from records goes through `esc`. A figure
carries ``role="img"`` and an ``aria-label``, each bar a ``<title>`` a pointer shows, and the
numbers it draws as ``data-`` attributes, which the browser tests read back.
"""

from __future__ import annotations

from collections import Counter

from spec_pytest.results.analysis import SPECTRUM_MAX
from spec_pytest.results.report.content import Counts
from spec_pytest.results.report.markup import esc

#: Value pairs with a figure per model; the pairs with most answers first, a note says the rest.
POSITION_PAIRS = 12
#: Bars in a pass-rate chart; the rest are in the table below it.
RATE_BARS = 30
_INK, _PASS, _MUTED = "#57606a", "#1a7f37", "#d0d7de"


def _svg(figure_id: str, label: str, width: float, height: float, shapes: list[str], css: str = "") -> str:
    named = f'id="{figure_id}" ' if figure_id else ""
    return (
        f'<svg {named}class="plot {css}" role="img" '
        f'aria-label="{esc(label)}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(shapes)
        + "</svg>"
    )


def position_histogram(model: str, pair: tuple[str, str], counts: Counter[int]) -> str:
    """One model's answers on one pair's spectrum: a bar per point 0-6, tallest bar full height."""
    width, height, bottom, top_margin = 154, 76, 14, 4
    bar = (width - 8) / (SPECTRUM_MAX + 1)
    tallest = max(counts.values(), default=0) or 1
    shapes = []
    for point in range(SPECTRUM_MAX + 1):
        n = counts.get(point, 0)
        h = (height - bottom - top_margin) * n / tallest
        x = 4 + point * bar
        shapes.append(
            f'<rect class="pos" data-position="{point}" data-count="{n}" x="{x:.1f}" '
            f'y="{height - bottom - h:.1f}" width="{bar - 3:.1f}" height="{max(h, 0.0):.1f}" '
            f'fill="{_INK if point != 3 else "#0969da"}"><title>{esc(model)} at {point}: {n} answer(s)'
            "</title></rect>"
            f'<text x="{x + (bar - 3) / 2:.1f}" y="{height - 2}" font-size="10" text-anchor="middle">'
            f"{point}</text>"
        )
    shapes.append(
        f'<line x1="4" x2="{width - 4}" y1="{height - bottom}" y2="{height - bottom}" stroke="{_MUTED}"/>'
    )
    label = f"{model}: positions between {pair[0]} (0) and {pair[1]} (6)"
    return _svg("", label, width, height, shapes, "positions")


def position_figures(pairs: dict[tuple[str, str], dict[str, Counter[int]]]) -> str:
    """The study's character figures: per value pair, each model's distribution of positions."""
    out = [
        '<section id="positions"><h2>Where each model lands, per value pair</h2>',
        '<p class="muted">Answers per point of the pair\'s spectrum: 0 = entirely the first value, '
        "3 (blue) = balanced, 6 = entirely the second. Each sample counts; items that errored or "
        "that no judge majority placed are left out.</p>",
    ]
    if not pairs:
        out.append("<p>No answer was placed on a value spectrum.</p>")
        return "".join(out) + "</section>"
    shown = list(pairs.items())[:POSITION_PAIRS]
    if len(pairs) > len(shown):
        out.append(f'<p class="muted">The {len(shown)} value pairs with most answers, of {len(pairs)}.</p>')
    for (first, second), models in shown:
        figures = "".join(
            f'<figure class="mini" data-model="{esc(model)}">{position_histogram(model, (first, second), c)}'
            f"<figcaption>{esc(model)} · {c.total()} answer(s)</figcaption></figure>"
            for model, c in models.items()
        )
        out.append(
            f'<div class="pair" data-pair="{esc(first)} vs {esc(second)}"><h3>{esc(first)} (0) … '
            f'{esc(second)} (6)</h3><div class="minis">{figures}</div></div>'
        )
    return "".join(out) + "</section>"


def pass_rate_bars(figure_id: str, label: str, groups: dict[str, Counts]) -> str:
    """Horizontal bars: the pass rate of each group, among its items that had something to check."""
    rows = [(name, c) for name, c in groups.items() if c.total - c["measured"] > 0][:RATE_BARS]
    if not rows:
        return ""
    width, row_h, label_w, right = 640, 22, 230, 92
    height = row_h * len(rows) + 8
    scale = width - label_w - right
    shapes = []
    for i, (name, counts) in enumerate(rows):
        y = 4 + i * row_h
        checked = counts.total - counts["measured"]
        shown = name if len(name) <= 34 else name[:33] + "…"
        shapes.append(
            f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" text-anchor="end">{esc(shown)}'
            f"<title>{esc(name)}</title></text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{scale}" height="{row_h - 6}" fill="#eaeef2"/>'
            f'<rect class="rate" data-group="{esc(name)}" data-rate="{counts.pass_rate:.4f}" x="{label_w}" '
            f'y="{y + 3}" width="{scale * counts.pass_rate:.1f}" height="{row_h - 6}" fill="{_PASS}">'
            f"<title>{esc(name)}: {counts['pass']} of {checked} passed</title></rect>"
            f'<text x="{label_w + scale + 6}" y="{y + 15}" font-size="12">{counts.pass_rate:.0%} of '
            f"{checked}</text>"
        )
    return _svg(figure_id, label, width, height, shapes, "rates")
