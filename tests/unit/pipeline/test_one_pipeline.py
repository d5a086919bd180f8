"""One case, one pipeline; one budget place.

The structural checks read the package's source (AST), so a second copy of the
ask -> judge -> decide sequence, or a budget reservation made somewhere else, fails here.
The behavioural checks run the real SDKs against the loopback server.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import spec_pytest
from spec_pytest.core.verdict import Verdict
from spec_pytest.pipeline.ask import AskSettings, model_cassette
from spec_pytest.pipeline.budget import Budget, BudgetExhausted
from spec_pytest.pipeline.cost import Price, Spend
from spec_pytest.pipeline.plan import case_requests
from spec_pytest.pipeline.prefetch import FanoutError, start_prefetch
from spec_pytest.pipeline.run import RunSettings, run_case_blocking
from spec_pytest.providers import Registry
from spec_pytest.recording.cassettes import RecordMode
from tests.support.loopback import LoopbackServer, answer
from tests.support.loopback.judges import is_judge_request, judge_json
from tests.unit.pipeline.test_fanout import _normalised, cases_of

PACKAGE = Path(spec_pytest.__file__).parent


def _calls(names: set[str]) -> dict[str, list[str]]:
    """Every call of a function or method named in ``names``: name -> ["module:function receiver"]."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for scope in ast.walk(tree):
            if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(scope):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if name in names:
                    receiver = ast.unparse(func.value) if isinstance(func, ast.Attribute) else ""
                    found.setdefault(name, []).append(f"{module}:{scope.name} {receiver}".strip())
    return {name: sorted(set(sites)) for name, sites in found.items()}


def _modules(sites: Iterable[str]) -> set[str]:
    return {site.split(":", 1)[0] for site in sites}


# --------------------------------------------------------------------------- one pipeline


def test_only_the_case_pipeline_decides_a_case_and_asks_the_panel() -> None:
    calls = _calls({"decide", "judge", "judge_case", "judge_case_sync", "judge_one"})
    case_paths = {"pipeline", "probes", "pytest"}  # what runs spec cases (generate, judge: other inputs)
    deciders = {m for m in _modules(calls["decide"]) if m.split("/")[0] in case_paths}
    assert deciders == {"pipeline/case_run.py"}
    panel_callers = {
        site
        for name in ("judge", "judge_case", "judge_case_sync", "judge_one")
        for site in calls.get(name, [])
        if site.split("/")[0] in case_paths
    }
    # a case's panel, and a judge check's (a labelled answer judged with no model asked)
    assert panel_callers == {"pipeline/case_run.py:_judge panel", "pipeline/case_run.py:run_labelled panel"}


def test_every_path_runs_cases_through_run_case() -> None:
    calls = _calls({"run_case", "run_case_blocking"})
    sites, blocking = calls["run_case"], calls["run_case_blocking"]
    assert "pipeline/prefetch.py:_run_case" in sites  # the fan-out, one task per case
    assert "pipeline/batch/runner.py:walk" in sites  # each --batch round
    assert "pipeline/run.py:run_case_blocking case_run" in sites  # the items' blocking wrapper
    assert "pipeline/run.py:__call__" in blocking  # each invariance variant, through the wrapper
    assert "pytest/items.py:setup" in blocking


def test_a_model_is_called_through_a_cassette_in_one_sequence() -> None:
    calls = _calls({"respond", "respond_sync", "through_cassette", "use_cassette", "tape_scope"})
    provider_calls = {s for s in calls["respond"] + calls.get("respond_sync", []) if "provider" in s}
    # generation and drafting (`gaps --draft`) are not cases; both go through `through_cassette`
    in_cases = {s for s in provider_calls if not s.startswith(("generate/", "results/drafts.py"))}
    assert _modules(in_cases) == {"pipeline/ask.py", "judge/judge.py"}  # a case's answer; a judge (and retry)
    assert _modules(calls["through_cassette"]) == {"pipeline/ask.py", "judge/panel.py", "results/drafts.py"}
    # generation (scenario banks, their anchors) opens its own cassettes: not cases
    opened = _modules(calls["use_cassette"] + calls["tape_scope"]) - {
        "generate/run.py",
        "generate/anchors.py",
    }
    assert opened == {"recording/recorder.py", "recording/tape.py", "pipeline/batch/served.py"}


