"""The pytest adapter: options, ini keys, fixtures and session hooks. Nothing else lives here.

Spec files become nodes in `spec_pytest.items`; asking, judging and deciding happen in the
library (`spec_pytest.run`), results, the gate and the summary too. This module only maps
pytest's configuration and lifecycle onto them.
"""

from __future__ import annotations

import importlib.util
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from spec_pytest.ask import AskSettings, declare_endpoints
from spec_pytest.case import CaseError, check_model_ref
from spec_pytest.cassettes import RecordMode, resolve_record_mode
from spec_pytest.gate import Baseline, BaselineError, GateReport, compare
from spec_pytest.items import SpecFile, SpecItem, rerecord_command
from spec_pytest.providers import Registry
from spec_pytest.results import ResultsWriter, read_results
from spec_pytest.run import INCONCLUSIVE_POLICIES, RunSettings
from spec_pytest.summary import summary_lines

SPEC_PATHS = pytest.StashKey[list[Path]]()
RUN = pytest.StashKey[RunSettings]()
RESULTS = pytest.StashKey[Path]()
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
    _open_results(config)
    if config.getoption("spec_files"):
        _select_spec_args(config, config.stash[SPEC_PATHS])


def _check_options(config: pytest.Config) -> None:
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
        params[key.strip()] = yaml.safe_load(value)
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
    )


def _open_results(config: pytest.Config) -> None:
    """Every process appends to one results file: the user's --results, else a private one."""
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        path = Path(worker["spec_results"])
    else:
        chosen = config.getoption("spec_results")
        path = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="spec-pytest-")) / "results.jsonl"
        ResultsWriter.start(path)
    config.stash[RESULTS] = path
    config.stash[WRITER] = ResultsWriter(path)


def pytest_configure_node(node: Any) -> None:
    """xdist: tell each worker which results file to append to."""
    node.workerinput["spec_results"] = str(node.config.stash[RESULTS])


def pytest_unconfigure(config: pytest.Config) -> None:
    writer = config.stash.get(WRITER, None)
    if writer is not None:
        writer.close()
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


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not config.stash.get(SPEC_PATHS, None):
        return []
    from spec_pytest.preflight import preflight_lines

    run = config.stash[RUN]
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
