"""`spec-pytest` command line: work on spec files outside a pytest run.

Exit codes follow the usual convention: 0 all good, 1 the input is invalid, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from spec_pytest import __version__
from spec_pytest.cli.run_config import add_run_options, load_config
from spec_pytest.config.table import CALIBRATE, PLAN
from spec_pytest.errors import SpecPytestError
from spec_pytest.recording.durability import flush_written
from spec_pytest.spec import SpecError, document, load_spec
from spec_pytest.spec.anchors import sidecar_notes
from spec_pytest.spec.errors import Problem
from spec_pytest.spec.model_refs import undeclared_providers
from spec_pytest.spec.schema import schema_text, starter_spec


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args))
    finally:
        flush_written()  # the cassettes calibrate, generate or gaps wrote, once


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spec-pytest", description="Test language models against their own behaviour specs."
    )
    parser.add_argument(
        "--version", action="version", version=f"spec-pytest {__version__}", help="print the version and exit"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    init = commands.add_parser(
        "init",
        help="write a small commented spec to start from",
        description="Write a starter spec (two principles, one conflict, one scenario, every section "
        "commented) to PATH. It validates as written; it refuses to overwrite an existing file.",
    )
    init.add_argument(
        "path", nargs="?", type=Path, default=Path("spec.yaml"), metavar="PATH", help="default: spec.yaml"
    )
    init.set_defaults(run=_init)

    schema_command = commands.add_parser(
        "schema",
        help="print the JSON Schema of spec files (for editors)",
        description="Print the JSON Schema spec files follow, for editors and linters: save it and point "
        "`# yaml-language-server: $schema=PATH` or the editor's yaml.schemas setting at it. Its $id "
        "is where the same schema is published.",
    )
    schema_command.set_defaults(run=_schema)

    validate = commands.add_parser(
        "validate",
        help="check spec files and the banks they include; print every problem",
        description="Check spec files (schema, references, quotes, includes). Prints every problem as "
        "file:line:col; exits 0 when all files are valid, 1 when any is invalid, 2 on usage errors.",
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE", help="spec file(s) to check")
    validate.add_argument("-q", "--quiet", action="store_true", help="print problems only, no summary lines")
    validate.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="NAME[=URL]",
        help="an endpoint the run declares (--endpoint or the ini file): model references to it are not "
        "reported as undeclared; repeatable",
    )
    validate.set_defaults(run=_validate)

    # deferred: the importers load only when `spec-pytest import` is used
    from spec_pytest.spec.importers import IMPORTERS

    kinds = ", ".join(IMPORTERS)
    imports = commands.add_parser(
        "import",
        help="turn a published spec or dataset into a spec file or scenario bank",
        description=f"Import SOURCE as KIND ({kinds}) and write it to --out. Prints what was imported "
        "and every item left out, with the reason. A scenario bank also gets "
        "OUT.values.yaml with the value declarations the including spec needs.",
    )
    imports.add_argument("kind", choices=list(IMPORTERS), metavar="KIND", help=f"one of: {kinds}")
    imports.add_argument(
        "source",
        type=Path,
        metavar="SOURCE",
        help="model_spec.md, constitution.md, or study rows (.jsonl or .csv)",
    )
    imports.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help="where to write: .yaml for a spec; .jsonl (or .yaml) for a scenario bank",
    )
    imports.set_defaults(run=_import)

    calibrate = commands.add_parser(
        "calibrate",
        help="measure judges against the spec's labelled GOOD/BAD/OK answers",
        description="Run the judge panel on every labelled answer in the spec's `examples:` (the labelled "
        "answer is the response; no model is asked) and report accuracy against the labels, the "
        "confusion matrix, accuracy per section and authority level, and each judge's kappa against "
        "the labels. Judge exchanges go through cassettes like any run.",
    )
    calibrate.add_argument("--spec", type=Path, required=True, metavar="FILE", help="spec with `examples:`")
    add_run_options(calibrate, CALIBRATE)
    calibrate.add_argument("--json", action="store_true", help="print the report as JSON")
    calibrate.add_argument(
        "--both-contexts",
        action="store_true",
        help="judge every labelled answer twice, reading the principles at stake and the whole spec "
        "(--judge-context), and report both side by side",
    )
    calibrate.set_defaults(run=_calibrate)

    plan = commands.add_parser(
        "plan",
        help="count the requests a run would send, and estimate tokens and cost, sending nothing",
        description="For the cases of the given specs (as `pytest --spec` would run them), count the "
        "model and judge requests already recorded and still to send, estimate their tokens "
        "(characters / 4 of the real request bodies; output between a typical length and max_tokens) "
        "and what they would cost with the price table. Nothing is sent.",
    )
    plan.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help="spec file(s)")
    add_run_options(plan, PLAN)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(run=_plan)

    # deferred: `validate` and `import` start without the pipeline and judges (~0.1 s)
    from spec_pytest.cli.anchors import register as add_anchors_parser
    from spec_pytest.cli.gaps import register as add_gaps_parser
    from spec_pytest.cli.generate import add_generate_parser
    from spec_pytest.cli.lint import register as add_lint_parser
    from spec_pytest.cli.report import register as add_report_parsers

    add_generate_parser(commands)
    add_report_parsers(commands)
    add_gaps_parser(commands)
    add_lint_parser(commands)
    add_anchors_parser(commands)
    return parser


def _validate(args: argparse.Namespace) -> int:
    missing = [f for f in args.files if not f.is_file()]
    if missing:
        for f in missing:
            print(f"spec-pytest validate: {f}: no such file", file=sys.stderr)
        return 2
    invalid = 0
    extra = [e.partition("=")[0] for e in args.endpoint]
    for path in args.files:
        refs = _undeclared(path, extra)
        try:
            spec = load_spec(path)
        except SpecError as exc:
            invalid += 1
            print(SpecError([*exc.problems, *refs]).render())
            continue
        if refs:
            invalid += 1
            print(SpecError(refs).render())
            continue
        problems, warnings = sidecar_notes(spec)
        for line in problems:
            print(line)
        for line in warnings:
            print(f"warning: {line}")
        if problems:
            invalid += 1
            continue
        if not args.quiet:
            print(
                f"{path}: ok ({len(spec.principles)} principles, {len(spec.values)} values, "
                f"{len(spec.conflicts)} conflicts, {len(spec.scenarios)} scenarios, "
                f"{len(spec.examples)} examples)"
            )
    if invalid and not args.quiet:
        print(f"{invalid} of {len(args.files)} file(s) invalid", file=sys.stderr)
    return 1 if invalid else 0


def _init(args: argparse.Namespace) -> int:
    target: Path = args.path
    if target.exists():
        print(
            f"spec-pytest init: {target} exists; give another PATH (init never overwrites)", file=sys.stderr
        )
        return 2
    if not target.parent.is_dir():
        print(f"spec-pytest init: no directory {target.parent}; create it first", file=sys.stderr)
        return 2
    target.write_text(starter_spec(), encoding="utf-8")
    print(
        f"wrote {target}: check it with `spec-pytest validate {target}`, then run it with "
        f"`pytest --spec {target} --model PROVIDER:MODEL --judge PROVIDER:MODEL`"
    )
    return 0


def _schema(args: argparse.Namespace) -> int:
    print(schema_text(), end="")
    return 0


def _undeclared(path: Path, endpoints: list[str]) -> list[Problem]:
    """Model references to providers the file does not declare (none when it does not parse)."""
    try:
        return undeclared_providers(document.read(path.resolve()), endpoints)
    except SpecError:
        return []  # load_spec reports why the file cannot be read


def _import(args: argparse.Namespace) -> int:
    # deferred: the importers load only when `spec-pytest import` is used
    from spec_pytest.spec.importers import run_import

    if not args.source.is_file():
        print(f"spec-pytest import: {args.source}: no such file", file=sys.stderr)
        return 2
    try:
        report = run_import(args.kind, args.source, args.out)
    except UnicodeDecodeError as exc:
        print(
            f"spec-pytest import: {args.source}: not UTF-8 text ({exc.reason} at byte {exc.start})",
            file=sys.stderr,
        )
        return 1
    except ValueError as exc:
        print(f"spec-pytest import: {exc}", file=sys.stderr)
        return 2
    print(report)
    if not report.counts.get("principles") and not report.counts.get("scenarios"):
        print(
            f"spec-pytest import: nothing was imported from {args.source}; is it a {args.kind} source?",
            file=sys.stderr,
        )
        return 1
    if args.out.suffix in (".yaml", ".yml") and args.kind != "stress-test-dataset":
        try:
            load_spec(args.out)
        except SpecError as exc:
            print(exc.render())
            print(f"spec-pytest import: the imported spec {args.out} does not validate", file=sys.stderr)
            return 1
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    # deferred: `validate` and `import` start without the pipeline and judges (~0.1 s)
    from spec_pytest.config.build import ConfigError
    from spec_pytest.judge import calibrate
    from spec_pytest.judge.judge import judge_keys
    from spec_pytest.judge.templates import JUDGE_CONTEXTS, base_rubric, with_context
    from spec_pytest.pipeline.ask import declare_endpoints
    from spec_pytest.providers import Registry

    if not args.spec.is_file():
        print(f"spec-pytest calibrate: {args.spec}: no such file", file=sys.stderr)
        return 2
    try:
        config = load_config(args, CALIBRATE, [args.spec])
    except ConfigError as exc:
        print(f"spec-pytest calibrate: {exc}", file=sys.stderr)
        return 2
    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        print(exc.render())
        return 1
    judges = list(config.judges) or list(spec.defaults.judges)
    if not judges:
        print(
            "spec-pytest calibrate: no judge: pass --judge PROVIDER:MODEL or set defaults.judges",
            file=sys.stderr,
        )
        return 2
    rubrics = [config.rubric]
    if args.both_contexts:
        base = base_rubric(config.rubric)[0]
        rubrics = [with_context(base, context) for context in JUDGE_CONTEXTS]
    registry = Registry()
    registry.bounds = config.bounds  # --request-timeout, --max-answer-chars
    reports = []
    try:
        declare_endpoints(registry, [spec], config.endpoints)
        for rubric in rubrics:
            context = "spec" if base_rubric(rubric)[1] else "principles"
            reports.append(
                calibrate(
                    spec,
                    judges,
                    config.cassette_dir,
                    config.record_mode,
                    registry,
                    rubric=rubric,
                    judge_keys={j: judge_keys(spec.model_params, config.judge_params, j) for j in judges},
                    rerecord_hint=f"spec-pytest calibrate --spec {args.spec} --judge-context {context} "
                    "--record-mode=rewrite",
                    progress=None if args.json else _progress,
                )
            )
    except SpecPytestError as exc:
        print(f"spec-pytest calibrate: {exc}", file=sys.stderr)
        return 1
    finally:
        registry.close()
    if args.json and len(reports) > 1:
        print(json.dumps({r.rubric: json.loads(r.to_json()) for r in reports}, indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(r.to_json() if args.json else r.render(spec.levels) for r in reports))
    if len(reports) > 1 and not args.json:
        print("\nJudge context, panel accuracy on the labelled answers:")
        for report in reports:
            context = "whole spec" if base_rubric(report.rubric)[1] else "principles at stake"
            score = report.score
            shown = "-" if score.accuracy is None else f"{score.accuracy:.0%}"
            print(f"  {context:<20} {shown} ({score.correct}/{score.total}; rubric {report.rubric})")
    failed = [r for r in reports if r.errors]
    for report in failed:
        print(
            f"spec-pytest calibrate: {len(report.errors)} of {len(report.items)} answers could not be "
            f"judged under {report.rubric} (see above); the accuracy covers the rest only",
            file=sys.stderr,
        )
    return 1 if failed else 0


def _plan(args: argparse.Namespace) -> int:
    # deferred: `validate` and `import` start without the pipeline and judges (~0.1 s)
    from spec_pytest.config.build import run_settings_of
    from spec_pytest.core.case import expand
    from spec_pytest.pipeline.ask import declare_endpoints
    from spec_pytest.pipeline.plan import plan
    from spec_pytest.pipeline.shard import in_shard
    from spec_pytest.providers import Registry

    missing = [p for p in args.specs if not p.is_file()]
    if missing:
        print(f"spec-pytest plan: {missing[0]}: no such file", file=sys.stderr)
        return 2
    registry = Registry()
    try:
        config = load_config(args, PLAN, args.specs, specs=args.specs)
        specs = [load_spec(p) for p in args.specs]
        declare_endpoints(registry, specs, config.endpoints)
        cases = [c for spec in specs for c in expand(spec, config.models, config.samples)]
    except SpecError as exc:
        registry.close()
        print(exc.render())
        return 1
    except SpecPytestError as exc:  # a bad option, price file or model
        registry.close()
        print(f"spec-pytest plan: {exc}", file=sys.stderr)
        return 2
    if config.shard is not None:
        cases = [c for c in cases if in_shard(c, *config.shard)]
    try:
        result = plan(cases, run_settings_of(config, registry), config.prices, batch=config.batch)
    except SpecPytestError as exc:  # no judge, an unknown provider or parameter
        print(f"spec-pytest plan: {exc}", file=sys.stderr)
        return 2
    finally:
        registry.close()
    print(result.to_json() if args.json else result.render())
    return 0


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty() or done == total or done % 50 == 0:
        end = "\n" if done == total or not sys.stderr.isatty() else "\r"
        print(f"judged {done}/{total} labelled answers", end=end, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
