"""Every spec-pytest option and ini key, declared once, as plain data.

The pytest plugin (`spec_pytest.pytest.options`) and the ``spec-pytest`` subcommands
(`spec_pytest.cli`) both build their parsers from this table, so an option has one name,
one meaning, one default and one ini key wherever it is accepted, and `spec_pytest.config`
turns the parsed values into one `RunConfig` the same way on both sides. Each entry says
which commands take it (``pytest`` is a pytest run) and what a relative path in it is
relative to: the rootdir, as for ``--cassette-dir``, or the working directory.

Only the standard library is imported here: the CLI builds every subcommand's parser at
start-up, whatever command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from spec_pytest.recording.mode import RecordMode

PYTEST, PLAN, CALIBRATE, GENERATE, REPORT = "pytest", "plan", "calibrate", "generate", "report"
RUN_COMMANDS = frozenset({PYTEST, PLAN, CALIBRATE, GENERATE})
RECORD_MODES = tuple(m.value for m in RecordMode)
#: What a relative path given to an option is relative to.
ROOTDIR, CWD = "rootdir", "cwd"


#: `spec_pytest.pipeline.run.INCONCLUSIVE_POLICIES`, spelled here so that declaring the options
#: imports no pipeline (every pytest start-up declares them); a test keeps the two equal.
INCONCLUSIVE_CHOICES = ("fail", "error", "skip")


@dataclass(frozen=True)
class Option:
    """One command-line option: its argparse declaration, its ini key and where it applies."""

    flags: tuple[str, ...]
    dest: str
    help: str
    commands: frozenset[str]
    action: str = "store"  # store | append | store_true
    type: Callable[[str], Any] | None = None
    choices: Sequence[str] | Callable[[], Sequence[str]] | None = None
    default: Any = None
    metavar: str | None = None
    ini: str | None = None  # the ini key used when the option is not given
    paths: str | None = None  # ROOTDIR or CWD: what a relative path in the value is relative to

    @property
    def flag(self) -> str:
        return self.flags[0]

    def argparse_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``add_argument`` (and of pytest's ``addoption``)."""
        kwargs: dict[str, Any] = {"action": self.action, "dest": self.dest, "help": self.help}
        kwargs["default"] = [] if self.action == "append" else self.default
        if self.type is not None:
            kwargs["type"] = self.type
        if self.choices is not None:
            kwargs["choices"] = list(self.choices() if callable(self.choices) else self.choices)
        if self.metavar is not None:
            kwargs["metavar"] = self.metavar
        return kwargs


@dataclass(frozen=True)
class IniKey:
    """One ini key, with its type as pytest's ``parser.addini`` knows it."""

    name: str
    help: str
    type: Literal["string", "linelist", "paths"] = "string"
    default: Any = None


_PYTEST = frozenset({PYTEST})
_GATING = frozenset({PYTEST, REPORT})  # the release gate, in a run or over results files
_ASKING = frozenset({PYTEST, PLAN})  # options that choose what is asked

