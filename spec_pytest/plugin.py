"""The pytest adapter: options, ini keys, fixtures and session hooks. Nothing else lives here.

Spec files become nodes in `spec_pytest.items`; asking, judging and deciding happen in the
library (`spec_pytest.run`), results, the gate and the summary too. This module only maps
pytest's configuration and lifecycle onto them.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from spec_pytest.ask import AskSettings, declare_endpoints
from spec_pytest.case import CaseError, check_model_ref
from spec_pytest.cassettes import RecordMode, resolve_record_mode
from spec_pytest.cost import Budget, PriceTableError, Spend, price_table
from spec_pytest.gate import Baseline, BaselineError, GateReport, compare
from spec_pytest.items import SpecFile, SpecItem, rerecord_command
from spec_pytest.providers import MissingKeyError, Registry
from spec_pytest.results import ResultsWriter, read_results
from spec_pytest.run import INCONCLUSIVE_POLICIES, RunSettings
from spec_pytest.shard import ShardError, in_shard, parse_shard
from spec_pytest.summary import summary_lines

SPEC_PATHS = pytest.StashKey[list[Path]]()
SHARD = pytest.StashKey["tuple[int, int] | None"]()
RUN = pytest.StashKey[RunSettings]()
RESULTS = pytest.StashKey[Path]()
PRIVATE_RESULTS = pytest.StashKey[Path]()  # the results file a run made for itself (no --results)
WRITER = pytest.StashKey[ResultsWriter]()
GATE = pytest.StashKey[GateReport]()
RECORD_MODES = [m.value for m in RecordMode]


def pytest_addoption(parser: pytest.Parser) -> None:
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
    if importlib.util.find_spec("pytest_recording") is None:
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


def pytest_configure(config: pytest.Config) -> None:
    _check_options(config)
    paths = [_find_spec(config, name) for name in config.getoption("spec_files")]
    paths += [Path(p).resolve() for p in config.getini("spec_files")]
    config.stash[SPEC_PATHS] = list(dict.fromkeys(paths))
    config.stash[RUN] = _run_settings(config)
    config.stash[SHARD] = _shard(config)
    _open_results(config)
    if config.stash[SPEC_PATHS] and not config.option.collectonly:
        # imported here: the fan-out loads vcrpy, which a listing or a non-spec run need not pay
        from spec_pytest.fanout import FanoutPlugin

        config.pluginmanager.register(FanoutPlugin(config), FanoutPlugin.NAME)
    if config.getoption("spec_files"):
        _select_spec_args(config, config.stash[SPEC_PATHS])


def _check_options(config: pytest.Config) -> None:
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


def _shard(config: pytest.Config) -> tuple[int, int] | None:
    text = config.getoption("spec_shard")
    if text is None:
        return None
    try:
        return parse_shard(text)
    except ShardError as exc:
        raise pytest.UsageError(f"--shard: {exc}") from None


def _budget(config: pytest.Config) -> Budget | None:
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


def _run_settings(config: pytest.Config) -> RunSettings:
    try:
        mode = resolve_record_mode(config.getoption("record_mode", None))
    except ValueError as exc:
        raise pytest.UsageError(f"--record-mode: {exc}") from None
    judge_mode = config.getoption("spec_judge_record_mode")
    cassettes = config.getoption("spec_cassette_dir") or config.getini("spec_cassette_dir")
    root = Path(cassettes) if Path(cassettes).is_absolute() else config.rootpath / cassettes
    params: dict[str, Any] = {}
    for item in config.getoption("spec_model_params"):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise pytest.UsageError(f"--model-param {item!r}: expected KEY=VALUE, e.g. temperature=0")
        try:
            params[key.strip()] = yaml.safe_load(value)  # numbers as numbers: temperature=0
        except yaml.YAMLError:
            params[key.strip()] = value
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
        budget=_budget(config),
    )


def _open_results(config: pytest.Config) -> None:
    """Every process of a spec run appends to one results file: --results, else a private one.

    The private file (which the end-of-run summary and the gate read) is removed at the end
    of the run; a run without specs opens none.
    """
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        if "spec_results" not in worker:
            return
        path = Path(worker["spec_results"])
    else:
        chosen = config.getoption("spec_results")
        if not chosen and not config.stash[SPEC_PATHS]:
            return
        if chosen:
            path = Path(chosen)
        else:
            path = Path(tempfile.mkdtemp(prefix="spec-pytest-")) / "results.jsonl"
            config.stash[PRIVATE_RESULTS] = path
        ResultsWriter.start(path)
    config.stash[RESULTS] = path
    config.stash[WRITER] = ResultsWriter(path)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: pytest without xdist must not reject it
def pytest_configure_node(node: Any) -> None:
    """xdist: tell each worker which results file to append to."""
    path = node.config.stash.get(RESULTS, None)
    if path is not None:
        node.workerinput["spec_results"] = str(path)


def pytest_unconfigure(config: pytest.Config) -> None:
    writer = config.stash.get(WRITER, None)
    if writer is not None:
        writer.close()
    private = config.stash.get(PRIVATE_RESULTS, None)
    if private is not None:
        shutil.rmtree(private.parent, ignore_errors=True)
    run = config.stash.get(RUN, None)
    if run is not None:
        run.ask.registry.close()


def _select_spec_args(config: pytest.Config, paths: list[Path]) -> None:
    """`pytest --spec=X` alone runs the spec, not the default test tree; with explicit paths on
    the command line the spec runs beside them, unless a node id already names (part of) it."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = [str(p) for p in paths]
        return
    named = {(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args}
    config.args = [*config.args, *(str(p) for p in paths if p not in named)]


def _find_spec(config: pytest.Config, name: str) -> Path:
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


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SpecFile | None:
    if file_path.resolve() in parent.config.stash.get(SPEC_PATHS, []):
        return SpecFile.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """--shard keeps this shard's items; --max-cost refuses unpriced models; --batch records first."""
    shard = config.stash.get(SHARD, None)
    if shard is not None:
        keep, drop = [], []
        for item in items:
            key = item.case if isinstance(item, SpecItem) else item.nodeid
            (keep if in_shard(key, *shard) else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    cases = [item.case for item in items if isinstance(item, SpecItem)]
    run = config.stash[RUN]
    if run.budget is not None and cases:
        from spec_pytest.plan import TO_SEND, case_requests

        sent = {r.model for case in cases for r in case_requests(case, run) if r.status == TO_SEND}
        unpriced = run.budget.unpriced(sent)
        if unpriced:
            raise pytest.UsageError(
                f"--max-cost: no price for {', '.join(unpriced)}; add it with --prices FILE or a "
                "spec_prices ini line (MODEL INPUT OUTPUT, USD per million tokens)"
            )
    if config.getoption("spec_batch") and cases:
        _run_batch(config, run, cases)


def _run_batch(config: pytest.Config, run: RunSettings, cases: list[Any]) -> None:
    from spec_pytest.batch import BatchPending, BatchSettings, run_batch

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    progress = reporter.write_line if reporter is not None else (lambda message: None)
    state = config.getoption("spec_batch_state")
    try:
        outcome = run_batch(
            cases,
            run,
            BatchSettings(
                state_path=Path(state) if state else None,
                budget=run.budget,
                spend=run.budget.spend if run.budget else None,
                progress=progress,
            ),
        )
    except BatchPending as exc:
        pytest.exit(str(exc), returncode=1)
    except MissingKeyError as exc:
        raise pytest.UsageError(str(exc)) from None
    for line in outcome.lines():
        progress(line)


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not config.stash.get(SPEC_PATHS, None):
        return []
    run = config.stash[RUN]
    if config.option.collectonly:  # listing cases needs no key and no cassette
        return [f"spec-pytest: record mode {run.ask.record_mode.value}, cassettes in {run.ask.cassette_dir}"]
    from spec_pytest.preflight import preflight_lines

    return preflight_lines(
        run,
        config.stash[SPEC_PATHS],
        config.getoption("spec_models"),
        config.getoption("spec_samples"),
        config.getini("spec_endpoints"),
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if isinstance(item, SpecItem):
        record = item.record_after(call, report)
        if record is not None:
            item.config.stash[WRITER].append(record)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or not config.stash.get(SPEC_PATHS, None):
        return
    records = read_results([config.stash[RESULTS]])
    saving = config.getoption("spec_save_baseline")
    if saving:
        Baseline.from_records(records, sources=[str(config.stash[RESULTS])]).save(saving)
    baseline = config.getoption("spec_baseline")
    if baseline:
        try:
            gate = compare(
                Baseline.load(baseline),
                records,
                config.getoption("spec_max_regressions"),
                baseline_name=str(baseline),
            )
        except BaselineError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.stash[GATE] = gate
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED if gate.exit_failed else pytest.ExitCode.OK


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not config.stash.get(SPEC_PATHS, None):
        return
    records = read_results([config.stash[RESULTS]])
    lines = summary_lines(records, config.getoption("spec_threshold"))
    run = config.stash[RUN]
    if run.budget is not None and not config.pluginmanager.hasplugin("dsession"):  # workers spend apart
        lines += run.budget.spend.lines()
        if run.budget.refused:
            lines.append(run.budget.exhausted_message())
    gate = config.stash.get(GATE, None)
    if gate is not None:
        lines += gate.summary_lines()
    if config.getoption("spec_results"):
        lines.append(f"results: {config.stash[RESULTS]}")
    if config.getoption("spec_save_baseline"):
        lines.append(f"baseline saved: {config.getoption('spec_save_baseline')}")
    if lines:
        terminalreporter.write_sep("=", "spec-pytest")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def judge(pytestconfig: pytest.Config) -> Any:
    """Judge text from an ordinary test: `judge(text, spec=..., scenario=...) -> Verdict`.

    `spec` is a path, a bare suite name (looked up like --spec) or a loaded Spec. Uses the
    run's --judge panel (else the spec's defaults.judges), cassettes and record mode.
    """
    from spec_pytest.judge import TextJudge
    from spec_pytest.spec.load import load_spec_cached
    from spec_pytest.spec.model import Spec

    run = pytestconfig.stash[RUN]
    text_judge = TextJudge(
        run.ask.cassette_dir,
        judges=run.judges,
        record_mode=run.judge_record_mode or run.ask.record_mode,
        registry=run.ask.registry,
        rerecord_hint="re-run this test with --judge-record-mode=rewrite",
    )

    def judge_text(response: Any, *, spec: Any, **options: Any) -> Any:
        loaded = spec if isinstance(spec, Spec) else load_spec_cached(_find_spec(pytestconfig, str(spec)))
        declare_endpoints(run.ask.registry, [loaded], pytestconfig.getini("spec_endpoints"))
        return text_judge(response, spec=loaded, **options)

    return judge_text
