"""`spec-pytest generate`: the command-line face of `generate_bank`.

`cli.py` registers it with one call, ``add_generate_parser(commands)``; the parsed
arguments carry ``run=run_generate``. Exit codes as elsewhere: 0 done, 1 the run stopped
on an error (cassette, API, ledger; everything committed stays), 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from spec_pytest.cli.run_config import add_run_options, load_config
from spec_pytest.config.build import ConfigError
from spec_pytest.config.table import GENERATE
from spec_pytest.errors import SpecPytestError
from spec_pytest.generate.dedup import DEFAULT_THRESHOLD
from spec_pytest.generate.pairs import read_taxonomy, select_pairs
from spec_pytest.generate.run import CONTEXT_ROLES, GenerateOptions, generate_bank
from spec_pytest.pipeline.ask import declare_endpoints, split_timeout
from spec_pytest.providers import DEFAULT_REGISTRY, Registry
from spec_pytest.spec import Spec, SpecError, load_spec
from spec_pytest.spec.importers import dump_yaml


def add_generate_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``generate`` to the ``spec-pytest`` sub-commands (``commands``: from add_subparsers)."""
    p = commands.add_parser(
        "generate",
        help="generate a scenario bank for value pairs with an LLM (the study's recipe)",
        description="For each value pair, ask --generator for a neutral user query that forces a "
        "trade-off, then one rewrite leaning towards each value (3 scenarios per query). Refusals, "
        "incomplete answers and near-duplicates are left out and listed with reasons in "
        "OUT.dropped.jsonl. Every request goes through its own cassette: a rerun gives the same bank, "
        "and an interrupted run continues where it stopped (same command).",
    )
    p.add_argument(
        "spec", type=Path, metavar="SPEC", help="the spec whose values/conflicts (and endpoints) to use"
    )
    p.add_argument(
        "--generator", required=True, metavar="MODEL", help="model that writes scenarios, e.g. openai:o3"
    )
    p.add_argument("--out", required=True, type=Path, metavar="BANK.jsonl", help="the bank to write (JSONL)")
    p.add_argument(
        "--pairs",
        choices=("conflicts", "all", "sample"),
        default=None,
        help="which value pairs: the spec's conflicts (default when it has any), all pairs of the values, "
        "or a seeded sample (--sample N)",
    )
    p.add_argument("--sample", type=int, metavar="N", help="draw N pairs (implies --pairs sample)")
    p.add_argument("--seed", type=int, default=0, help="seed of the pair sample (default 0)")
    p.add_argument(
        "--taxonomy",
        type=Path,
        metavar="FILE",
        help="take values from FILE (YAML/JSON mapping or list, or one label per line) instead of the spec; "
        "also writes OUT.values.yaml with the declarations to paste into the spec",
    )
    p.add_argument(
        "--queries-per-pair",
        type=int,
        default=1,
        metavar="N",
        help="neutral queries per pair, each with its two rewrites",
    )
    p.add_argument(
        "--context",
        action="append",
        choices=CONTEXT_ROLES,
        default=[],
        help="also generate a deployment context as a system/developer message per query (repeatable)",
    )
    p.add_argument(
        "--similarity",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="J",
        help=f"drop a scenario whose word-shingle Jaccard similarity to a kept one is >= J "
        f"(default {DEFAULT_THRESHOLD})",
    )
    add_run_options(p, GENERATE)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(run=run_generate)
    return p


def run_generate(args: argparse.Namespace, registry: Registry | None = None) -> int:
    """Run ``generate`` for parsed ``args``; ``registry`` defaults to the built-in endpoints + the spec's."""
    err = sys.stderr
    if args.out.suffix != ".jsonl":
        print(f"spec-pytest generate: --out must be a .jsonl file, got {args.out}", file=err)
        return 2
    try:
        spec, includes_out = _load_spec(args.spec, args.out)
    except SpecError as exc:
        print(f"spec-pytest generate: {exc}", file=err)
        return 2
    except OSError as exc:
        print(f"spec-pytest generate: {args.spec}: {exc.strerror or exc}", file=err)
        return 2
    try:
        config = load_config(args, GENERATE, [args.spec])
    except ConfigError as exc:
        print(f"spec-pytest generate: {exc}", file=err)
        return 2
    try:
        taxonomy = read_taxonomy(args.taxonomy) if args.taxonomy else None
        mode = "sample" if args.sample is not None else args.pairs
        if mode is None:
            mode = "conflicts" if spec.conflicts and taxonomy is None else "all"
        pairs = select_pairs(spec=spec, taxonomy=taxonomy, mode=mode, n=args.sample, seed=args.seed)
        options = GenerateOptions(
            generator=args.generator,
            cassette_dir=config.cassette_dir,
            queries_per_pair=args.queries_per_pair,
            contexts=tuple(dict.fromkeys(args.context)),
            threshold=args.similarity,
            record_mode=config.record_mode,
            params=split_timeout(args.generator, spec.params_for(args.generator))[0],
            prices=dict(config.prices),
            write_values=taxonomy is not None,
            rerecord_hint=_hint(args),
        )
    except (OSError, SpecPytestError) as exc:
        print(f"spec-pytest generate: {exc}", file=err)
        return 2
    if registry is None:
        registry = DEFAULT_REGISTRY
        declare_endpoints(registry, [spec], config.endpoints)
    elif config.endpoints:
        declare_endpoints(registry, [], config.endpoints)
    registry.bounds = config.bounds  # --request-timeout, --max-answer-chars
    progress = open(os.devnull, "w", encoding="utf-8") if args.quiet else err  # noqa: SIM115
    try:
        report = generate_bank(pairs, args.out, options, registry, progress=progress)
    except SpecPytestError as exc:
        print(f"spec-pytest generate: {exc}", file=err)
        print(
            "Everything finished before this error is kept; the same command continues from there.", file=err
        )
        return 1
    finally:
        if args.quiet:
            progress.close()
    print(report.summary())
    print(_include_note(args, includes_out))
    return 0


def _hint(args: argparse.Namespace) -> str:
    return (
        f"spec-pytest generate {args.spec} --generator {args.generator} --out {args.out} "
        f"--record-mode once (with the API key set)"
    )


def _include_note(args: argparse.Namespace, includes_out: bool) -> str:
    if includes_out:
        return f"{args.spec} includes {args.out}; check it with: spec-pytest validate {args.spec}"
    return (
        f"add `- include: {args.out.name}` under `scenarios:` in {args.spec}, "
        f"then check it with: spec-pytest validate {args.spec}"
    )


def _load_spec(path: Path, out: Path) -> tuple[Spec, bool]:
    """The spec, read without its include of ``out`` (which may not exist yet, or be empty).

    Generation needs the spec's values, conflicts, endpoints and parameters, not the bank it
    is about to write; a spec that already includes the bank must still work on the first
    run and after a kill. Returns the spec and whether it includes ``out``.
    """
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = raw.get("scenarios") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        return load_spec(path), False
    target = out.resolve()

    def is_out(entry: object) -> bool:
        return isinstance(entry, dict) and (path.parent / str(entry.get("include", ""))).resolve() == target

    keep = [e for e in entries if not is_out(e)]
    if len(keep) == len(entries):
        return load_spec(path), False
    if keep:
        raw["scenarios"] = keep
    else:
        del raw["scenarios"]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(dump_yaml(raw))
        try:
            return load_spec(tmp), True
        except SpecError:
            return load_spec(path), True  # the problems, located in the file the user wrote
    finally:
        os.unlink(tmp)
