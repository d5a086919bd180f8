"""The pytest adapter: hooks and the `judge` fixture's value. Nothing else lives here.

Registered by the entry point (`spec_pytest.pytest.entry`) only for runs that have specs.
Spec files become nodes in `spec_pytest.pytest.items`; asking, judging and deciding happen in
the library (`spec_pytest.pipeline.run`), results, the gate and the summary too; options and
ini keys are declared in `spec_pytest.pytest.flags` and read in `spec_pytest.pytest.options`;
the run's state is on the config under `spec_pytest.pytest.stash` keys; the hooks it offers
other plugins are in `spec_pytest.pytest.hookspecs`. This module only maps pytest's
lifecycle onto them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from spec_pytest.core.case import expand
from spec_pytest.errors import ConfigError, InputError, RunError, SpecPytestError
from spec_pytest.judge import TextJudge
from spec_pytest.pipeline.ask import declare_endpoints
from spec_pytest.pipeline.plan import TO_SEND, case_requests
from spec_pytest.pipeline.preflight import preflight_lines
from spec_pytest.pipeline.run import RunSettings
from spec_pytest.pipeline.shard import in_shard
from spec_pytest.pytest import missing_keys, options
from spec_pytest.pytest.entry import spec_args
from spec_pytest.pytest.items import InvarianceItem, SpecFile, SpecItem, SpecMarkers, spec_id_path
from spec_pytest.pytest.judge_items import JudgeCheckItem
from spec_pytest.pytest.stash import (
    DESELECTED,
    GATE,
    JUDGE_CHECKS,
    JUDGE_REPORT,
    PRIVATE_RESULTS,
    RECORDS,
    RESULTS,
    RUN,
    SHARD,
    SHARDED_OUT,
    SPEC_PATHS,
    WRITER,
)
from spec_pytest.recording.durability import flush_written
from spec_pytest.results import judge_checks
from spec_pytest.results.gate import Baseline, BaselineError, compare
from spec_pytest.results.records import ResultsWriter, read_results
from spec_pytest.results.selection import (
    Selection,
    deselected_keys,
    read_selections,
    selection_path,
    shard_note,
)
from spec_pytest.results.summary import summary_lines
from spec_pytest.secrets import for_terminal, install_log_filter
from spec_pytest.spec.load import load_spec_cached
from spec_pytest.spec.model import Spec


def pytest_configure(config: pytest.Config) -> None:
    """Registered by `spec_pytest.pytest.entry` once a run has specs (or a test asks for the
    ``judge`` fixture); pytest then calls this as for any plugin registered late."""
    install_log_filter()  # vcrpy's and the SDKs' log lines quote answers and URLs: keys out
    config.stash[JUDGE_CHECKS] = []
    config.pluginmanager.register(_JudgeCheckRows(config), _JudgeCheckRows.NAME)
    options.check_options(config)
    # --spec names, then ini spec_files, then spec files named as paths or node ids
    named = list(options.config_of(config).specs)
    config.stash[SPEC_PATHS] = [*named, *(p for p in spec_args(config) if p not in named)]
    config.stash[RUN] = options.run_settings(config)
    config.stash[SHARD] = options.shard_of(config)
    config.stash[DESELECTED] = []
    config.stash[SHARDED_OUT] = []
    if config.stash[SPEC_PATHS] and not hasattr(config, "workerinput"):
        _check_before_sending(config)
    _open_results(config)
    if config.stash[SPEC_PATHS] and not config.option.collectonly:
        # deferred: the fan-out loads vcrpy, which a listing or a non-spec run need not pay
        from spec_pytest.pytest.fanout import FanoutPlugin

        config.pluginmanager.register(FanoutPlugin(config), FanoutPlugin.NAME)
    if config.getoption("spec_files"):
        _select_spec_args(config, config.stash[SPEC_PATHS])
    if config.option.markers:  # `--markers` lists the specs' own markers too (nothing is collected)
        _register_spec_markers(config)


def _register_spec_markers(config: pytest.Config) -> None:
    for path in config.stash[SPEC_PATHS]:
        try:
            spec = load_spec_cached(path)
        except SpecPytestError:
            continue  # a spec that does not load says so when it is collected
        SpecMarkers(config, spec).register_all()


def _check_before_sending(config: pytest.Config) -> None:
    """What must hold before the first request, checked once (in the xdist controller too):
    a --baseline that reads, and a price for every model and judge a --max-cost run would pay."""
    baseline = config.getoption("spec_baseline")
    if baseline:
        try:
            Baseline.load(baseline)
        except BaselineError as exc:
            raise pytest.UsageError(f"--baseline: {exc}") from None
    run = config.stash[RUN]
    if run.budget is None or config.option.collectonly:
        return
    cases = []
    for path in config.stash[SPEC_PATHS]:
        try:
            spec = load_spec_cached(path)
            declare_endpoints(run.ask.registry, [spec], options.endpoints_of(config))
            cases += list(expand(spec, config.getoption("spec_models"), config.getoption("spec_samples")))
        except SpecPytestError:
            continue  # the spec's own collection reports it, as an error of that file
    _refuse_unpriced(run, cases)


def _refuse_unpriced(run: RunSettings, cases: list[Any]) -> None:
    """--max-cost: a UsageError naming every model and judge to be paid for without a price."""
    if run.budget is None or not cases:
        return
    try:
        sent = {
            r.model
            for case in cases
            for r in case_requests(case, run, recorded_answers=False)  # models only: no replay
            if r.status == TO_SEND
        }
    except SpecPytestError:
        return  # a case that cannot be planned errors as its item, before anything is sent
    unpriced = run.budget.unpriced(sent)
    if unpriced:
        raise pytest.UsageError(
            f"--max-cost: no price for {', '.join(unpriced)}; add it with --prices FILE or a "
            "spec_prices ini line (MODEL INPUT OUTPUT, USD per million tokens)"
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
        try:
            ResultsWriter.start(path)
            ResultsWriter.start(selection_path(path))  # what this run deselects, written at collection
        except OSError as exc:  # read-only, no space, no permission: before anything is asked
            raise pytest.UsageError(
                f"--results {path}: cannot write it ({exc.strerror or exc}); give a writable file path"
            ) from None
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
    flush_written()  # this process's cassettes, once (each xdist worker flushes its own)
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


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SpecFile | None:
    config = parent.config
    if file_path.resolve() not in config.stash.get(SPEC_PATHS, []):
        return None
    if file_path.resolve().is_relative_to(config.rootpath.resolve()):
        return SpecFile.from_parent(parent, path=file_path)  # pytest's own id: the same path
    return SpecFile.from_parent(parent, path=file_path, nodeid=spec_id_path(config, file_path))


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """--shard keeps this shard's items; --batch records first (prices: `_check_before_sending`)."""
    shard = config.stash.get(SHARD, None)
    if shard is not None:
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            key = item.case if isinstance(item, SpecItem) else item.nodeid
            (keep if in_shard(key, *shard) else drop).append(item)
        if drop:
            config.stash[SHARDED_OUT] += [_item_key(i) for i in drop if isinstance(i, SpecItem)]
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    cases = [item.case for item in items if isinstance(item, SpecItem)]
    run = config.stash[RUN]
    if config.getoption("spec_batch") and cases:
        _run_batch(config, run, cases)


