"""`spec-pytest gaps`: from a run's results to the parts of the spec the models (or judges) split on.

Reads results files, groups the troubled scenarios (`spec_pytest.results.gaps`), prints the
terminal summary and writes Markdown / JSON on request. With ``--draft`` a drafter model
proposes an expectation per group, written as a patch for review (`spec_pytest.results.drafts`).
Exit codes: 0 done; 1 an input is unusable (results, spec) or a draft could not be made;
2 usage errors (a file that does not exist, a bad option).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from spec_pytest.errors import ConfigError, SpecPytestError
from spec_pytest.results.analysis import HIGH_DISAGREEMENT
from spec_pytest.results.gaps import find_gaps
from spec_pytest.results.records import read_results
from spec_pytest.spec import SpecError, load_spec


def register(commands: Any) -> None:
    """Add ``gaps`` to the subparsers of the ``spec-pytest`` parser."""
    gaps = commands.add_parser(
        "gaps",
        help="group the scenarios models (or judges) split on by what is at stake; draft expectations",
        description="Group the scenarios of results files where models disagree (D >= --threshold), where "
        "they agree but all violate the expectation, and where the judges split, by value pair, "
        "principles and authority levels. Per group: size, D distribution, where each model sits on "
        "the spectrum, 2-3 diverse representative scenarios and (with --spec) the spec sentences in "
        "play. With --draft, a drafter model proposes an expectation per group, written as a patch "
        "to review (never applied). Exits 0 when done, 1 on unusable input or failed drafts, 2 on "
        "usage errors.",
    )
    gaps.add_argument("results", nargs="+", type=Path, metavar="RESULTS", help="results file(s) (JSONL)")
    gaps.add_argument(
        "--spec",
        type=Path,
        metavar="FILE",
        help="the spec the run used: adds each principle's level and the spec sentences in play "
        "(required by --draft)",
    )
    gaps.add_argument(
        "--threshold",
        type=float,
        default=HIGH_DISAGREEMENT,
        metavar="D",
        help=f"disagreement at or above which models are said to disagree (default {HIGH_DISAGREEMENT})",
    )
    gaps.add_argument(
        "--representatives",
        type=int,
        default=3,
        metavar="N",
        help="representative scenarios per group (default 3)",
    )
    gaps.add_argument("--md", type=Path, metavar="FILE", help="also write the groups as Markdown here")
    gaps.add_argument(
        "--json", type=Path, metavar="FILE", help="also write the groups as JSON here (for tools)"
    )
    gaps.add_argument("-q", "--quiet", action="store_true", help="no terminal summary (files only)")
    gaps.add_argument(
        "--draft",
        action="store_true",
        help="ask --drafter for an expectation per group and write them as a patch (--patch) to review",
    )
    gaps.add_argument(
        "--drafter",
        metavar="PROVIDER:MODEL",
        help="the model that drafts expectations (e.g. anthropic:claude-sonnet-4-5); needed by --draft",
    )
    gaps.add_argument(
        "--patch",
        type=Path,
        default=Path("gaps.patch"),
        metavar="FILE",
        help="where --draft writes its unified diff (default gaps.patch); apply it with `git apply` "
        "after review",
    )
    gaps.add_argument(
        "--cassette-dir",
        type=Path,
        default=Path("cassettes"),
        metavar="DIR",
        help="where the drafter's exchanges are recorded and replayed (default cassettes/)",
    )
    gaps.add_argument(
        "--record-mode",
        default=None,
        choices=["once", "none", "new_episodes", "all", "rewrite"],
        help="cassette mode of the drafter's exchanges (default: once; none when CI is set)",
    )
    gaps.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="NAME=URL[,KEY_ENV][,OPT=VAL]",
        help="an OpenAI-compatible endpoint for the drafter, as pytest's --endpoint (repeatable); the "
        "ini spec_endpoints of the spec's project are read too",
    )
    gaps.set_defaults(run=_gaps)


def _gaps(args: argparse.Namespace) -> int:
    missing = [p for p in [*args.results, *([args.spec] if args.spec else [])] if not p.is_file()]
    for path in missing:
        print(f"spec-pytest gaps: {path}: no such file", file=sys.stderr)
    if missing:
        return 2
    if not (math.isfinite(args.threshold) and args.threshold > 0):
        print(
            f"spec-pytest gaps: --threshold must be a finite number above 0, got {args.threshold}",
            file=sys.stderr,
        )
        return 2
    if args.representatives < 1:
        print("spec-pytest gaps: --representatives must be 1 or more", file=sys.stderr)
        return 2
    if args.draft and (args.spec is None or not args.drafter):
        print(
            "spec-pytest gaps: --draft needs --spec FILE (the spec to patch) and --drafter PROVIDER:MODEL",
            file=sys.stderr,
        )
        return 2
    try:
        records = read_results(
            args.results, warn=lambda m: print(f"spec-pytest: warning: {m}", file=sys.stderr)
        )
        spec = load_spec(args.spec) if args.spec else None
    except SpecError as exc:
        print(exc.render())
        return 1
    except SpecPytestError as exc:
        print(f"spec-pytest gaps: {exc}", file=sys.stderr)
        return 1
    report = find_gaps(records, spec, threshold=args.threshold, representatives=args.representatives)
    if len(report.models) < 2:
        print(
            f"spec-pytest gaps: warning: the results hold {len(report.models)} model(s); disagreement needs "
            "two or more (run with several --model)",
            file=sys.stderr,
        )
    if not args.quiet:
        print(report.render_text())
    for path, text in ((args.md, report.render_markdown()), (args.json, report.to_json() + "\n")):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if not args.draft:
        return 0
    assert spec is not None  # checked with the options above
    # deferred: drafting loads the providers and SDKs, plain `gaps` does not need them
    from spec_pytest.results.drafts import DraftSettings, draft_all

    try:
        endpoints = _drafter_endpoints(args.spec, args.endpoint)
    except ConfigError as exc:  # a bad endpoint line: a usage error before anything is asked
        print(f"spec-pytest gaps: {exc}", file=sys.stderr)
        return 2
    try:
        outcome = draft_all(
            report,
            spec,
            DraftSettings(
                drafter=args.drafter,
                cassette_dir=args.cassette_dir,
                record_mode=args.record_mode,
                endpoints=endpoints,
            ),
        )
    except SpecPytestError as exc:
        print(f"spec-pytest gaps: {exc}", file=sys.stderr)
        return 1
    print(outcome.render())
    if outcome.patch:
        args.patch.parent.mkdir(parents=True, exist_ok=True)
        args.patch.write_text(outcome.patch, encoding="utf-8")
        print(f"wrote {args.patch}: review it, then `git apply {args.patch}` (nothing was applied)")
    return 1 if outcome.failed else 0


def _drafter_endpoints(spec_path: Path, options: list[str]) -> tuple[str, ...]:
    """The endpoints a pytest run of the spec's project would see: its ini's, then ``--endpoint``.

    The drafter is asked from the same project as the run it drafts for, so a local server
    declared once in ``pytest.ini`` serves both.
    """
    # deferred: only --draft reads the ini, plain `gaps` starts without the config package
    from spec_pytest.config.build import endpoint_lines, ini_getter
    from spec_pytest.config.inifile import locate

    return endpoint_lines(ini_getter(locate([spec_path], Path.cwd()))("spec_endpoints"), options)
