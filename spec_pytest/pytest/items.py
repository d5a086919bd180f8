"""pytest nodes for specs: a spec file collects groups (conflicts), which collect case items.

Kept apart from the hooks in `spec_pytest.pytest.plugin` so each reads on its own: here is what a
spec looks like to pytest; there is how options and the session are wired.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spec_pytest.config.build import endpoint_lines
from spec_pytest.config.table import OPTIONS
from spec_pytest.core.case import Case, expand, models_for
from spec_pytest.core.verdict import Outcome
from spec_pytest.errors import SpecPytestError
from spec_pytest.pipeline.ask import declare_endpoints
from spec_pytest.pipeline.run import batch_failure, check_invariance_for, run_case_blocking
from spec_pytest.pipeline.trial import Style, Trial, describe
from spec_pytest.providers.errors import MissingKeyError
from spec_pytest.pytest import judge_items
from spec_pytest.pytest.stash import RUN
from spec_pytest.results.records import Record, junit_properties, record_from
from spec_pytest.secrets import for_terminal
from spec_pytest.spec.load import load_spec_cached
from spec_pytest.spec.model import Scenario, Spec

try:  # pytest >= 9.1 keeps node ids structured; an item's params must be set, not left in its name
    from _pytest.nodeid import NodeId
except ImportError:  # pragma: no cover - older pytest builds the id from the name alone
    NodeId = None  # type: ignore[assignment,misc]

_MARKER_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def _marker_name(kind: str, ident: str) -> str:
    return f"{kind}_{_MARKER_UNSAFE.sub('_', ident)}"


@contextlib.contextmanager
def _collecting() -> Iterator[None]:
    """No cyclic garbage collection while a spec's nodes are built.

    Collection allocates only what lives for the whole session (the spec, its cases, the
    items and their keyword maps), so the collector's passes find nothing to free; yet each
    full pass walks every live object, and at 100k scenarios those passes took half of the
    collection time. Reference counting still frees everything it always did, and whatever
    cyclic garbage appears is collected once the collector is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class SpecFile(pytest.File):
    """A spec file: loads and validates it, then groups its cases by conflict."""

    def collect(self) -> list[pytest.Collector]:
        with _collecting():
            return list(self._collect())

    def _collect(self) -> Iterator[pytest.Collector]:
        spec = load_spec_cached(self.path)
        declare_endpoints(
            self.config.stash[RUN].ask.registry,
            [spec],
            endpoint_lines(self.config.getini("spec_endpoints"), self.config.getoption("spec_endpoints")),
        )
        groups: dict[str, list[Case]] = {}
        for case in expand(spec, self.config.getoption("spec_models"), self.config.getoption("spec_samples")):
            groups.setdefault(case.group, []).append(case)
        markers = SpecMarkers(self.config, spec)
        for name, members in groups.items():
            yield CaseGroup.from_parent(self, name=name, cases=members, markers=markers)
        if spec.invariances:
            yield from self._invariance_groups(spec, markers)
        if spec.examples and judge_items.wanted(self.config):
            yield judge_items.JudgeCheckGroup.from_parent(self, name="judge-check", spec=spec)

    def _invariance_groups(self, spec: Spec, markers: SpecMarkers) -> Iterator[InvarianceGroup]:
        # deferred: the probes load hypothesis, which a spec without invariances need not pay
        from spec_pytest.probes.invariance import Invariance, invariance_targets

        models = models_for(spec, self.config.getoption("spec_models"))
        rules = [Invariance.from_mapping(rule) for rule in spec.invariances]
        by_rule: dict[str, list[tuple[Any, Scenario, tuple[str, str]]]] = {}
        for rule, scenario, pair in invariance_targets(spec, rules):
            by_rule.setdefault(rule.id, []).append((rule, scenario, pair))
        for rule_id, targets in by_rule.items():
            yield InvarianceGroup.from_parent(
                self, name=f"invariance-{rule_id}", spec=spec, targets=targets, models=models, markers=markers
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, SpecPytestError):  # a located spec problem, a bad model...
            return for_terminal(str(excinfo.value))
        return super().repr_failure(excinfo)  # type: ignore[return-value]


#: pytest's --tb styles and how much of the failure text each shows (`describe`).
_STYLES: dict[str, Style] = {"short": "short", "line": "line"}


class OneLine:
    """A failure as one line, for ``--tb=line``: pytest prints a report's ``reprcrash``
    there (the first 50 characters of anything else), and ``-r`` summaries its ``message``.
    Duck-typed like pytest's own `TerminalRepr` (``toterminal``), which pytest does not export."""

    def __init__(self, line: str) -> None:
        self.line = self.message = line
        self.reprcrash = self

    def __str__(self) -> str:
        return self.line

    def toterminal(self, tw: Any) -> None:
        pass  # --tb=line prints `reprcrash` itself; nothing more belongs under it