def _item_key(item: SpecItem) -> tuple[str, str, str, int]:
    case = item.case
    return (case.spec.id, case.scenario.id, case.model, case.sample)


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Remember the spec items -k, -m, --lf or --shard left out: the results header names them."""
    for item in items:
        if isinstance(item, SpecItem):
            item.config.stash.setdefault(DESELECTED, []).append(_item_key(item))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Every collecting process (the run, or each xdist worker) writes what it left out first."""
    config = session.config
    results = config.stash.get(RESULTS, None)
    if results is None or not config.stash.get(SPEC_PATHS, None):
        return
    sharded_out: list[tuple[str, str, str, int]] = config.stash[SHARDED_OUT]
    sharded = set(sharded_out)
    left_out: list[tuple[str, str, str, int]] = config.stash[DESELECTED]
    deselected = [key for key in dict.fromkeys(left_out) if key not in sharded]
    selection = Selection(
        deselected=tuple(deselected),
        sharded_out=tuple(sorted(sharded)),
        shard=config.stash.get(SHARD, None),
        keyword=config.getoption("keyword", None) or None,
        markexpr=config.getoption("markexpr", None) or None,
        worker=getattr(config, "workerinput", {}).get("workerid"),
    )
    with ResultsWriter(selection_path(results)) as sidecar:
        sidecar.append_json(selection.to_dict())


