"""`spec-pytest` command line: work on spec files outside a pytest run.

Exit codes follow the usual convention: 0 all good, 1 the input is invalid, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from spec_pytest.spec import SpecError, load_spec


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.run(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spec-pytest", description="Test language models against their own behaviour specs."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = commands.add_parser(
        "validate",
        help="check spec files and the banks they include; print every problem",
        description="Check spec files (schema, references, quotes, includes). Prints every problem as "
        "file:line:col; exits 0 when all files are valid, 1 when any is invalid, 2 on usage errors.",
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE", help="spec file(s) to check")
    validate.add_argument("-q", "--quiet", action="store_true", help="print problems only, no summary lines")
    validate.set_defaults(run=_validate)

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
    return parser


def _validate(args: argparse.Namespace) -> int:
    missing = [f for f in args.files if not f.is_file()]
    if missing:
        for f in missing:
            print(f"spec-pytest validate: {f}: no such file", file=sys.stderr)
        return 2
    invalid = 0
    for path in args.files:
        try:
            spec = load_spec(path)
        except SpecError as exc:
            invalid += 1
            print(exc.render())
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


def _import(args: argparse.Namespace) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
