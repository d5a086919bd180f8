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


if __name__ == "__main__":
    sys.exit(main())
