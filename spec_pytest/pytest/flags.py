"""spec-pytest's options and ini keys as pytest declares them: from the option table alone.

Every pytest run in an environment where spec-pytest is installed declares these, so this
module imports nothing but the table (standard library) and pytest; what the values mean
for a run is `spec_pytest.pytest.options`, loaded only when a run has specs.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from spec_pytest.config.table import INI_KEYS, PYTEST, options_for


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
