"""One error root: every error spec-pytest raises on purpose is a `SpecPytestError`.

Found by inspection over the whole package, so a class added later without the root fails
here, not as a traceback in a user's CI; and the CLI turns the root into its usual exit
codes with the message alone.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil

import pytest

import spec_pytest
from spec_pytest.cli.main import main
from spec_pytest.errors import ConfigError, InputError, RunError, SpecPytestError
from spec_pytest.pipeline.budget import BudgetExhausted
from spec_pytest.pipeline.prefetch import FanoutBudgetError, FanoutError, FanoutTimeout
from spec_pytest.recording.cassettes import CassetteError
from tests.support.paths import DATA

#: Exceptions that are not errors to report: each is something else on purpose.
NOT_ERRORS = {
    "spec_pytest.probes.invariance.InvarianceViolation",  # an AssertionError: the probe's FAIL
    "spec_pytest.pytest.items.SpecFailure",  # the item's FAIL, rendered by repr_failure
    "spec_pytest.pytest.judge_items.JudgeDisagreement",  # a judge check's FAIL, rendered likewise
    "spec_pytest.results.records.TornLineWarning",  # a warning, not raised
    "spec_pytest.recording.transport.NoTapeError",  # a bug in the fan-out: shows its traceback
    "spec_pytest.spec.document._NotPlain",  # caught in its module: the fast reader hands over
}


def exception_classes() -> dict[str, type[BaseException]]:
    found = {}
    for module in pkgutil.walk_packages(spec_pytest.__path__, "spec_pytest."):
        loaded = importlib.import_module(module.name)
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.name:
                found[f"{module.name}.{cls.__qualname__}"] = cls
    return found


def test_every_exception_class_of_the_package_derives_from_the_root() -> None:
    classes = exception_classes()
    assert len(classes) > 25  # the walk found the package's classes
    outside = sorted(name for name, cls in classes.items() if not issubclass(cls, SpecPytestError))
    assert outside == sorted(NOT_ERRORS)
    for name, cls in classes.items():
        if issubclass(cls, SpecPytestError) and cls.__module__ != "spec_pytest.errors":
            assert issubclass(cls, (InputError, ConfigError, RunError)), f"{name} is on no branch"


def test_the_errors_module_is_the_bottom_of_the_import_graph() -> None:
    tree = ast.parse(inspect.getsource(importlib.import_module("spec_pytest.errors")))
    imported = [
        node.module or "" if isinstance(node, ast.ImportFrom) else node.names[0].name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
    ]
    assert imported == ["__future__"]


def test_a_budget_refusal_in_the_fan_out_is_a_budget_error_and_a_wait_a_timeout() -> None:
    refused = FanoutBudgetError("cassettes/x", "the run's budget ran out")
    assert isinstance(refused, BudgetExhausted) and isinstance(refused, FanoutError)
    assert not isinstance(refused, CassetteError)
    assert isinstance(FanoutTimeout("cassettes/x", "waited"), TimeoutError)
    assert str(refused) == "the run's budget ran out" and refused.path.name == "x"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shard", "3/2"], "spec-pytest plan: "),
        (["--model-param", "oops"], "expected KEY=VALUE"),
        (["--prices", "{prices}"], "prices.yaml"),
    ],
    ids=["shard", "model-param", "prices"],
)
def test_a_user_error_from_the_cli_exits_with_its_code_and_its_message_alone(argv, message, tmp_path, capsys):
    prices = tmp_path / "prices.yaml"
    prices.write_text("openai:m: {input: cheap}\n", encoding="utf-8")
    argv = [arg.format(prices=prices) for arg in argv]
    assert main(["plan", str(DATA / "example_suite.yaml"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_unreadable_results_file_is_reported_not_raised(tmp_path, capsys) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text('{"schema": 999}\n', encoding="utf-8")
    assert main(["report", str(results), "--md", str(tmp_path / "r.md")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("spec-pytest report: ") and "Traceback" not in err