class CaseGroup(pytest.Collector):
    """The scenarios of one conflict (or value pair, or principle), as a level in test ids."""

    def __init__(self, *, cases: list[Case], markers: SpecMarkers, **kwargs: Any):
        super().__init__(**kwargs)
        self._cases = cases
        self._markers = markers

    def collect(self) -> list[SpecItem]:
        with _collecting():
            return list(self._items())

    def _items(self) -> Iterator[SpecItem]:
        structured = NodeId is not None and isinstance(getattr(self, "id", None), NodeId)
        params: dict[tuple[str, int], str] = {}  # one string per model and sample, shared by the items
        for case in self._cases:
            key = (case.model, case.sample)
            shown = params.get(key)
            if shown is None:
                shown = params[key] = case.params
            name = f"{case.scenario.id}[{shown}]"
            if structured:
                nodeid = self.id.child(case.scenario.id).with_params(shown)
                item = SpecItem.from_parent(self, name=name, case=case, nodeid=nodeid)
            else:
                item = SpecItem.from_parent(self, name=name, case=case)
            self._markers.apply(item, case)
            yield item


class SpecItem(pytest.Item):
    """One case: a scenario asked of one model once, judged against its expectation.

    Asking and judging happen in setup, so a case that cannot be judged at all (missing or
    stale cassette, API failure, unusable judge answer) is reported as an ERROR, and the
    call phase only checks the verdict: a FAIL means the evidence shows a violation. A
    measurement (no expectation, no principle) is skipped with its reading as the reason and
    shown as MEASURED (`spec_pytest.pytest.plugin.pytest_report_teststatus`): never PASSED.
    """

    #: Set in setup; class-level until then, so 100k collected items do not each carry them.
    trial: Trial | None = None
    error: str | None = None
    missing_key: str | None = None  # the key variable the case needed and lacked

    def __init__(self, *, case: Case, **kwargs: Any):
        super().__init__(**kwargs)
        self.case = case

    def setup(self) -> None:
        run = self.config.stash[RUN]
        try:
            self.error = batch_failure(run, self.case)  # a provider batch answered with an error
            if self.error is None:
                # deferred: the fan-out loads vcrpy; settings_for waits for the case's prefetch
                from spec_pytest.pytest.fanout import prefetched_trial, settings_for

                settings = settings_for(self.config, self.case)
                # what the fan-out ran, when it ran this case in this process; else replay
                self.trial = prefetched_trial(self.config, self.case) or run_case_blocking(
                    self.case, settings
                )
        except SpecPytestError as exc:  # the case cannot be judged: an ERROR with the message alone
            self.error = str(exc)
            self.trial = getattr(exc, "trial", None)  # an answer that is no answer: still recorded
            # the key it lacked: its own MissingKeyError, or the xdist controller's fetch's
            self.missing_key = (
                exc.env_var if isinstance(exc, MissingKeyError) else getattr(exc, "missing_key", None)
            )
        if self.error is not None:  # outside the except: the message alone, no chained traceback
            self.error = for_terminal(self.error)  # an error body may echo a key or escapes
            pytest.fail(self.error, pytrace=False)
        assert self.trial is not None
        verdict = self.trial.verdict
        assert verdict is not None
        if verdict.outcome is Outcome.INCONCLUSIVE and run.inconclusive == "error":
            self.error = for_terminal(describe(self.trial))
            pytest.fail(self.error, pytrace=False)

    def runtest(self) -> None:
        assert self.trial is not None and self.trial.verdict is not None
        verdict = self.trial.verdict
        if verdict.outcome is Outcome.FAIL:
            raise SpecFailure(self.trial)
        if verdict.outcome is Outcome.MEASURED:  # no expectation to check: skip-like, never PASSED
            pytest.skip(verdict.summary)
        if verdict.outcome is Outcome.INCONCLUSIVE:
            if self.config.stash[RUN].inconclusive == "skip":
                pytest.skip(for_terminal(f"inconclusive: {'; '.join(verdict.reasons)}"))
            raise SpecFailure(self.trial)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SpecFailure):  # quotes the answer: keys out, escapes shown
            tb = self.config.getoption("tbstyle", "auto")
            text = for_terminal(
                describe(excinfo.value.trial, title=self.nodeid, style=_STYLES.get(tb, "long"))
            )
            return OneLine(text) if tb == "line" else text
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        scenario = self.case.scenario
        # the failure's heading: the node id, which pytest accepts back as it is
        return scenario.location.path, scenario.location.line - 1, self.nodeid

    def record_after(self, call: pytest.CallInfo[None], report: pytest.TestReport) -> Record | None:
        """The result record once the case is settled: after a setup error, or after the call."""
        if not (call.when == "call" or (call.when == "setup" and report.failed)):
            return None
        trial = self.trial
        cassettes = {name: str(path) for name, path in (trial.cassettes if trial else {}).items()}
        if trial is not None and "model" in cassettes:
            cassettes["response"] = cassettes.pop("model")
        record = record_from(
            self.case,
            trial.verdict if trial is not None and self.error is None else None,
            trial.response if trial is not None else None,
            cassettes,
            error=self.error or (None if report.passed or call.when == "call" else report.longreprtext),
            nodeid=self.nodeid,
        )
        if call.when == "call":
            self.user_properties.extend(junit_properties(record))
        return record