def test_the_item_path_and_the_prefetch_give_equal_verdicts_and_identical_cassettes(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    item_root, fan_root = tmp_path / "item", tmp_path / "fan"
    item_root.mkdir()
    fan_root.mkdir()
    item_cases, fan_cases = cases_of(item_root, 2), cases_of(fan_root, 2)
    item_run, fan_run = _settings(item_root, loopback_registry), _settings(fan_root, loopback_registry)
    item_trials = [run_case_blocking(case, item_run) for case in item_cases]
    prefetch = start_prefetch(fan_run, fan_cases)
    try:
        assert prefetch.wait(60)
        fan_trials = [run_case_blocking(case, prefetch.settings_for(case)) for case in fan_cases]
    finally:
        prefetch.close()
    assert [_ruling(t.verdict) for t in item_trials] == [_ruling(t.verdict) for t in fan_trials]
    item_files = sorted(p.relative_to(item_root) for p in item_root.rglob("*.json"))
    assert item_files == sorted(p.relative_to(fan_root) for p in fan_root.rglob("*.json"))
    assert len(item_files) == 4
    for rel in item_files:
        assert _normalised(item_root / rel) == _normalised(fan_root / rel), rel


def _ruling(verdict: Verdict | None) -> tuple[object, ...]:
    assert verdict is not None
    judgements = [(j.judge, j.compliance, j.refusal, j.position) for j in verdict.judgements]
    return verdict.outcome, verdict.panel, tuple(judgements)


# --------------------------------------------------------------------------- one budget place


def test_only_the_budget_module_and_run_case_reserve_and_charge() -> None:
    calls = _calls({"reserve", "revise", "allow", "hold", "settle", "charge", "release", "drop", "fail"})
    budget_sites = {
        site
        for sites in calls.values()
        for site in sites
        if re.search(r"budget|reservation", site.split(" ", 1)[-1]) or " " not in site
    }
    budget_sites = {s for s in budget_sites if not s.startswith("pipeline/admission.py")}
    assert _modules(budget_sites) <= {"pipeline/budget.py", "pipeline/case_run.py"}
    outside = {s for s in budget_sites if s.startswith("pipeline/case_run.py")}
    assert outside == {  # reserve the case, charge its answer; revise and charge its judges
        "pipeline/case_run.py:run_case",
        "pipeline/case_run.py:run_case reservation",
        "pipeline/case_run.py:_judge reservation",
    }


JUDGE_PRICE = Price(1_000_000.0, 0.0)  # $1 per judge input token: the judge prompt decides
PRICES = {"m": Price(0.0, 0.0), "j": JUDGE_PRICE}


def test_judges_are_reserved_from_the_real_prompt_and_refused_before_they_are_sent(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    """The defect: judges were reserved from a stand-in answer (400 tokens) and charged the
    real, longer prompt, so --max-cost could be overshot. Now they are reserved once the
    answer is known, and refused before their request is sent."""
    long_answer = "A long considered answer. " * 400  # ~2,600 tokens, far over the stand-in
    loopback.respond_with(lambda body: None if is_judge_request(body) else answer(long_answer))
    (case,) = cases_of(tmp_path, 1)
    run = _settings(tmp_path, loopback_registry)
    (stand_in,) = [r for r in case_requests(case, run) if r.stage == "judges"]  # what was reserved before
    budget = run.budget = Budget(stand_in.input_tokens + 500.0, Spend(PRICES))  # fits it, not the real one
    with pytest.raises(BudgetExhausted, match="budget exhausted"):
        run_case_blocking(case, run)
    assert [is_judge_request(r.body) for r in loopback.requests] == [False]  # the judge was never asked
    assert budget.spent <= budget.max_cost and budget.refused == 1
    assert model_cassette(run.ask, case).is_file()  # the answer is kept for a larger budget


@pytest.mark.parametrize("path", ["item", "prefetch"])
def test_a_spent_budget_sends_nothing_at_all(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry, path: str
) -> None:
    cases = cases_of(tmp_path, 3)
    run = _settings(tmp_path, loopback_registry, budget=Budget(0.0, Spend(PRICES)))
    if path == "item":
        for case in cases:
            with pytest.raises(BudgetExhausted):
                run_case_blocking(case, run)
    else:
        prefetch = start_prefetch(run, cases)
        try:
            assert prefetch.wait(30)
            for case in cases:
                with pytest.raises(FanoutError, match="budget ran out"):
                    prefetch.settings_for(case)
        finally:
            prefetch.close()
    assert loopback.requests == []


def test_both_paths_charge_each_exchange_once_with_its_real_usage(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    loopback.respond_with(
        lambda body: answer(judge_json(cited=["be_honest"])) if is_judge_request(body) else None
    )
    spends = []
    for name in ("item", "fan"):
        root = tmp_path / name
        root.mkdir()
        cases = cases_of(root, 2)
        budget = Budget(10**9, Spend(PRICES))
        run = _settings(root, loopback_registry, budget=budget)
        if name == "item":
            trials = [run_case_blocking(case, run) for case in cases]
        else:
            prefetch = start_prefetch(run, cases)
            assert prefetch.wait(60)
            prefetch.close()
            trials = [run_case_blocking(case, prefetch.settings_for(case)) for case in cases]
        tokens = sum(t.response.usage.input_tokens or 0 for t in trials if t.response is not None)
        rows = budget.spend.rows()
        assert rows[("answers", "openai:m")].requests == 2 and rows[("judges", "anthropic:j")].requests == 2
        assert rows[("answers", "openai:m")].input_tokens == tokens  # real usage, not the estimate
        spends.append({key: (row.requests, row.input_tokens) for key, row in rows.items()})
    assert spends[0] == spends[1]


# --------------------------------------------------------------------------- no extra replays

_OPENED: list[str] = []


def _count_opens(event: str, args: tuple[object, ...]) -> None:
    if event == "open" and _OPENED and isinstance(args[0], (str, Path)):
        _OPENED.append(str(args[0]))


sys.addaudithook(_count_opens)  # the interpreter's own record of every file opened


@pytest.fixture
def opened() -> Iterator[list[str]]:
    _OPENED[:] = ["<counting>"]
    yield _OPENED
    _OPENED.clear()


def test_max_cost_does_not_replay_a_recorded_answer_to_estimate_its_judges(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry, opened: list[str]
) -> None:
    (case,) = cases_of(tmp_path, 1)
    run_case_blocking(case, _settings(tmp_path, loopback_registry))  # answer and judge recorded
    answer_file = str(model_cassette(_settings(tmp_path, loopback_registry).ask, case))

    def reads(budget: Budget | None) -> int:
        run = _settings(tmp_path, loopback_registry, budget=budget)
        run.judge_record_mode = RecordMode.REWRITE  # judges are asked again: the budget prices them
        opened[:] = ["<counting>"]
        run_case_blocking(case, run)
        return opened.count(answer_file)

    without = reads(None)
    with_budget = reads(Budget(10**9, Spend(PRICES)))
    assert without > 0 and with_budget == without  # read only by the case itself, not to estimate judges


def _settings(root: Path, registry: Registry, budget: Budget | None = None) -> RunSettings:
    return RunSettings(ask=AskSettings(root / "cassettes", RecordMode.ONCE, registry), budget=budget)
