"""The one root of spec-pytest's own errors, so a caller catches one class, not a list.

Every error the package raises on purpose derives from `SpecPytestError`, on one of three
branches that say whose move it is:

* `InputError`: a file the user wrote is wrong (spec, bank, results, baseline, prices);
* `ConfigError`: how the run was asked for is wrong (options, endpoints, keys, providers);
* `RunError`: the run could not finish a case (cassette missing, stale or corrupt, an API
  failure, an unusable judge answer, the budget spent, a fan-out timeout, a batch failure).

The message of each is written for the user (what went wrong, what to do), so the pytest
item shows it as an ERROR without a traceback and the CLI prints it and exits. Input and
config errors are also `ValueError`s: they are wrong values a user gave, and callers that
caught `ValueError` before the root existed keep working.

Not on the root, on purpose: `InvarianceViolation` (an `AssertionError`: a test failure,
not an error) and `SpecFailure` (the pytest item's FAIL), and `TornLineWarning` (a warning).

This module imports nothing from the package: it is the bottom of the dependency graph.
"""

from __future__ import annotations


class SpecPytestError(Exception):
    """Something spec-pytest reports to the user with its message alone."""


class InputError(SpecPytestError, ValueError):
    """A file the user wrote (spec, bank, results, baseline, price table) is not usable."""


class ConfigError(SpecPytestError, ValueError):
    """An option, ini key, endpoint, API key or provider the run was asked for is not usable."""


class RunError(SpecPytestError):
    """The run could not settle a case: recording, provider, judge, budget, fan-out or batch."""