def _run_batch(config: pytest.Config, run: RunSettings, cases: list[Any]) -> None:
    # deferred: the batch path loads the provider SDKs, which only a --batch run needs
    from spec_pytest.pipeline.batch import BatchSettings, run_batch

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
    except (InputError, ConfigError) as exc:  # a missing key too: it is also a ProviderError
        raise pytest.UsageError(str(exc)) from None
    except RunError as exc:  # BatchPending (re-run to resume polling), or a provider's failure
        pytest.exit(str(exc), returncode=1)
    for line in outcome.lines():
        progress(line)


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not config.stash.get(SPEC_PATHS, None):
        return []
    run = config.stash[RUN]
    if config.option.collectonly:  # listing cases needs no key and no cassette
        return [f"spec-pytest: record mode {run.ask.record_mode.value}, cassettes in {run.ask.cassette_dir}"]
    paths: list[Path] = config.stash[SPEC_PATHS]
    return preflight_lines(
        run,
        paths,
        config.getoption("spec_models"),
        config.getoption("spec_samples"),
        options.endpoints_of(config),
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, (SpecItem, InvarianceItem)):
        _scrub_report(report)
        missing_keys.mark(report, getattr(item, "missing_key", None))
    if isinstance(item, JudgeCheckItem):
        _scrub_report(report)
        if call.when == "call" or (call.when == "setup" and report.failed):
            vars(report)["spec_judge_check"] = item.row()  # serialised with the report to xdist's controller
    if isinstance(item, SpecItem):
        record = item.record_after(call, report)
        if record is not None:
            vars(report)["spec_outcome"] = record.outcome  # serialised with the report to xdist's controller
            item.config.stash[WRITER].append(record)
            item.config.hook.pytest_spec_case_finished(item=item, record=record)
    return report


class _JudgeCheckRows:
    """Collects the judge-check rows where the summary is written (xdist's controller included:
    it sees every worker's reports)."""

    NAME = "spec-pytest-judge-checks"

    def __init__(self, config: pytest.Config):
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        row = getattr(report, "spec_judge_check", None)
        if row is not None:
            self.config.stash[JUDGE_CHECKS].append(row)


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    """A measurement is its own category: ``2 measured`` in pytest's last line, ``M``, MEASURED."""
    if report.when == "call" and report.skipped and getattr(report, "spec_outcome", None) == "measured":
        return "measured", "M", "MEASURED"
    return None


