"""`spec-pytest anchors SPEC --writer MODEL`: write the scenarios' per-value anchors (the study's).

Exit codes as elsewhere: 0 done, 1 the run stopped on an error (cassette, API, an unusable
answer; everything written before stays in the sidecar), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from spec_pytest.cli.run_config import add_run_options, load_config
from spec_pytest.config.table import GENERATE
from spec_pytest.errors import SpecPytestError
from spec_pytest.generate.anchors import write_anchors
from spec_pytest.judge.judge import judge_params
from spec_pytest.pipeline.ask import declare_endpoints
from spec_pytest.providers import DEFAULT_REGISTRY, Registry
from spec_pytest.spec import SpecError, load_spec


def register(commands: Any) -> argparse.ArgumentParser:
    """Add ``anchors`` to the ``spec-pytest`` sub-commands."""
    p = commands.add_parser(
        "anchors",
        help="write each scenario's two per-value spectra (7 anchored points each) with an LLM",
        description="For each scenario with a value pair, ask --writer what an answer to that very "
        "query says at each of the 7 points of each value's own spectrum (0 extreme_oppose .. 3 neutral "
        ".. 6 extreme_favor), and keep them in SPEC's sidecar SPEC_STEM.anchors.yaml for review. The "
        "per-value rubric (--rubric judge-v2) judges against them. Every request has its own cassette: "
        "a rerun replays, an interrupted run continues (same command), frozen entries are never rewritten.",
    )
    p.add_argument("spec", type=Path, metavar="SPEC", help="the spec whose scenarios to anchor")
    p.add_argument(
        "--writer", required=True, metavar="MODEL", help="model that writes anchors, e.g. openai:o3"
    )
    p.add_argument(
        "--rewrite",
        action="append",
        default=[],
        metavar="SCENARIO",
        help="write this scenario's anchors again even if they are current (repeatable; never a frozen one)",
    )
    p.add_argument(
        "--only", action="append", metavar="SCENARIO", help="anchor only these scenarios (repeatable)"
    )
    add_run_options(p, GENERATE)
    p.set_defaults(run=run_anchors)
    return p


def run_anchors(args: argparse.Namespace, registry: Registry | None = None) -> int:
    """Run ``anchors`` for parsed ``args``; ``registry`` defaults to the built-in endpoints + the spec's."""
    err = sys.stderr
    try:
        spec = load_spec(args.spec)
        config = load_config(args, GENERATE, [args.spec])
        if registry is None:
            registry = DEFAULT_REGISTRY
            declare_endpoints(registry, [spec], config.endpoints)
        elif config.endpoints:
            declare_endpoints(registry, [], config.endpoints)
        registry.bounds = config.bounds
        # written like a judge's ruling: deterministic where the family allows, room to reason
        # for a reasoning model; the spec's `models:` params for the writer over that
        params, _ = judge_params(registry, args.writer, spec.model_params.get(args.writer, {}))
    except (SpecError, SpecPytestError, OSError) as exc:
        print(f"spec-pytest anchors: {exc}", file=err)
        return 2
    hint = f"spec-pytest anchors {args.spec} --writer {args.writer} --record-mode once (with the API key set)"
    try:
        report = write_anchors(
            spec,
            args.writer,
            registry,
            config.cassette_dir,
            record_mode=config.record_mode,
            rewrite=args.rewrite,
            params=params,
            rerecord_hint=hint,
            only=args.only,
        )
    except SpecPytestError as exc:
        print(f"spec-pytest anchors: {exc}", file=err)
        print(
            "Everything written before this error is kept; the same command continues from there.", file=err
        )
        return 1
    print(report.summary())
    print(
        f"review {report.sidecar}, set `frozen: true` on the entries you accept, "
        "and judge with --rubric judge-v2"
    )
    return 0
