"""One run's configuration, built once from options, ini values and the rootdir.

A ``pytest`` run and ``spec-pytest plan/calibrate/generate`` parse their options from the
same table (`spec_pytest.config.table`) and hand the values, the ini keys and the rootdir
to `build_config`: so both sides agree on the specs, models, judges, endpoints, rubric,
record modes and, above all, on where the cassettes are (``--cassette-dir`` and ini
``spec_cassette_dir`` are relative to the rootdir on both sides), hence on what is
recorded and what a run would cost. `run_settings_of` turns a `RunConfig` into the
`RunSettings` the pipeline runs with.

Every problem is a `ConfigError` naming the option and the fix; the pytest plugin shows it
as a usage error, the CLI as exit status 2.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec_pytest.config.inifile import IniFile
from spec_pytest.config.table import INI_KEYS, OPTIONS, PYTEST, ROOTDIR, Option
from spec_pytest.core.case import Case, CaseError, check_model_ref
from spec_pytest.errors import ConfigError
from spec_pytest.judge import RUBRIC_VERSION, RUBRICS
from spec_pytest.judge.judge import TIMEOUT_KEY, check_timeout
from spec_pytest.judge.templates import JUDGE_CONTEXTS, with_context
from spec_pytest.pipeline.ask import AskSettings, parse_params
from spec_pytest.pipeline.budget import Budget
from spec_pytest.pipeline.cost import Price, PriceTableError, Spend, price_table
from spec_pytest.pipeline.run import RunSettings
from spec_pytest.pipeline.shard import ShardError, parse_shard
from spec_pytest.providers import ModelParams, Registry
from spec_pytest.providers.bounds import Bounds
from spec_pytest.providers.endpoints import parse_endpoint_line
from spec_pytest.recording.cassettes import RecordMode, resolve_record_mode

#: An ini getter: the value of an ini key as pytest's ``config.getini`` gives it.
IniGetter = Callable[[str], Any]


@dataclass(frozen=True)
class RunConfig:
    """Everything a run is configured with, resolved: paths absolute, modes decided."""

    rootdir: Path
    invocation_dir: Path
    cassette_dir: Path
    record_mode: RecordMode
    specs: tuple[Path, ...] = ()
    models: tuple[str, ...] = ()
    samples: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    judges: tuple[str, ...] = ()
    judge_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # "" = every judge
    rubric: str = RUBRIC_VERSION
    judge_record_mode: RecordMode | None = None
    inconclusive: str = "fail"
    endpoints: tuple[str, ...] = ()  # `NAME BASE_URL [KEY_ENV]` lines: ini spec_endpoints, then --endpoint
    shard: tuple[int, int] | None = None
    prices: Mapping[str, Price] = field(default_factory=dict)
    max_cost: float | None = None
    batch: bool = False
    batch_state: Path | None = None
    concurrency: int | None = None
    prefetch: bool = True
    results: Path | None = None
    baseline: Path | None = None
    max_regressions: int = 0
    allow_missing: bool = False
    save_baseline: Path | None = None
    threshold: float = 1.5
    suites_dir: Path | None = None
    bounds: Bounds = field(default_factory=Bounds)


def ini_getter(inifile: IniFile) -> IniGetter:
    """``config.getini`` for the CLI: the table's ini keys read from ``inifile``, typed as pytest would."""
    keys = {k.name: k for k in INI_KEYS}

    def getini(name: str) -> Any:
        key = keys[name]
        return inifile.get(name, key.type, key.default)

    return getini