def _scrub_report(report: pytest.TestReport) -> None:
    """Keys out of what a spec item's report carries to the terminal, JUnit XML and xdist's
    controller: captured output and logs, properties, a plain-text failure (the items scrub
    the messages they raise at the source, so a structured traceback is already clean)."""
    report.sections = [(title, for_terminal(text)) for title, text in report.sections]
    report.user_properties = [(name, for_terminal(str(value))) for name, value in report.user_properties]
    if isinstance(report.longrepr, str):
        report.longrepr = for_terminal(report.longrepr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or not config.stash.get(SPEC_PATHS, None):
        return
    records = config.stash[RECORDS] = read_results([config.stash[RESULTS]])
    config.hook.pytest_spec_results_ready(config=config, records=records, path=config.stash[RESULTS])
    rows: list[dict[str, Any]] = config.stash[JUDGE_CHECKS]
    judged = config.stash[JUDGE_REPORT] = judge_checks.report_of(rows)
    if config.getoption("spec_results"):
        judge_checks.save(judged, config.stash[RESULTS])
    accuracy = config.getoption("spec_judge_accuracy")
    if accuracy is None and judged is not None:
        accuracy = judged.score.accuracy
    saving = config.getoption("spec_save_baseline")
    if saving:
        Baseline.from_records(records, sources=[str(config.stash[RESULTS])]).save(saving)
    baseline = config.getoption("spec_baseline")
    if baseline:
        selections = read_selections([config.stash[RESULTS]])
        shard_only = shard_note(selections)
        try:
            gate = compare(
                Baseline.load(baseline),
                records,
                config.getoption("spec_max_regressions"),
                baseline_name=str(baseline),
                deselected=deselected_keys(selections),
                allow_missing=config.getoption("spec_allow_missing"),
                notes=[shard_only] if shard_only else [],
                judge_accuracy=accuracy,
            )
        except BaselineError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.stash[GATE] = gate
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED if gate.exit_failed else pytest.ExitCode.OK


# named apart from `pytest_terminal_summary` below, whose hook it wraps (pytest reads only pytest_* names)
@pytest.hookimpl(wrapper=True, tryfirst=True, specname="pytest_terminal_summary")
def pytest_terminal_summary_missing_keys(terminalreporter: Any) -> Generator[None]:
    """Items that lacked a key: the first per variable listed, the others kept out of pytest's
    per-item ERRORS and summary listings (the same text each), all summed up in one block;
    still errors (`missing_keys`)."""
    stats = terminalreporter.stats
    errors = list(stats.get("error", []))
    shown, hidden = missing_keys.split(errors)
    if hidden:
        stats["error"] = shown
    try:
        return (yield)
    finally:
        if hidden:
            stats["error"] = errors  # pytest's last line still counts them all
            terminalreporter.write_sep("=", "spec-pytest: missing keys")
            for line in missing_keys.block([r for r in errors if missing_keys.missing_key(r)]):
                terminalreporter.write_line(line)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not config.stash.get(SPEC_PATHS, None):
        return
    records = config.stash.get(RECORDS, None)  # read once, by pytest_sessionfinish
    if records is None:
        return
    lines = summary_lines(records, config.getoption("spec_threshold"))
    lines += judge_checks.summary_lines(
        config.stash.get(JUDGE_REPORT, None), config.getoption("spec_judge_min_accuracy")
    )
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
    if gate is not None:
        despite = gate.green_despite(sum(not r.passed for r in records))
        if despite:
            lines.append(despite)  # last: a green CI job over red JUnit says why
    if lines:
        terminalreporter.write_sep("=", "spec-pytest")
        for line in lines:
            terminalreporter.write_line(for_terminal(line))  # lines may quote model text


def judge_fixture(pytestconfig: pytest.Config) -> Any:
    """The ``judge`` fixture's value (the fixture is `spec_pytest.pytest.entry.judge`)."""
    run = pytestconfig.stash[RUN]
    text_judge = TextJudge(
        run.ask.cassette_dir,
        judges=run.judges,
        record_mode=run.judge_record_mode or run.ask.record_mode,
        registry=run.ask.registry,
        rubric=run.rubric,
        rerecord_hint="re-run this test with --judge-record-mode=rewrite",
    )

    def judge_text(response: Any, *, spec: Any, **details: Any) -> Any:
        loaded = (
            spec if isinstance(spec, Spec) else load_spec_cached(options.find_spec(pytestconfig, str(spec)))
        )
        declare_endpoints(run.ask.registry, [loaded], options.endpoints_of(pytestconfig))
        return text_judge(response, spec=loaded, **details)

    return judge_text
