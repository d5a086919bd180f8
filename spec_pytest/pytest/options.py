"""spec-pytest's pytest options and ini keys, and the run configuration built from them.

The options and ini keys are declared in `spec_pytest.config.table` (shared with the
``spec-pytest`` subcommands); this module declares them to pytest, builds the run's
`RunConfig` once per pytest config (`spec_pytest.config.build_config`, with pytest's
rootdir and ini values) and turns it into what the plugin needs: the `RunSettings`, the
budget, the shard, the spec files. Every configuration problem is a `pytest.UsageError`.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from spec_pytest import config as run_config
from spec_pytest.config import ConfigError, RunConfig
from spec_pytest.config.table import INI_KEYS, PYTEST, options_for
from spec_pytest.pipeline.budget import Budget
from spec_pytest.pipeline.run import RunSettings
from spec_pytest.providers import Registry
from spec_pytest.pytest.items import rerecord_command

CONFIG = pytest.StashKey[RunConfig]()


def recording_plugin_registers_the_option(pluginmanager: pytest.PytestPluginManager) -> bool:
    """Whether pytest-recording is (or will be) active in this run and so owns `--record-mode`.

    It declares the same option with the same vocabulary; pytest refuses a second declaration,
    so exactly one of the two plugins may declare it, whatever order they are loaded in.
    """
    if pluginmanager.has_plugin("recording"):
        return True
    if importlib.util.find_spec("pytest_recording") is None or pluginmanager.is_blocked("recording"):
        return False
    return not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")


def add_options(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Every spec-pytest option and ini key of the table, in one group of `pytest --help`."""
    group = parser.getgroup("spec-pytest", "spec-pytest: test models against their behaviour specs")
    shared = recording_plugin_registers_the_option(pluginmanager)
    for option in options_for(PYTEST):
        if option.dest == "record_mode" and shared:
            continue  # pytest-recording registers the same option with the same vocabulary; share it.
        group.addoption(*option.flags, **option.argparse_kwargs())
    for key in INI_KEYS:
        parser.addini(key.name, key.help, type=key.type, default=key.default)


def describe_shared_record_mode(config: pytest.Config) -> None:
    """Make `pytest --help` tell the truth about `--record-mode` when pytest-recording owns it.

    pytest-recording's help says 'Default to "none"', which holds for its own `vcr` marks;
    spec items default to once (none under CI). The option object is shared, so its help
    text is rewritten to say both. pytest formats help from the argparse actions after
    `pytest_configure`, whichever plugin registered first.
    """
    optparser = getattr(config._parser, "optparser", None)
    for action in getattr(optparser, "_actions", ()):
        if action.dest == "record_mode" and "spec items" not in (action.help or ""):
            action.help = SHARED_RECORD_MODE_HELP


#: `--record-mode` as `pytest --help` shows it when pytest-recording declared the option.
SHARED_RECORD_MODE_HELP = (
    "cassette record mode, shared by spec-pytest and pytest-recording: none | once | new_episodes | "
    "all | rewrite. Spec items default to once (none when the CI environment variable is set); "
    "pytest-recording's own @pytest.mark.vcr tests default to none"
)


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