def build_config(
    values: Mapping[str, Any],
    ini: IniGetter,
    rootdir: Path,
    invocation_dir: Path,
    *,
    command: str = PYTEST,
) -> RunConfig:
    """The `RunConfig` of option ``values`` (by dest; missing ones take the table's default),
    ini values and the rootdir. ``command`` is ``pytest`` or a subcommand: only a pytest run
    also collects ini ``spec_files``. Raises `ConfigError`."""
    get = _Values(values, rootdir, invocation_dir)
    _check_counts(get)
    suites = rootdir / ini("spec_suites_dir")
    specs = [find_spec(name, invocation_dir, suites) for name in get("spec_files")]
    if command == PYTEST:
        specs += [Path(p).resolve() for p in ini("spec_files")]
    cassettes = get("spec_cassette_dir") or rootdir / ini("spec_cassette_dir")  # both rootdir-relative
    judge_mode = get("spec_judge_record_mode")
    built = RunConfig(
        rootdir=rootdir,
        invocation_dir=invocation_dir,
        cassette_dir=cassettes,
        record_mode=_record_mode(get("record_mode")),
        specs=tuple(dict.fromkeys(specs)),
        models=tuple(get("spec_models")),
        samples=get("spec_samples"),
        params=_params(get("spec_model_params")),
        judges=tuple(get("spec_judges")),
        judge_params=judge_params_of(get("spec_judge_params")),
        rubric=_rubric(
            get("spec_rubric"), ini("spec_rubric"), get("spec_judge_context"), ini("spec_judge_context")
        ),
        judge_record_mode=RecordMode(judge_mode) if judge_mode else None,
        inconclusive=get("spec_inconclusive"),
        endpoints=endpoint_lines(ini("spec_endpoints"), get("spec_endpoints")),
        shard=_shard(get("spec_shard")),
        prices=_prices(get("spec_prices"), ini("spec_prices")),
        max_cost=_max_cost(get("spec_max_cost")),
        batch=bool(get("spec_batch")),
        batch_state=get("spec_batch_state"),
        concurrency=get("spec_concurrency"),
        prefetch=not get("spec_no_prefetch"),
        results=get("spec_results"),
        baseline=get("spec_baseline"),
        max_regressions=get("spec_max_regressions"),
        allow_missing=bool(get("spec_allow_missing")),
        save_baseline=get("spec_save_baseline"),
        threshold=get("spec_threshold"),
        suites_dir=suites,
        bounds=bounds_of(get, ini),
    )
    check_output_paths(built)
    return built


def run_settings_of(
    config: RunConfig,
    registry: Registry,
    *,
    rerecord_hint: Callable[[Case], str] | None = None,
    judge_hint: Callable[[Case], str] | None = None,
    workers: int = 1,
) -> RunSettings:
    """The pipeline's `RunSettings` for ``config``, asking through ``registry``.

    ``workers`` is the number of processes sharing a ``--max-cost`` budget (xdist).
    """
    registry.bounds = config.bounds
    ask = AskSettings(
        cassette_dir=config.cassette_dir,
        record_mode=config.record_mode,
        registry=registry,
        params=config.params,
    )
    if rerecord_hint is not None:
        ask.rerecord_hint = rerecord_hint
    settings = RunSettings(
        ask=ask,
        judges=config.judges,
        judge_record_mode=config.judge_record_mode,
        inconclusive=config.inconclusive,
        budget=budget_of(config, workers),
        rubric=config.rubric,
        judge_params=config.judge_params,
    )
    if judge_hint is not None:
        settings.judge_hint = judge_hint
    return settings


def budget_of(config: RunConfig, workers: int = 1) -> Budget | None:
    """The ``--max-cost`` budget of this process (``workers`` share the limit), None without one."""
    if config.max_cost is None:
        return None
    return Budget.share(config.max_cost, workers, Spend(dict(config.prices)))


