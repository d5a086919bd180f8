"""A subcommand's run configuration, found and built as a pytest run of the project would.

``plan``, ``calibrate`` and ``generate`` declare their run options from the shared table
(`spec_pytest.config.table`), locate the rootdir and the configuration file from the
paths they are given, then the working directory, by pytest's rules
(`spec_pytest.config.inifile`), and build the same `RunConfig` a ``pytest`` run there would.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from spec_pytest.config.table import add_arguments

if TYPE_CHECKING:
    from spec_pytest.config.build import RunConfig


def add_run_options(parser: argparse.ArgumentParser, command: str, skip: Iterable[str] = ()) -> None:
    """The options ``command`` shares with pytest runs, declared from the table."""
    add_arguments(parser, command, skip)


def load_config(
    args: argparse.Namespace, command: str, paths: Sequence[Path], specs: Sequence[Path] = ()
) -> RunConfig:
    """The `RunConfig` of parsed ``args``; ``paths`` locate the rootdir, ``specs`` are the specs.

    Raises `spec_pytest.errors.ConfigError` (a usage error: exit status 2).
    """
    # deferred: the configuration loads the pipeline, which `validate` and `import` need not pay for
    from spec_pytest.config.build import build_config, ini_getter
    from spec_pytest.config.inifile import locate

    cwd = Path.cwd()
    inifile = locate(paths, cwd)
    values = {**vars(args), "spec_files": [str(p) for p in specs]}
    return build_config(values, ini_getter(inifile), inifile.rootdir, cwd, command=command)
