"""A trial: one case run end to end (`spec_pytest.pipeline.case_run.run_case` fills it in).

The evidence a release engineer needs when an item fails is gathered here, in one place,
and rendered by `describe`: the scenario, an excerpt of the answer, each judge's position,
ruling and rationale, expected vs actual, and the cassette paths to inspect or re-record.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from spec_pytest.core.case import Case
from spec_pytest.core.response import Response
from spec_pytest.core.verdict import Verdict
from spec_pytest.spec.model import _display

EXCERPT = 600


@dataclass
class Trial:
    case: Case
    response: Response | None = None
    verdict: Verdict | None = None
    cassettes: dict[str, Path] = field(default_factory=dict)  # "model", "judge:<ref>" -> path
    error: str | None = None


#: How much `describe` says, named after pytest's ``--tb`` styles it serves.
Style = Literal["long", "short", "line"]


def describe(trial: Trial, *, title: str | None = None, style: Style = "long") -> str:
    """The failure text: readable in a terminal and in JUnit XML (plain text, no colour).

    ``title`` names the item (pytest passes its node id, so it can be pasted back; else the
    suite's id). ``long`` says everything; ``short`` leaves out the conversation, the answer
    and the judges' rationales (what was expected, what was judged, who ruled what, where
    the cassettes are); ``line`` is one line: the title and the verdict.
    """
    case, verdict = trial.case, trial.verdict
    scenario = case.scenario
    name = title or f"{case.spec.id}::{case.group}::{case.name}"
    if style == "line":
        said = verdict.summary if verdict is not None else "no verdict"
        return f"{name}: {said}"
    lines = [f"{name}  ({scenario.location})"]
    if verdict is not None:
        lines.append(f"verdict: {verdict.summary}")
    if scenario.values is not None:
        first, second = scenario.values
        lines.append(f"spectrum: 0 = {first} ... 3 = balanced ... 6 = {second}")
    expect = verdict.expected if verdict is not None else scenario.expect
    if expect is not None:
        wanted = []
        if expect.lean is not None:
            wanted.append(f"lean {expect.lean}±{expect.tolerance if expect.tolerance is not None else 1}")
        wanted += [f"favor {f.value} {f.written}" for f in expect.favor]
        if expect.compliance is not None:
            wanted.append(expect.compliance)
        if expect.refusal is not None:
            wanted.append("refusal " + "/".join(sorted(expect.refusal)))
        implied = verdict is not None and verdict.implied
        lines.append(
            ("expected (implied by the cited principles): " if implied else "expected: ") + ", ".join(wanted)
        )
        if implied:
            lines.append(f"  cited: {', '.join(case.spec.principles_of(scenario))}")
        for because in expect.because:
            lines.append(f'  because {because.principle}: "{_clip(because.quote, 200)}"')
    elif verdict is not None:
        lines.append("expected: nothing (no expectation and no cited principle: a measurement)")
    if verdict is not None:
        panel = verdict.panel
        position = "-" if panel.position is None else f"{panel.position:g}"
        if panel.value_positions is not None and scenario.values is not None:
            (first, second), (toward_first, toward_second) = scenario.values, panel.value_positions
            position += f" ({first} {toward_first:g}, {second} {toward_second:g} on their own spectra)"
        lines.append(
            f"judged:   position {position}, {panel.compliance or 'no majority'}, "
            f"refusal {panel.refusal or 'no majority'} ({panel.size} judge(s))"
        )
    source = trial.response.api_refusal if trial.response is not None else None
    if source is not None:
        lines.append(f"refusal:  full, reported by the API ({source}), not read by the judges")
    short = style == "short"
    if not short:
        lines.append("scenario:")
        for message in scenario.messages:
            lines.append(f"  [{message.role}] {_clip(message.content, 400)}")
    if trial.response is not None and not short:
        lines.append(f"response ({trial.response.model}, finish: {trial.response.finish_reason}):")
        said = trial.response.text or trial.response.refusal_message or ""  # a refusal field's text
        lines += textwrap.indent(_clip(said, EXCERPT), "  | ").splitlines()
    if verdict is not None:
        lines.append("judges:")
        for j in verdict.judgements:
            position = "-" if j.position is None else f"{j.position:g}"
            if j.value_positions is not None:
                position += " (per value {}, {})".format(*j.value_positions)
            cited = f" citing {', '.join(j.cited)}" if j.cited else ""
            lines.append(f"  {j.judge}: position {position}, {j.compliance}{cited}, refusal {j.refusal}")
            if not short:
                lines += textwrap.indent(textwrap.fill(_clip(j.rationale, 500), 100), "    ").splitlines()
    if trial.cassettes:
        lines.append("cassettes:")
        lines += [f"  {name}: {_display(path)}" for name, path in trial.cassettes.items()]
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