OPTIONS: tuple[Option, ...] = (
    Option(
        ("--spec",),
        "spec_files",
        "spec file to turn into tests (repeatable). A bare name such as openai_modelspec "
        "is also looked up in the suites directory (ini spec_suites_dir).",
        _PYTEST,
        action="append",
        metavar="PATH",
        paths=CWD,
    ),
    Option(
        ("--model",),
        "spec_models",
        "model to ask, e.g. openai:gpt-4.1 (repeatable; default: the spec's defaults.models)",
        _ASKING,
        action="append",
        metavar="PROVIDER:MODEL",
    ),
    Option(
        ("--samples",),
        "spec_samples",
        "ask each model N times per scenario (default: the spec's defaults.samples, else 1)",
        _ASKING,
        type=int,
        metavar="N",
    ),
    Option(
        ("--model-param",),
        "spec_model_params",
        "request parameter for every model, over the spec's (e.g. temperature=0, max_tokens=800)",
        _ASKING,
        action="append",
        metavar="KEY=VALUE",
    ),
    Option(
        ("--judge",),
        "spec_judges",
        "judge model (repeatable: several form a panel; default: the spec's defaults.judges)",
        frozenset({PYTEST, PLAN, CALIBRATE}),
        action="append",
        metavar="PROVIDER:MODEL",
    ),
    Option(
        ("--judge-param",),
        "spec_judge_params",
        "request parameter for the judges, over the spec's models: params for the judge model "
        "(repeatable): KEY=VALUE for every judge, PROVIDER:MODEL:KEY=VALUE for one; keys as "
        "--model-param plus timeout (seconds); KEY=null sends none (default: the judge family's, "
        "e.g. temperature=0 max_tokens=1024, or no temperature and room to reason for o3/gpt-5)",
        _ASKING | {CALIBRATE},
        action="append",
        metavar="[MODEL:]KEY=VALUE",
    ),
    Option(
        ("--rubric",),
        "spec_rubric",
        "rubric version the judges rule under (default: ini spec_rubric, else judge-v1, one bipolar "
        "spectrum; judge-v2: the study's two per-value spectra); judge cassettes are kept per "
        "version, so another rubric re-judges",
        frozenset({PYTEST, PLAN, CALIBRATE}),
        metavar="VERSION",
        ini="spec_rubric",
    ),
    Option(
        ("--judge-context",),
        "spec_judge_context",
        "what the judges read of the spec: the principles at stake (principles, the default) or the "
        "whole spec (spec, the study's; prompt-cached where the API supports it); its judge "
        "cassettes are kept apart (<rubric>-spec)",
        frozenset({PYTEST, PLAN, CALIBRATE}),
        choices=("principles", "spec"),
        ini="spec_judge_context",
    ),
    Option(
        ("--inconclusive",),
        "spec_inconclusive",
        "what an item whose judges reach no majority becomes (default: fail; never a pass)",
        _PYTEST,
        choices=INCONCLUSIVE_CHOICES,
        default="fail",
    ),
    Option(
        ("--record-mode",),
        "record_mode",
        "cassette record mode: none | once | new_episodes | all | rewrite "
        "(default: once, or none when the CI environment variable is set)",
        RUN_COMMANDS,
        choices=RECORD_MODES,
    ),
    Option(
        ("--judge-record-mode",),
        "spec_judge_record_mode",
        "record mode for judge exchanges only (default: --record-mode); rewrite re-judges "
        "recorded answers without asking the models again",
        _ASKING,
        choices=RECORD_MODES,
    ),
    Option(
        ("--cassette-dir",),
        "spec_cassette_dir",
        "where cassettes live (default: ini spec_cassette_dir, else cassettes/ under the rootdir)",
        RUN_COMMANDS,
        metavar="DIR",
        ini="spec_cassette_dir",
        paths=ROOTDIR,
    ),
    Option(
        ("--endpoint",),
        "spec_endpoints",
        "extra endpoint NAME=BASE_URL[,KEY_ENV_NAME][,OPTION=VALUE...] (repeatable), over the spec's "
        "and ini spec_endpoints; options: structured_output=json_schema|json_object|none, "
        "token_param=max_tokens|max_completion_tokens, timeout=SECONDS, max_concurrency=N",
        RUN_COMMANDS,
        action="append",
        metavar="NAME=URL[,KEY_ENV][,OPT=VAL]",
        ini="spec_endpoints",
    ),
    Option(
        ("--results",),
        "spec_results",
        "append one JSON record per item to PATH (emptied at the start of the run)",
        _PYTEST,
        metavar="PATH",
        paths=CWD,
    ),
    Option(
        ("--baseline",),
        "spec_baseline",
        "gate against this baseline: exit non-zero when regressions exceed --max-regressions",
        _GATING,
        metavar="FILE",
        paths=CWD,
    ),
    Option(
        ("--max-regressions",),
        "spec_max_regressions",
        "regressions tolerated by the --baseline gate (default 0)",
        _GATING,
        type=int,
        default=0,
        metavar="N",
    ),
    Option(
        ("--allow-missing",),
        "spec_allow_missing",
        "let the --baseline gate pass when baseline items have no result in this run although "
        "it did not deselect them (-k/-m/--shard); by default such an item fails the gate",
        _GATING,
        action="store_true",
        default=False,
    ),
    Option(
        ("--judge-check",),
        "spec_judge_check",
        "also collect the spec's labelled GOOD/BAD/OK answers as judge-check items (marker "
        "judge_check): the panel must rule as the label says; `-m judge_check` implies it",
        _PYTEST,
        action="store_true",
        default=False,
    ),
    Option(
        ("--judge-min-accuracy",),
        "spec_judge_min_accuracy",
        "warn in the summary when the panel's accuracy on the judge-check items is below A "
        "(0-1): the run's verdicts rest on judges that disagree with the spec's authors",
        _PYTEST,
        type=float,
        default=0.9,
        metavar="A",
    ),
    Option(
        ("--judge-accuracy",),
        "spec_judge_accuracy",
        "the panel's accuracy A (0-1) on labelled answers, for the --baseline gate's judge-noise "
        "rule (default: measured by this run's judge-check items, else judge error is not modelled)",
        _PYTEST,
        type=float,
        metavar="A",
    ),
    Option(
        ("--save-baseline",),
        "spec_save_baseline",
        "bless this run: write its results as a baseline to FILE",
        _PYTEST,
        metavar="FILE",
        paths=CWD,
    ),
    Option(
        ("--disagreement-threshold",),
        "spec_threshold",
        "cross-model disagreement (std of positions) from which a scenario is a likely spec gap",
        _GATING,
        type=float,
        default=1.5,
        metavar="D",
    ),
    Option(
        ("--shard",),
        "spec_shard",
        "run only shard I of N (1-based): a stable split by suite, scenario and model, for CI matrices",
        _ASKING,
        metavar="I/N",
    ),
    Option(
        ("--prices",),
        "spec_prices",
        "price table (YAML/JSON: model -> input/output USD per million tokens) over the built-in one",
        frozenset({PYTEST, PLAN, GENERATE}),
        metavar="FILE",
        ini="spec_prices",
        paths=CWD,
    ),
    Option(
        ("--max-cost",),
        "spec_max_cost",
        "hard stop: no new request once this much is spent (per run; split across xdist workers)",
        _PYTEST,
        type=float,
        metavar="USD",
    ),
    Option(
        ("--batch",),
        "spec_batch",
        "send the requests not yet recorded through the providers' batch APIs (half price, up to a "
        "day), then run the items from the cassettes the results become; not with -n "
        "(spec-pytest plan: price the requests at batch rates)",
        _ASKING,
        action="store_true",
        default=False,
    ),
    Option(
        ("--batch-state",),
        "spec_batch_state",
        "where --batch keeps its batch ids so an interrupted run resumes polling "
        "(default: beside the cassettes)",
        _PYTEST,
        metavar="PATH",
        paths=CWD,
    ),
    Option(
        ("--concurrency",),
        "spec_concurrency",
        "requests in flight per endpoint while prefetching (default: each endpoint's "
        "max_concurrency; under xdist the controller prefetches with all of it)",
        _PYTEST,
        type=int,
        metavar="N",
    ),
    Option(
        ("--no-prefetch",),
        "spec_no_prefetch",
        "ask and judge inside each item, one after another, instead of fetching every "
        "unrecorded exchange concurrently before the items run",
        _PYTEST,
        action="store_true",
        default=False,
    ),
    # -- the outer bounds of every provider call (spec_pytest.providers.bounds) --
    Option(
        ("--request-timeout",),
        "spec_request_timeout",
        "overall deadline of one model or judge call, SDK retries included (default: ini "
        "spec_timeout, else 600; an endpoint's `timeout:` wins for that endpoint)",
        RUN_COMMANDS,
        type=float,
        metavar="SECONDS",
        ini="spec_timeout",
    ),
    Option(
        ("--max-answer-chars",),
        "spec_max_answer_chars",
        "an answer longer than this is an ERROR, not judged (default: ini spec_max_answer_chars, "
        "else 1000000)",
        RUN_COMMANDS,
        type=int,
        metavar="N",
        ini="spec_max_answer_chars",
    ),
)

