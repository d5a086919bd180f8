"""The pytest11 entry point: what every pytest run pays for, spec or not.

pytest imports the entry point of every installed plugin at each start. This module
declares the options and ini keys (from the table, standard library only), the hooks and
the markers every run knows, and the ``judge`` fixture, and nothing else: the plugin proper
(`spec_pytest.pytest.plugin`: the pipeline, the SDKs, vcrpy) is imported and registered
only when a run has specs or asks for spec-pytest's output (`wanted`), or when a test first
uses the ``judge`` fixture. pytest calls a late-registered plugin's ``pytest_configure``
itself, so the plugin reads as any plugin does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from spec_pytest.pytest import flags, hookspecs

#: Markers every run knows (spec-specific ones are registered as their specs are collected).
MARKERS = (
    "judge_check: a labelled GOOD/BAD/OK answer of the spec the judge panel must rule as labelled "
    "(collected with --judge-check or -m judge_check)",
    "measured: a scenario with no expectation and no cited principle: read, never passed or failed",
)
#: The plugin's name in pytest's plugin manager.
PLUGIN = "spec_pytest.plugin"
#: A spec file's first top-level key (the schema requires ``spec:``), looked for near the top.
_SPEC_KEY = re.compile(rb"(?m)^spec:[ \t]*[^\s#]")
#: Options that ask for spec-pytest's output even in a run without specs (an empty run fails
#: a gate; --results is written).
_OUTPUT_OPTIONS = ("spec_results", "spec_baseline", "spec_save_baseline", "spec_judge_check")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)
    flags.add_options(parser, pluginmanager)


def pytest_configure(config: pytest.Config) -> None:
    flags.describe_shared_record_mode(config)
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if wanted(config):
        activate(config)


def wanted(config: pytest.Config) -> bool:
    """Whether this run needs the plugin: specs (--spec, ini spec_files, a spec file named as
    a path or node id), an output option, or an xdist worker of a controller that had them."""
    worker = getattr(config, "workerinput", None)
    if worker is not None and any(key.startswith("spec_") for key in worker):
        return True
    if config.getoption("spec_files") or config.getini("spec_files"):
        return True
    if any(config.getoption(dest, None) for dest in _OUTPUT_OPTIONS):
        return True
    return bool(spec_args(config))


def activate(config: pytest.Config) -> Any:
    """Import and register the plugin proper (once); returns it."""
    plugin = config.pluginmanager.get_plugin(PLUGIN)
    if plugin is None:
        # deferred: the pipeline, the SDKs and vcrpy, which a run without specs never loads
        from spec_pytest.pytest import plugin

        config.pluginmanager.register(plugin, PLUGIN)
    return plugin


def spec_args(config: pytest.Config) -> list[Path]:
    """Spec files the command line names as a path or a node id (``pytest suite.yaml``,
    ``pytest 'suite.yaml::conflict::scenario[model-s0]'``): collected as if given to --spec,
    so an id the run printed can be pasted back alone. Other YAML files are left to pytest."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return []
    found = []
    for arg in config.args:
        path = Path(config.invocation_params.dir, arg.split("::", 1)[0])
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        with path.open("rb") as handle:
            head = handle.read(65536)
        if _SPEC_KEY.search(head) and path.resolve() not in found:
            found.append(path.resolve())
    return found


@pytest.fixture
def judge(pytestconfig: pytest.Config) -> Any:
    """Judge text from an ordinary test: `judge(text, spec=..., scenario=...) -> Verdict`.

    `spec` is a path, a bare suite name (looked up like --spec) or a loaded Spec. Uses the
    run's --judge panel (else the spec's defaults.judges), cassettes and record mode.
    """
    return activate(pytestconfig).judge_fixture(pytestconfig)
