"""spec-pytest's pytest options and ini keys, and the run configuration built from them.

The options and ini keys are declared in `spec_pytest.config.table` (shared with the
``spec-pytest`` subcommands) and to pytest by `spec_pytest.pytest.flags`; this module builds the run's
`RunConfig` once per pytest config (`spec_pytest.config.build.build_config`, with pytest's
rootdir and ini values) and turns it into what the plugin needs: the `RunSettings`, the
budget, the shard, the spec files. Every configuration problem is a `pytest.UsageError`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spec_pytest.config import build as run_config
from spec_pytest.config.build import ConfigError, RunConfig
from spec_pytest.config.table import PYTEST, options_for
from spec_pytest.pipeline.budget import Budget
from spec_pytest.pipeline.run import RunSettings
from spec_pytest.providers import Registry
from spec_pytest.pytest.items import rerecord_command

CONFIG = pytest.StashKey[RunConfig]()


def config_of(config: pytest.Config) -> RunConfig:
    """The run's `RunConfig`, built once from pytest's option values, ini values and rootdir."""
    built = config.stash.get(CONFIG, None)
    if built is None:
        values = {o.dest: config.getoption(o.dest, None) for o in options_for(PYTEST)}
        try:
            built = run_config.build_config(
                values, config.getini, config.rootpath, config.invocation_params.dir, command=PYTEST
            )
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.stash[CONFIG] = built
    return built


def check_options(config: pytest.Config) -> None:
    if config.getoption("spec_batch") and (
        hasattr(config, "workerinput") or config.getoption("numprocesses", None)
    ):
        raise pytest.UsageError(
            "--batch submits and polls before any item runs: run it without -n, then replay "
            "the recorded cassettes with -n"
        )
    config_of(config)


def shard_of(config: pytest.Config) -> tuple[int, int] | None:
    return config_of(config).shard


def budget_of(config: pytest.Config) -> Budget | None:
    workers = getattr(config, "workerinput", {}).get("workercount", 1)  # xdist workers share the limit
    return run_config.budget_of(config_of(config), workers)


def endpoints_of(config: pytest.Config) -> tuple[str, ...]:
    """The run's extra endpoint lines: ini spec_endpoints, then --endpoint."""
    return config_of(config).endpoints


def run_settings(config: pytest.Config) -> RunSettings:
    workers = getattr(config, "workerinput", {}).get("workercount", 1)  # xdist workers share the limit
    return run_config.run_settings_of(
        config_of(config),
        Registry(),
        rerecord_hint=lambda case: rerecord_command(config, case, "--record-mode=rewrite"),
        judge_hint=lambda case: rerecord_command(config, case, "--judge-record-mode=rewrite"),
        workers=workers,
    )


def find_spec(config: pytest.Config, name: str) -> Path:
    suites = config.rootpath / config.getini("spec_suites_dir")
    try:
        return run_config.find_spec(name, config.invocation_params.dir, suites)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
