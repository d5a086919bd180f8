"""`spec-pytest lint SPEC...`: static checks of valid specs (`spec_pytest.spec.lint`), no model needed.

Exit codes: 0 no errors (warnings are printed, they do not fail unless --strict); 1 a spec does
not load (its problems printed as `validate` prints them) or has lint errors (or warnings with
--strict); 2 usage errors (a file that does not exist).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from spec_pytest.spec import SpecError
from spec_pytest.spec.lint import ERROR, lint


def register(commands: Any) -> None:
    """Add ``lint`` to the subparsers of the ``spec-pytest`` parser."""
    parser = commands.add_parser(
        "lint",
        help="check a spec's expectations against its chain of command and each other (no model)",
        description="Load each spec (as validate does), then check: an expectation letting a lower "
        "authority level prevail over a higher one; two conflicts on the same value pair with "
        "contradictory expectations; a because: whose principles sit below the level in play; study "
        "rows whose nudge names neither value; conflicts no scenario exercises. Prints file:line:col: "
        "severity: message [code]. Exits 0 without errors, 1 with errors (or warnings under --strict) "
        "or an invalid spec, 2 on usage errors.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="SPEC", help="spec file(s) to lint")
    parser.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary line")
    parser.set_defaults(run=_lint)


def _lint(args: argparse.Namespace) -> int:
    missing = [f for f in args.files if not f.is_file()]
    for path in missing:
        print(f"spec-pytest lint: {path}: no such file", file=sys.stderr)
    if missing:
        return 2
    failed = False
    for path in args.files:
        try:
            _, findings = lint(path)
        except SpecError as exc:
            print(exc.render())
            print(f"spec-pytest lint: {path} does not load; fix the problems above first", file=sys.stderr)
            failed = True
            continue
        for finding in findings:
            print(finding)
        errors = sum(f.severity == ERROR for f in findings)
        warnings = len(findings) - errors
        failed |= bool(errors) or (args.strict and bool(warnings))
        if not args.quiet:
            print(f"{path}: {errors} error(s), {warnings} warning(s)")
    return 1 if failed else 0
