"""The study's character figures on per-value positions: where each model sits on each value.

Under the per-value rubric (``--rubric judge-v2``) every answer has a position on each of its
two values' own spectra (0 extreme_oppose .. 3 neutral .. 6 extreme_favor). The study drew, per
model, the distribution of those positions for each value across the scenarios involving it:
a model that opposes ``harm_prevention`` in a third of its answers is a different character
from one always neutral, though their means may agree. These figures say that; the bipolar
histograms (`plots.position_figures`) cannot, since a refusal and an answer serving both
values both sit at 3 there.

Kept in a module of its own so the HTML and Markdown reports each add one call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from spec_pytest.core.judgement import VALUE_SPECTRUM
from spec_pytest.results.analysis import Analysis
from spec_pytest.results.report.markup import esc

#: Values with a row of figures; those with most answers first, a note says the rest.
VALUES_SHOWN = 12
_OPPOSE, _NEUTRAL, _FAVOR = "#cf222e", "#0969da", "#1a7f37"


def bands(counts: Counter[int]) -> tuple[int, int, int]:
    """Answers opposing (0-2), neutral toward (3) and favouring (4-6) the value."""
    return (
        sum(counts.get(p, 0) for p in (0, 1, 2)),
        counts.get(3, 0),
        sum(counts.get(p, 0) for p in (4, 5, 6)),
    )


def by_value(analysis: Analysis) -> dict[str, dict[str, Counter[int]]]:
    """Per value, per model: the distribution (values with most answers first)."""
    found: dict[str, dict[str, Counter[int]]] = {}
    for model, values in analysis.value_distribution.items():
        for value, counts in values.items():
            found.setdefault(value, {})[model] = counts
    return dict(sorted(found.items(), key=lambda kv: (-sum(c.total() for c in kv[1].values()), kv[0])))


def disagreement_line(analysis: Analysis) -> str:
    """How many scenarios reach the study's line, and how many were measured per value."""
    found = analysis.disagreements
    measured = sum(1 for d in found if d.per_value)
    high = len(analysis.gaps)
    return (
        f"High disagreement (D ≥ {analysis.threshold:g}, the study's line: some two models 3+ points apart "
        f"on one value): {high} of {len(found)} scenario(s) compared; D measured on both per-value spectra "
        f"for {measured} of them, derived from one bipolar position for the rest."
    )


def character_html(analysis: Analysis) -> str:
    """The section: per value, one small histogram per model over the value's seven points.

    Empty when no answer was judged per value (a bipolar run's report stays as it was; its
    bipolar histograms are `plots.position_figures`).
    """
    values = by_value(analysis)
    if not values:
        return ""
    out = [
        '<section id="value-character"><h2>Character: each model on each value\'s own spectrum</h2>',
        '<p class="muted">Per-value rubric (judge-v2): answers per point of the value\'s own spectrum, '
        "0 extreme_oppose (red) … 3 neutral (blue) … 6 extreme_favor (green). A refusal sits low on "
        "both of a scenario's values; an answer serving both sits high on both.</p>",
    ]
    if len(analysis.models) >= 2:
        out.append(f'<p class="d-line">{esc(disagreement_line(analysis))}</p>')
    shown = list(values.items())[:VALUES_SHOWN]
    if len(values) > len(shown):
        out.append(f'<p class="muted">The {len(shown)} values with most answers, of {len(values)}.</p>')
    for value, models in shown:
        figures = "".join(
            f'<figure class="mini" data-model="{esc(model)}" data-value="{esc(value)}">'
            f"{_histogram(model, value, counts)}<figcaption>{esc(model)} · "
            f"{_bands_text(counts)}</figcaption></figure>"
            for model, counts in sorted(models.items())
        )
        out.append(
            f'<div class="pair" data-value="{esc(value)}"><h3>{esc(value)}</h3>'
            f'<div class="minis">{figures}</div></div>'
        )
    return "".join(out) + "</section>"


def _bands_text(counts: Counter[int]) -> str:
    oppose, neutral, favor = bands(counts)
    return f"{oppose} oppose, {neutral} neutral, {favor} favor"


def _histogram(model: str, value: str, counts: Counter[int]) -> str:
    """Seven bars, the tallest full height; each bar's count in ``data-count`` and a title."""
    width, height, bottom, top = 154, 76, 14, 4
    bar = (width - 8) / len(VALUE_SPECTRUM)
    tallest = max(counts.values(), default=0) or 1
    shapes = []
    for point, label in enumerate(VALUE_SPECTRUM):
        n = counts.get(point, 0)
        h = (height - bottom - top) * n / tallest
        x = 4 + point * bar
        colour = _OPPOSE if point < 3 else _NEUTRAL if point == 3 else _FAVOR
        shapes.append(
            f'<rect class="vpos" data-position="{point}" data-count="{n}" x="{x:.1f}" '
            f'y="{height - bottom - h:.1f}" width="{bar - 3:.1f}" height="{h:.1f}" fill="{colour}">'
            f"<title>{esc(model)}, {esc(value)} {point} {label}: {n} answer(s)</title></rect>"
            f'<text x="{x + (bar - 3) / 2:.1f}" y="{height - 2}" font-size="10" text-anchor="middle">'
            f"{point}</text>"
        )
    label = f"{model}: positions on {value}'s own spectrum, 0 extreme_oppose to 6 extreme_favor"
    return (
        f'<svg class="plot vpositions" role="img" aria-label="{esc(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(shapes)
        + "</svg>"
    )


def character_markdown(
    analysis: Analysis,
    cell: Callable[[object], str],
    table: Callable[[list[str], list[list[str]]], list[str]],
) -> list[str]:
    """The Markdown lines: one row per model and value (``cell``/``table``: the summary's own)."""
    values = by_value(analysis)
    if not values:
        return []
    lines = ["", "### Character on each value's own spectrum (per-value rubric)", ""]
    if len(analysis.models) >= 2:
        lines += [cell(disagreement_line(analysis)), ""]
    rows: list[list[str]] = []
    for value, models in values.items():
        for model, counts in sorted(models.items()):
            oppose, neutral, favor = bands(counts)
            spread = " ".join(str(counts.get(p, 0)) for p in range(len(VALUE_SPECTRUM)))
            rows.append([cell(model), cell(value), str(oppose), str(neutral), str(favor), spread])
    return lines + table(["model", "value", "oppose 0-2", "neutral 3", "favor 4-6", "answers at 0…6"], rows)


def position_text(position: float | None, pair: tuple[float, float] | None) -> str:
    """``3.5 (per value 0, 1)``: the bipolar position and, under the per-value rubric, both."""
    shown = "-" if position is None else f"{position:g}"
    return shown if pair is None else shown + " (per value {:g}, {:g})".format(*pair)
