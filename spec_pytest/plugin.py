"""The pytest adapter: spec files become collectors, cases become items. Nothing else lives here.

Loading, validation and case expansion are library code (`spec_pytest.spec`,
`spec_pytest.case`); this module maps them onto pytest's nodes, options and markers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spec_pytest.case import Case, CaseError, check_model_ref, expand
from spec_pytest.spec import SpecError, load_spec
from spec_pytest.spec.model import Spec

try:  # pytest >= 9.1 keeps node ids structured; an item's params must be set, not left in its name
    from _pytest.nodeid import NodeId
except ImportError:  # pragma: no cover - older pytest builds the id from the name alone
    NodeId = None  # type: ignore[assignment,misc]

SPEC_PATHS = pytest.StashKey[list[Path]]()
_MARKER_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("spec-pytest", "spec-pytest: test models against their behaviour specs")
    group.addoption(
        "--spec",
        action="append",
        default=[],
        metavar="PATH",
        dest="spec_files",
        help="spec file to turn into tests (repeatable). A bare name such as openai_modelspec "
        "is also looked up in the suites directory (ini spec_suites_dir).",
    )
    group.addoption(
        "--model",
        action="append",
        default=[],
        metavar="PROVIDER:MODEL",
        dest="spec_models",
        help="model to ask, e.g. openai:gpt-4.1 (repeatable; default: the spec's defaults.models)",
    )
    group.addoption(
        "--samples",
        type=int,
        default=None,
        metavar="N",
        dest="spec_samples",
        help="ask each model N times per scenario (default: the spec's defaults.samples, else 1)",
    )
    parser.addini("spec_files", "spec files collected as if given with --spec", type="paths", default=[])
    parser.addini("spec_suites_dir", "directory where bare --spec names are looked up", default="spec_suites")


def pytest_configure(config: pytest.Config) -> None:
    samples = config.getoption("spec_samples")
    if samples is not None and samples < 1:
        raise pytest.UsageError(f"--samples must be at least 1, got {samples}")
    for ref in config.getoption("spec_models"):
        try:
            check_model_ref(ref)
        except CaseError as exc:
            raise pytest.UsageError(f"--model: {exc}") from None
    paths = [_find_spec(config, name) for name in config.getoption("spec_files")]
    paths += [Path(p).resolve() for p in config.getini("spec_files")]
    paths = list(dict.fromkeys(paths))
    config.stash[SPEC_PATHS] = paths
    if not config.getoption("spec_files"):
        return
    # `pytest --spec=X` alone runs the spec, not the whole default test tree; with explicit
    # paths on the command line, the spec runs beside them, unless a node id already names
    # (part of) the spec file: then only that part runs.
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


class SpecFile(pytest.File):
    """A spec file: loads and validates it, then groups its cases by conflict."""

    def collect(self) -> Iterator[pytest.Collector]:
        spec = load_spec(self.path)
        cases = list(
            expand(spec, self.config.getoption("spec_models"), self.config.getoption("spec_samples"))
        )
        groups: dict[str, list[Case]] = {}
        for case in cases:
            groups.setdefault(case.group, []).append(case)
        markers = _Markers(self.config, spec)
        for name, members in groups.items():
            yield CaseGroup.from_parent(self, name=name, cases=members, markers=markers)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, (SpecError, CaseError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)  # type: ignore[return-value]


class CaseGroup(pytest.Collector):
    """The scenarios of one conflict (or value pair, or principle), as a level in test ids."""

    def __init__(self, *, cases: list[Case], markers: _Markers, **kwargs: Any):
        super().__init__(**kwargs)
        self._cases = cases
        self._markers = markers

    def collect(self) -> Iterator[SpecItem]:
        structured = NodeId is not None and isinstance(getattr(self, "id", None), NodeId)
        for case in self._cases:
            extra = {"nodeid": self.id.child(case.scenario.id).with_params(case.params)} if structured else {}
            item = SpecItem.from_parent(self, name=case.name, case=case, **extra)
            self._markers.apply(item, case)
            yield item


class SpecItem(pytest.Item):
    """One case: a scenario asked of one model once, judged against its expectation."""

    def __init__(self, *, case: Case, **kwargs: Any):
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        raise NotRunnableYet(
            "spec-pytest cannot ask models yet: providers and cassettes (issue #4) and judges "
            "(issue #5) are still to come; use --collect-only to list the cases"
        )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, NotRunnableYet):
            return str(excinfo.value)
        return super().repr_failure(excinfo)  # type: ignore[return-value]

    def reportinfo(self) -> tuple[Path, int, str]:
        scenario = self.case.scenario
        return (
            scenario.location.path,
            scenario.location.line - 1,
            f"{self.case.spec.id}::{self.case.group}::{self.name}",
        )


class NotRunnableYet(Exception):
    """Running items needs providers and judges, which this version does not have."""


class _Markers:
    """Registers and applies the markers of one spec: values, principles, level, nudge, conflict.

    Registering them (rather than only setting them) lets `--strict-markers` runs use `-m`.
    One decorator per name is built once and shared by every item carrying it.
    """

    def __init__(self, config: pytest.Config, spec: Spec):
        self.config = config
        self.spec = spec
        self._decorators: dict[str, pytest.MarkDecorator] = {}
        self._by_scenario: dict[str, list[pytest.MarkDecorator]] = {}

    def _decorator(self, kind: str, ident: str) -> pytest.MarkDecorator:
        name = f"{kind}_{_MARKER_UNSAFE.sub('_', ident)}"
        decorator = self._decorators.get(name)
        if decorator is None:
            self.config.addinivalue_line("markers", f"{name}: spec-pytest {kind} '{ident}'")
            decorator = self._decorators[name] = getattr(pytest.mark, name)
        return decorator

    def apply(self, item: SpecItem, case: Case) -> None:
        scenario = case.scenario
        decorators = self._by_scenario.get(scenario.id)
        if decorators is None:
            decorators = [self._decorator("spec", self.spec.id)]
            if scenario.conflict is not None:
                decorators.append(self._decorator("conflict", scenario.conflict))
            for value in scenario.values or ():
                decorators.append(self._decorator("value", value))
            for principle in self.spec.principles_of(scenario):
                decorators.append(self._decorator("principle", principle))
            level = self.spec.level_of(scenario)
            if level is not None:
                decorators.append(self._decorator("level", level))
            if scenario.nudge is not None:
                decorators.append(self._decorator("nudge", scenario.nudge))
            self._by_scenario[scenario.id] = decorators
        for decorator in decorators:
            item.add_marker(decorator)
        item.extra_keyword_matches.update(
            [*(scenario.values or ()), *self.spec.principles_of(scenario), case.model]
        )