INI_KEYS: tuple[IniKey, ...] = (
    IniKey(
        "spec_prices",
        "price lines: MODEL INPUT_USD_PER_MTOK OUTPUT_USD_PER_MTOK [BATCH_FACTOR]",
        "linelist",
        [],
    ),
    IniKey("spec_files", "spec files collected as if given with --spec", "paths", []),
    IniKey("spec_suites_dir", "directory where bare --spec names are looked up", default="spec_suites"),
    IniKey("spec_cassette_dir", "where cassettes live (default: cassettes)", default="cassettes"),
    IniKey(
        "spec_endpoints",
        "extra endpoints, one per line: NAME BASE_URL [KEY_ENV_NAME] [OPTION=VALUE ...] (the options "
        "of --endpoint)",
        "linelist",
        [],
    ),
    IniKey("spec_rubric", "rubric version the judges rule under (default: judge-v1)"),
    IniKey("spec_judge_context", "what the judges read of the spec: principles (default) or spec"),
    # -- the outer bounds of every provider call --
    IniKey("spec_timeout", "overall deadline in seconds of one provider call (default: 600)"),
    IniKey("spec_max_answer_chars", "longest answer accepted, in characters (default: 1000000)"),
)


def options_for(command: str) -> tuple[Option, ...]:
    """The table's options that ``command`` takes, in table order."""
    return tuple(o for o in OPTIONS if command in o.commands)


def add_arguments(parser: argparse.ArgumentParser, command: str, skip: Iterable[str] = ()) -> None:
    """Declare ``command``'s options of the table on an argparse parser (``skip``: dests left out)."""
    left_out = set(skip)
    for option in options_for(command):
        if option.dest not in left_out:
            parser.add_argument(*option.flags, **option.argparse_kwargs())
