"""`spec-pytest report` and `spec-pytest baseline save`: results files in, reports and baselines out.

`register` adds both commands to the main parser; `save_baseline` and `write_report` are the
same work as plain functions (the pytest plugin blesses a run as a baseline with the first).
Exit codes: 0 done (and the gate, if any, passed); 1 the gate failed or an input is unusable;
2 usage errors (a file that does not exist).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from spec_pytest.config.table import REPORT, add_arguments
from spec_pytest.errors import SpecPytestError
from spec_pytest.results import judge_checks
from spec_pytest.results.analysis import HIGH_DISAGREEMENT
from spec_pytest.results.gate import Baseline
from spec_pytest.results.records import ResultsError, read_results
from spec_pytest.results.report.content import ReportContent, build
from spec_pytest.results.report.html import render_html
from spec_pytest.results.report.markdown import render_markdown
from spec_pytest.results.selection import deselected_keys, read_selections, shard_gap

PathLike = str | os.PathLike[str]


def save_baseline(
    results_paths: Sequence[PathLike], to: PathLike, *, warn: Callable[[str], None] | None = None
) -> Baseline:
    """Bless the records of ``results_paths`` as a baseline written to ``to``; returns it."""
    records = read_results(results_paths, warn=warn)
    if not records:
        raise ResultsError(f"{', '.join(map(str, results_paths))}: no records, nothing to bless")
    baseline = Baseline.from_records(records, sources=[str(p) for p in results_paths])
    baseline.save(to)
    return baseline


def write_report(
    results_paths: Sequence[PathLike],
    html: PathLike | None = None,
    md: PathLike | None = None,
    baseline: PathLike | None = None,
    threshold: float = HIGH_DISAGREEMENT,
    *,
    max_regressions: int = 0,
    allow_missing: bool = False,
    warn: Callable[[str], None] | None = None,
) -> ReportContent:
    """Read results, compare with ``baseline`` if given, write the HTML and/or Markdown report.

    Returns the computed content (its ``gate`` says whether the run may ship). With a baseline,
    results holding only some shards of a sharded run are refused (`ResultsError`): the gate
    would see the other shards' items as deliberately left out. Baseline items the results
    neither hold nor deselected fail the gate unless ``allow_missing``; so do empty results.
    """
    records = read_results(results_paths, warn=warn)
    selections = read_selections(results_paths)
    if baseline is not None:
        gap = shard_gap(selections)
        if gap is not None:
            raise ResultsError(f"cannot gate a partial shard set: {gap}")
    content = build(
        records,
        sources=[str(p) for p in results_paths],
        baseline=Baseline.load(baseline) if baseline is not None else None,
        baseline_name=str(baseline) if baseline is not None else None,
        max_regressions=max_regressions,
        threshold=threshold,
        deselected=deselected_keys(selections),
        allow_missing=allow_missing,
        judges=judge_checks.load(results_paths),
    )
    if html is not None:
        _write(html, render_html(content, base=Path(html).parent))
    if md is not None:
        # posted as a comment or a job summary, far from the file: paths read from the checkout
        _write(md, render_markdown(content))
    return content


def _write(path: PathLike, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- argparse glue


def register(commands: Any) -> None:
    """Add ``report`` and ``baseline`` to the subparsers of the ``spec-pytest`` parser.

    Each sets ``run`` to a function taking the parsed namespace and returning the exit code.
    """
    report = commands.add_parser(
        "report",
        help="turn results files into an HTML report and/or a Markdown summary",
        description="Read results JSONL files (later records of the same item win), optionally compare "
        "them with a baseline, and write a self-contained HTML report and/or a Markdown summary. "
        "Exits 1 when a baseline is given and regressions exceed --max-regressions.",
    )
    report.add_argument("results", nargs="+", type=Path, metavar="RESULTS", help="results file(s) (JSONL)")
    report.add_argument("--html", type=Path, metavar="FILE", help="write the HTML report here")
    report.add_argument("--md", type=Path, metavar="FILE", help="write the Markdown summary here")
    add_arguments(report, REPORT)  # --baseline, --max-regressions, --disagreement-threshold, as pytest's
    report.set_defaults(run=_report)

    baseline = commands.add_parser("baseline", help="bless a run as the baseline a later run is gated on")
    actions = baseline.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    save = actions.add_parser(
        "save",
        help="write a baseline from results files",
        description="Reduce results files to per scenario × model pass counts and write them as a "
        "baseline JSON file (commit it; gate later runs with pytest --baseline FILE).",
    )
    save.add_argument("results", nargs="+", type=Path, metavar="RESULTS", help="results file(s) (JSONL)")
    save.add_argument("--to", type=Path, required=True, metavar="FILE", help="baseline file to write")
    save.set_defaults(run=_save)


def _warn(message: str) -> None:
    print(f"spec-pytest: warning: {message}", file=sys.stderr)


def _missing(paths: Sequence[Path], command: str) -> bool:
    missing = [p for p in paths if not p.is_file()]
    for path in missing:
        print(f"spec-pytest {command}: {path}: no such file", file=sys.stderr)
    return bool(missing)


def _report(args: argparse.Namespace) -> int:
    baseline = Path(args.spec_baseline) if args.spec_baseline else None
    if _missing([*args.results, *([baseline] if baseline else [])], "report"):
        return 2
    if args.spec_max_regressions < 0:
        print("spec-pytest report: --max-regressions must be 0 or more", file=sys.stderr)
        return 2
    if not (math.isfinite(args.spec_threshold) and args.spec_threshold >= 0):
        print(
            "spec-pytest report: --disagreement-threshold must be a finite number, 0 or more, "
            f"got {args.spec_threshold}",
            file=sys.stderr,
        )
        return 2
    if args.html is None and args.md is None and baseline is None:
        print(
            "spec-pytest report: nothing to do: give --html FILE, --md FILE or --baseline FILE",
            file=sys.stderr,
        )
        return 2
    try:
        content = write_report(
            args.results,
            html=args.html,
            md=args.md,
            baseline=baseline,
            threshold=args.spec_threshold,
            max_regressions=args.spec_max_regressions,
            allow_missing=args.spec_allow_missing,
            warn=_warn,
        )
    except SpecPytestError as exc:
        print(f"spec-pytest report: {exc}", file=sys.stderr)
        return 1
    print(f"{len(content.records)} records; {len(content.analysis.gaps)} likely spec gap(s)")
    for path in (args.html, args.md):
        if path is not None:
            print(f"wrote {path}")
    if content.gate is not None:
        print("\n".join(content.gate.summary_lines()))
        despite = content.gate.green_despite(len(content.failing))
        if despite:
            print(despite)
        return int(content.gate.exit_failed)
    return 0


def _save(args: argparse.Namespace) -> int:
    if _missing(args.results, "baseline save"):
        return 2
    try:
        baseline = save_baseline(args.results, args.to, warn=_warn)
    except ResultsError as exc:
        print(f"spec-pytest baseline save: {exc}", file=sys.stderr)
        return 1
    passing = sum(t.all_passed for t in baseline.items.values())
    print(f"wrote {args.to}: {len(baseline.items)} scenario × model items, {passing} passing in every sample")
    return 0
