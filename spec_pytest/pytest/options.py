"""spec-pytest's command-line options and ini keys, and what a run's settings are made of.

Kept out of `spec_pytest.pytest.plugin` so the plugin reads as hooks only: here each option is
declared with its help text, checked (usage errors name the option and the fix), and
turned into the library's settings (`RunSettings`, the budget, the shard).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from spec_pytest.core.case import CaseError, check_model_ref
from spec_pytest.pipeline.ask import AskSettings, parse_params
from spec_pytest.pipeline.budget import Budget
from spec_pytest.pipeline.cost import PriceTableError, Spend, price_table
from spec_pytest.pipeline.run import INCONCLUSIVE_POLICIES, RunSettings
from spec_pytest.pipeline.shard import ShardError, parse_shard
from spec_pytest.providers import Registry
from spec_pytest.pytest.items import rerecord_command
from spec_pytest.recording.cassettes import RecordMode, resolve_record_mode

RECORD_MODES = [m.value for m in RecordMode]


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
    """Every spec-pytest option and ini key, in one group of `pytest --help`."""
    group = parser.getgroup("spec-pytest", "spec-pytest: test models against their behaviour specs")
    add = group.addoption
    add(
        "--spec",
        action="append",
        default=[],
        metavar="PATH",
        dest="spec_files",
        help="spec file to turn into tests (repeatable). A bare name such as openai_modelspec "
        "is also looked up in the suites directory (ini spec_suites_dir).",
    )
    add(
        "--model",
        action="append",
        default=[],
        metavar="PROVIDER:MODEL",
        dest="spec_models",
        help="model to ask, e.g. openai:gpt-4.1 (repeatable; default: the spec's defaults.models)",
    )
    add(
        "--samples",
        type=int,
        default=None,
        metavar="N",
        dest="spec_samples",
        help="ask each model N times per scenario (default: the spec's defaults.samples, else 1)",
    )
    add(
        "--model-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="spec_model_params",
        help="request parameter for every model, over the spec's (e.g. temperature=0, max_tokens=800)",
    )
    add(
        "--judge",
        action="append",
        default=[],
        metavar="PROVIDER:MODEL",
        dest="spec_judges",
        help="judge model (repeatable: several form a panel; default: the spec's defaults.judges)",
    )
    add(
        "--inconclusive",
        choices=INCONCLUSIVE_POLICIES,
        default="fail",
        dest="spec_inconclusive",
        help="what an item whose judges reach no majority becomes (default: fail; never a pass)",
    )
    if not recording_plugin_registers_the_option(pluginmanager):
        # pytest-recording registers the same option with the same vocabulary; share it.
        add(
            "--record-mode",
            choices=RECORD_MODES,
            default=None,
            dest="record_mode",
            help="cassette record mode: none | once | new_episodes | all | rewrite "
            "(default: once, or none when the CI environment variable is set)",
        )
    add(
        "--judge-record-mode",
        choices=RECORD_MODES,
        default=None,
        dest="spec_judge_record_mode",
        help="record mode for judge exchanges only (default: --record-mode); rewrite re-judges "
        "recorded answers without asking the models again",
    )
    add(
        "--cassette-dir",
        default=None,
        metavar="DIR",
        dest="spec_cassette_dir",
        help="where cassettes live (default: ini spec_cassette_dir, else cassettes/ under the rootdir)",
    )
    add(
        "--results",
        default=None,
        metavar="PATH",
        dest="spec_results",
        help="append one JSON record per item to PATH (emptied at the start of the run)",
    )
    add(
        "--baseline",
        default=None,
        metavar="FILE",
        dest="spec_baseline",
        help="gate against this baseline: exit non-zero when regressions exceed --max-regressions",
    )
    add(
        "--max-regressions",
        type=int,
        default=0,
        metavar="N",
        dest="spec_max_regressions",
        help="regressions tolerated by the --baseline gate (default 0)",
    )
    add(
        "--save-baseline",
        default=None,
        metavar="FILE",
        dest="spec_save_baseline",
        help="bless this run: write its results as a baseline to FILE",
    )
    add(
        "--disagreement-threshold",
        type=float,
        default=1.5,
        metavar="D",
        dest="spec_threshold",
        help="cross-model disagreement (std of positions) from which a scenario is a likely spec gap",
    )
    add(
        "--shard",
        default=None,
        metavar="I/N",
        dest="spec_shard",
        help="run only shard I of N (1-based): a stable split by suite, scenario and model, for CI matrices",
    )
    add(
        "--prices",
        default=None,
        metavar="FILE",
        dest="spec_prices",
        help="price table (YAML/JSON: model -> input/output USD per million tokens) over the built-in one",
    )
    add(
        "--max-cost",
        type=float,
        default=None,
        metavar="USD",
        dest="spec_max_cost",
        help="hard stop: no new request once this much is spent (per run; split across xdist workers)",
    )
    add(
        "--batch",
        action="store_true",
        default=False,
        dest="spec_batch",
        help="send the requests not yet recorded through the providers' batch APIs (half price, up to a "
        "day), then run the items from the cassettes the results become; not with -n",
    )
    add(
        "--batch-state",
        default=None,
        metavar="PATH",
        dest="spec_batch_state",
        help="where --batch keeps its batch ids so an interrupted run resumes polling "
        "(default: beside the cassettes)",
    )
    parser.addini(
        "spec_prices",
        "price lines: MODEL INPUT_USD_PER_MTOK OUTPUT_USD_PER_MTOK [BATCH_FACTOR]",
        type="linelist",
        default=[],
    )
    add(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        dest="spec_concurrency",
        help="requests in flight per endpoint while prefetching (default: each endpoint's "
        "max_concurrency; under xdist the controller prefetches with all of it)",
    )
    add(
        "--no-prefetch",
        action="store_true",
        default=False,
        dest="spec_no_prefetch",
        help="ask and judge inside each item, one after another, instead of fetching every "
        "unrecorded exchange concurrently before the items run",
    )
    parser.addini("spec_files", "spec files collected as if given with --spec", type="paths", default=[])
    parser.addini("spec_suites_dir", "directory where bare --spec names are looked up", default="spec_suites")
    parser.addini("spec_cassette_dir", "where cassettes live (default: cassettes)", default="cassettes")
    parser.addini(
        "spec_endpoints",
        "extra endpoints, one per line: NAME BASE_URL [KEY_ENV_NAME]",
        type="linelist",
        default=[],
    )


def check_options(config: pytest.Config) -> None:
    if config.getoption("spec_batch") and (
        hasattr(config, "workerinput") or config.getoption("numprocesses", None)
    ):
        raise pytest.UsageError(
            "--batch submits and polls before any item runs: run it without -n, then replay "
            "the recorded cassettes with -n"
        )
    samples = config.getoption("spec_samples")
    if samples is not None and samples < 1:
        raise pytest.UsageError(f"--samples must be at least 1, got {samples}")
    if config.getoption("spec_max_regressions") < 0:
        raise pytest.UsageError("--max-regressions must be 0 or more")
    for option in ("spec_models", "spec_judges"):
        for ref in config.getoption(option):
            try:
                check_model_ref(ref)
            except CaseError as exc:
                raise pytest.UsageError(f"--{option.removeprefix('spec_').rstrip('s')}: {exc}") from None


def shard_of(config: pytest.Config) -> tuple[int, int] | None:
    text = config.getoption("spec_shard")
    if text is None:
        return None
    try:
        return parse_shard(text)
    except ShardError as exc:
        raise pytest.UsageError(f"--shard: {exc}") from None


def budget_of(config: pytest.Config) -> Budget | None:
    try:
        prices = price_table(config.getoption("spec_prices"), config.getini("spec_prices"))
    except PriceTableError as exc:
        raise pytest.UsageError(str(exc)) from None
    limit = config.getoption("spec_max_cost")
    if limit is None:
        return None
    if limit < 0:
        raise pytest.UsageError(f"--max-cost must be 0 or more, got {limit:g}")
    workers = getattr(config, "workerinput", {}).get("workercount", 1)  # xdist workers share the limit
    return Budget.share(limit, workers, Spend(prices))


def run_settings(config: pytest.Config) -> RunSettings:
    try:
        mode = resolve_record_mode(config.getoption("record_mode", None))
    except ValueError as exc:
        raise pytest.UsageError(f"--record-mode: {exc}") from None
    judge_mode = config.getoption("spec_judge_record_mode")
    cassettes = config.getoption("spec_cassette_dir") or config.getini("spec_cassette_dir")
    root = Path(cassettes) if Path(cassettes).is_absolute() else config.rootpath / cassettes
    try:
        params = parse_params(config.getoption("spec_model_params"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    ask = AskSettings(
        cassette_dir=root,
        record_mode=mode,
        registry=Registry(),
        params=params,
        rerecord_hint=lambda case: rerecord_command(config, case, "--record-mode=rewrite"),
    )
    return RunSettings(
        ask=ask,
        judges=tuple(config.getoption("spec_judges")),
        judge_record_mode=RecordMode(judge_mode) if judge_mode else None,
        inconclusive=config.getoption("spec_inconclusive"),
        judge_hint=lambda case: rerecord_command(config, case, "--judge-record-mode=rewrite"),
        budget=budget_of(config),
    )


def find_spec(config: pytest.Config, name: str) -> Path:
    given = Path(name)
    suites = config.rootpath / config.getini("spec_suites_dir")
    candidates = [config.invocation_params.dir / given, suites / given]
    if not given.suffix:
        candidates += [suites / f"{name}.yaml", suites / f"{name}.yml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    looked = ", ".join(str(c) for c in candidates)
    raise pytest.UsageError(f"--spec {name}: no such spec file (looked for {looked})")