def find_spec(name: str, invocation_dir: Path, suites_dir: Path) -> Path:
    """A ``--spec`` value: a path from the working directory, else a name in the suites directory."""
    given = Path(name)
    candidates = [invocation_dir / given, suites_dir / given]
    if not given.suffix:
        candidates += [suites_dir / f"{name}.yaml", suites_dir / f"{name}.yml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    looked = ", ".join(str(c) for c in candidates)
    raise ConfigError(f"--spec {name}: no such spec file (looked for {looked})")


def endpoint_line(value: str) -> str:
    """``--endpoint NAME=BASE_URL[,KEY_ENV][,OPTION=VALUE...]`` as an ini ``spec_endpoints`` line."""
    name, sep, rest = value.partition("=")
    url, *more = rest.split(",")
    keys = [m.strip() for m in more if "=" not in m]
    options = [m.strip() for m in more if "=" in m]
    if (
        not sep
        or not name.strip()
        or not url.strip()
        or len(url.split()) != 1
        or len(keys) > 1
        or any(not k.isidentifier() for k in keys)
        or any(len(o.split()) != 1 for o in options)
    ):
        raise ConfigError(
            f"--endpoint {value!r}: expected NAME=BASE_URL[,KEY_ENV_NAME][,OPTION=VALUE...], "
            "e.g. local=http://localhost:8000/v1,LOCAL_KEY or "
            "llamacpp=http://127.0.0.1:8080/v1,structured_output=json_object,timeout=300"
        )
    return " ".join([name.strip(), url.strip(), *keys, *options])


def endpoint_lines(ini_lines: Iterable[str], option_values: Iterable[str]) -> tuple[str, ...]:
    """The extra endpoints of a run: ini ``spec_endpoints`` lines, then ``--endpoint`` values,
    each checked (a bad line or option is a usage error before anything runs)."""
    lines = (*ini_lines, *map(endpoint_line, option_values))
    for line in lines:
        parse_endpoint_line(line)
    return lines


class _Values:
    """Option values by dest, defaulted from the table, paths resolved as the table says."""

    def __init__(self, values: Mapping[str, Any], rootdir: Path, invocation_dir: Path):
        self.values, self.rootdir, self.invocation_dir = values, rootdir, invocation_dir
        self.options: dict[str, Option] = {o.dest: o for o in OPTIONS}

    def __call__(self, dest: str) -> Any:
        option = self.options[dest]
        value: Any = self.values.get(dest)
        if value is None:
            value = [] if option.action == "append" else option.default
        if option.paths is None or value is None or option.action == "append":
            return value
        base = self.rootdir if option.paths == ROOTDIR else self.invocation_dir
        return base / Path(str(value))  # an absolute value stays as it is


#: More samples than this per scenario × model is a typo, not a plan (each one is paid for).
MAX_SAMPLES = 1000


def _check_counts(get: _Values) -> None:
    samples = get("spec_samples")
    if samples is not None and samples < 1:
        raise ConfigError(f"--samples must be at least 1, got {samples}")
    if samples is not None and samples > MAX_SAMPLES:
        raise ConfigError(f"--samples must be at most {MAX_SAMPLES} (each sample is paid for), got {samples}")
    if get("spec_max_regressions") < 0:
        raise ConfigError("--max-regressions must be 0 or more")
    concurrency = get("spec_concurrency")
    if concurrency is not None and concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {concurrency}")
    threshold = get("spec_threshold")
    if threshold is not None and not (math.isfinite(threshold) and threshold >= 0):
        raise ConfigError(f"--disagreement-threshold must be a finite number, 0 or more, got {threshold}")
    for dest, flag in (("spec_models", "--model"), ("spec_judges", "--judge")):
        for ref in get(dest):
            try:
                check_model_ref(ref)
            except CaseError as exc:
                raise ConfigError(f"{flag}: {exc}") from None


def _record_mode(value: str | None) -> RecordMode:
    try:
        return resolve_record_mode(value)
    except ValueError as exc:
        raise ConfigError(f"--record-mode: {exc}") from None


def _params(items: Iterable[str]) -> dict[str, Any]:
    try:
        return parse_params(items)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


#: The keys a judge takes: a model's request parameters, and the request timeout.
JUDGE_KEYS = frozenset({*ModelParams.__dataclass_fields__, TIMEOUT_KEY})


def judge_params_of(items: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``--judge-param`` values by judge: ``KEY=VALUE`` under ``""`` (every judge),
    ``PROVIDER:MODEL:KEY=VALUE`` under ``PROVIDER:MODEL`` (the last colon before ``=`` splits,
    since model names hold colons: ``ollama:llama3.1:8b:temperature=0``)."""
    found: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, value = item.partition("=")
        judge, colon, key = target.rpartition(":")
        if colon:
            try:
                check_model_ref(judge)
            except CaseError as exc:
                raise ConfigError(f"--judge-param {item!r}: {exc}") from None
        try:
            parsed = parse_params([f"{key}{sep}{value}"])
        except ConfigError:
            raise ConfigError(
                f"--judge-param {item!r}: expected KEY=VALUE or PROVIDER:MODEL:KEY=VALUE, "
                "e.g. max_tokens=4000 or openai:o3:reasoning_effort=low"
            ) from None
        unknown = set(parsed) - JUDGE_KEYS
        if unknown:
            raise ConfigError(f"--judge-param {item!r}: unknown key; known: {', '.join(sorted(JUDGE_KEYS))}")
        check_timeout(f"--judge-param {item!r}", parsed.get(TIMEOUT_KEY))
        found.setdefault(judge if colon else "", {}).update(parsed)
    return found


def _rubric(
    option: str | None, ini: str | None, context: str | None = None, context_ini: str | None = None
) -> str:
    """The rubric the judges rule under, its name carrying the judge context (``judge-v1-spec``:
    judge-v1 reading the whole spec), which also names its cassette folder."""
    name = option or ini or RUBRIC_VERSION
    if name not in RUBRICS:
        where = "--rubric" if option else "ini spec_rubric"
        raise ConfigError(f"{where}: unknown rubric {name!r}; choose from: {', '.join(RUBRICS)}")
    chosen = context or context_ini or "principles"
    if chosen not in JUDGE_CONTEXTS:
        raise ConfigError(
            f"ini spec_judge_context: unknown context {chosen!r}; choose from: principles, spec"
        )
    return with_context(name, chosen)


def _shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        return parse_shard(text)
    except ShardError as exc:
        raise ConfigError(f"--shard: {exc}") from None


def _prices(path: Path | None, lines: Iterable[str]) -> dict[str, Price]:
    try:
        table = price_table(path, lines)
    except PriceTableError as exc:
        raise ConfigError(str(exc)) from None
    for model, price in table.items():
        for name, value in (("input", price.input), ("output", price.output), ("batch", price.batch)):
            if not (math.isfinite(value) and value >= 0):
                where = f"--prices {path}" if path is not None else "ini spec_prices"
                raise ConfigError(
                    f"{where}: the {name} price of {model} is {value:g}; a price is a finite "
                    "number of USD per million tokens, 0 or more"
                )
    return table


def _max_cost(limit: float | None) -> float | None:
    if limit is not None and not (math.isfinite(limit) and limit >= 0):
        raise ConfigError(f"--max-cost must be a finite amount of USD, 0 or more, got {limit:g}")
    return limit


# -- the outer bounds of every provider call -------------------------------------------
def bounds_of(get: Callable[[str], Any], ini: IniGetter) -> Bounds:
    """``--request-timeout`` / ini ``spec_timeout`` and ``--max-answer-chars`` / ini
    ``spec_max_answer_chars`` as `Bounds`; a value that is not a positive number is a usage error."""
    deadline = _bound(
        get("spec_request_timeout"), ini("spec_timeout"), float, "--request-timeout", "spec_timeout"
    )
    cap = _bound(
        get("spec_max_answer_chars"),
        ini("spec_max_answer_chars"),
        int,
        "--max-answer-chars",
        "spec_max_answer_chars",
    )
    defaults = Bounds()
    try:
        return Bounds(
            deadline_s=defaults.deadline_s if deadline is None else deadline,
            max_answer_chars=defaults.max_answer_chars if cap is None else int(cap),
        )
    except ValueError as exc:
        where = (
            "--request-timeout / ini spec_timeout"
            if "deadline" in str(exc)
            else ("--max-answer-chars / ini spec_max_answer_chars")
        )
        raise ConfigError(f"{where}: {exc}") from None


def _bound(option: Any, ini_value: Any, kind: Callable[[str], Any], flag: str, key: str) -> Any:
    if option is not None:
        return option
    if ini_value in (None, ""):
        return None
    try:
        return kind(str(ini_value).strip())
    except ValueError:
        raise ConfigError(f"ini {key} = {ini_value!r}: expected a number (or give {flag})") from None


# -- paths a run writes to --------------------------------------------------------------
def check_output_paths(config: RunConfig) -> None:
    """``--results`` must name a regular file (or none yet) and ``--cassette-dir`` a directory
    (or none yet), under a directory: checked before anything is asked, not on the first write."""
    if config.results is not None:
        _check_writable_file(config.results, "--results", "a file such as results.jsonl")
    cassettes = config.cassette_dir
    if cassettes.exists() and not cassettes.is_dir():
        raise ConfigError(
            f"--cassette-dir {cassettes}: not a directory; give a directory (created if missing), "
            "e.g. --cassette-dir cassettes"
        )
    _check_parent(cassettes, "--cassette-dir", "a directory")


def _check_writable_file(path: Path, flag: str, fix: str) -> None:
    if path.is_dir():
        raise ConfigError(f"{flag} {path}: is a directory; give {fix}")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{flag} {path}: not a regular file (a device or a pipe); give {fix}")
    _check_parent(path, flag, fix)


def _check_parent(path: Path, flag: str, fix: str) -> None:
    """The nearest existing ancestor of ``path`` (``path`` itself when it is a directory) is a
    directory we can create files in (the rest is created). Writing is tried, not inferred from
    the mode bits: root passes every mode check, yet a read-only or virtual filesystem refuses."""
    ancestor = path if path.is_dir() else path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"{flag} {path}: {ancestor} is not a directory; give {fix}")
    try:
        tempfile.TemporaryFile(dir=ancestor).close()
    except OSError as err:
        raise ConfigError(
            f"{flag} {path}: cannot create files in {ancestor} ({err.strerror}); give {fix} "
            "in a directory you can write to"
        ) from None