class InvarianceGroup(pytest.Collector):
    """The probes of one invariance rule: one item per selected scenario and model."""

    def __init__(
        self,
        *,
        spec: Spec,
        targets: list[tuple[Any, Scenario, tuple[str, str]]],
        models: list[str],
        markers: SpecMarkers,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.spec, self.targets, self.models, self.markers = spec, targets, models, markers

    def collect(self) -> Iterator[InvarianceItem]:
        for rule, scenario, pair in self.targets:
            for model in self.models:
                item = InvarianceItem.from_parent(
                    self,
                    name=f"{scenario.id}[{model}]",
                    spec=self.spec,
                    rule=rule,
                    scenario=scenario,
                    pair=pair,
                    model=model,
                )
                item.add_marker(self.markers.decorator("spec", self.spec.id))
                item.add_marker(self.markers.decorator("invariance", rule.id))
                for value in pair:
                    item.add_marker(self.markers.decorator("value", value))
                yield item


class InvarianceItem(pytest.Item):
    """A consistency probe: variants of a scenario must not move the lean against the rule.

    The search (hypothesis, seeded, with its example database beside the cassettes) runs in
    setup so that a run that cannot complete (cassette, API, judge) is an ERROR; a violation
    found is the call's FAIL, naming the smallest change that breaks the rule.
    """

    def __init__(
        self, *, spec: Spec, rule: Any, scenario: Scenario, pair: tuple[str, str], model: str, **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.spec, self.rule, self.scenario, self.pair, self.model = spec, rule, scenario, pair, model
        self.violation: AssertionError | None = None

    def setup(self) -> None:
        # deferred: the probes load hypothesis (see _invariance_groups)
        from spec_pytest.probes.invariance import InvarianceViolation

        error = None
        try:
            check_invariance_for(
                self.config.stash[RUN], self.spec, self.rule, self.scenario, self.pair, self.model
            )
        except InvarianceViolation as exc:
            self.violation = exc
        except SpecPytestError as exc:
            error = str(exc)
        if error is not None:
            pytest.fail(for_terminal(error), pytrace=False)

    def runtest(self) -> None:
        if self.violation is not None:
            raise self.violation

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if excinfo.value is self.violation:
            return for_terminal(str(self.violation))
        return super().repr_failure(excinfo)  # type: ignore[return-value]

    def reportinfo(self) -> tuple[Path, int, str]:
        return (
            self.scenario.location.path,
            self.scenario.location.line - 1,
            f"invariance {self.rule.id}: {self.name}",
        )


class SpecFailure(Exception):
    """The panel's verdict does not meet the expectation (or could not be reached)."""

    def __init__(self, trial: Trial):
        super().__init__(trial.verdict.summary if trial.verdict else "no verdict")
        self.trial = trial


def spec_id_path(config: pytest.Config, path: Path) -> str:
    """A spec file's part of its items' node ids: relative to the rootdir, as pytest names
    files; outside it relative to where pytest started (pytest's own id there is empty, so
    ``::conflict::scenario`` could not be pasted back)."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(config.rootpath.resolve()).as_posix()
    except ValueError:
        return Path(os.path.relpath(resolved, config.invocation_params.dir)).as_posix()


def rerecord_command(config: pytest.Config, case: Case, mode: str) -> str:
    """The command that re-records just one case, with the node id a user can paste."""
    shown = spec_id_path(config, case.spec.path)
    nodeid = f"{shown}::{case.group}::{case.name}"
    return f"pytest --spec={shown} {shlex.quote(nodeid)}{_shaping_options(config)} {mode}"


#: The options that decide which items exist and what they ask: a command that reproduces one
#: item repeats them (without --model, an id naming a model given by --model is "not found").
_SHAPING = (
    "spec_models", "spec_samples", "spec_judges", "spec_model_params", "spec_judge_params",
    "spec_endpoints", "spec_rubric", "spec_judge_context", "spec_cassette_dir",
)  # fmt: skip


def _shaping_options(config: pytest.Config) -> str:
    by_dest = {option.dest: option for option in OPTIONS}
    words = []
    for dest in _SHAPING:
        option, value = by_dest[dest], config.getoption(dest, None)
        if value is None or value == [] or value == option.default:
            continue
        for one in value if isinstance(value, list) else [value]:
            words.append(shlex.quote(f"{option.flag}={one}"))
    return "".join(f" {word}" for word in words)


class SpecMarkers:
    """Registers and applies the markers of one spec: values, principles, level, nudge, conflict.

    Registering them (rather than only setting them) lets `--strict-markers` runs use `-m`.
    One decorator per name is built once and shared by every item carrying it. The spec's
    names are registered together before the first is looked up: pytest re-reads every
    registered marker line whenever ``pytest.mark`` meets a name it has not seen, so
    registering one name per lookup made collection quadratic in the spec's markers.

    What an item carries depends only on its scenario's conflict, pair, principles, nudge and
    whether it has an expectation, so thousands of scenarios share one `_Marks`, worked out once;
    an item then takes the shared marks in three container updates (what ``add_marker`` does one
    mark at a time, with an import and two type checks per call).
    """

    def __init__(self, config: pytest.Config, spec: Spec):
        self.config = config
        self.spec = spec
        self._decorators: dict[str, pytest.MarkDecorator] = {}
        self._by_signature: dict[tuple[object, ...], _Marks] = {}
        self._registered: set[str] = set()
        self._scenarios_registered = False

    def decorator(self, kind: str, ident: str) -> pytest.MarkDecorator:
        name = _marker_name(kind, ident)
        decorator = self._decorators.get(name)
        if decorator is None:
            if not self._scenarios_registered:
                self._scenarios_registered = True
                seen: set[tuple[object, ...]] = set()
                for scenario in self.spec.scenarios:
                    signature = _signature(scenario)
                    if signature not in seen:
                        seen.add(signature)
                        for each in self._marks_of(scenario):
                            self._register(*each)
            self._register(kind, ident)  # one the scenarios do not carry (an invariance rule's)
            decorator = self._decorators[name] = getattr(pytest.mark, name)
        return decorator

    def _register(self, kind: str, ident: str) -> None:
        name = _marker_name(kind, ident)
        if name not in self._registered:
            self._registered.add(name)
            self.config.addinivalue_line("markers", f"{name}: spec-pytest {kind} '{ident}'")

    def _marks_of(self, scenario: Scenario) -> list[tuple[str, str]]:
        """The (kind, identifier) of each spec marker a scenario's items carry."""
        marks = [("spec", self.spec.id)]
        if scenario.conflict is not None:
            marks.append(("conflict", scenario.conflict))
        marks.extend(("value", value) for value in scenario.values or ())
        marks.extend(("principle", principle) for principle in self.spec.principles_of(scenario))
        level = self.spec.level_of(scenario)
        if level is not None:
            marks.append(("level", level))
        if scenario.nudge is not None:
            marks.append(("nudge", scenario.nudge))
        return marks

    def register_all(self) -> None:
        """Register every marker the spec's scenarios carry, with no item built: what
        ``pytest --spec=X --markers`` lists."""
        for scenario in self.spec.scenarios:
            self.decorators_of(scenario)

    def apply(self, item: SpecItem, case: Case) -> None:
        marks = self._shared(case.scenario)
        item.own_markers.extend(marks.marks)
        item.keywords.update(marks.keywords)
        item.extra_keyword_matches.update(marks.extra)
        item.extra_keyword_matches.add(case.model)

    def decorators_of(self, scenario: Scenario) -> list[pytest.MarkDecorator]:
        return list(self._shared(scenario).decorators)

    def _shared(self, scenario: Scenario) -> _Marks:
        signature = _signature(scenario)
        marks = self._by_signature.get(signature)
        if marks is None:
            decorators = [self.decorator(kind, ident) for kind, ident in self._marks_of(scenario)]
            principles = self.spec.principles_of(scenario)
            if scenario.expect is None and not principles:
                decorators.append(pytest.mark.measured)  # nothing to check: CI can run -m "not measured"
            marks = self._by_signature[signature] = _Marks(
                tuple(decorators), (*(scenario.values or ()), *principles)
            )
        return marks


def _signature(scenario: Scenario) -> tuple[object, ...]:
    """What decides a scenario's markers and extra ``-k`` words (see `SpecMarkers._marks_of`)."""
    return (scenario.conflict, scenario.values, scenario.principles, scenario.nudge, scenario.expect is None)


class _Marks:
    """The markers and ``-k`` words shared by every item whose scenario has one signature."""

    __slots__ = ("decorators", "extra", "keywords", "marks")

    def __init__(self, decorators: tuple[pytest.MarkDecorator, ...], extra: tuple[str, ...]) -> None:
        self.decorators = decorators
        self.marks = tuple(decorator.mark for decorator in decorators)
        self.keywords = {mark.name: mark for mark in self.marks}  # what add_marker sets, in its order
        self.extra = extra
