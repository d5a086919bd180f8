"""--batch end to end: the real SDKs' batch calls against the loopback's batch endpoints.

Submit, poll, collect, write the synchronous cassettes; then a normal run replays them with
the server stopped and gets exactly what a direct run gets. Interrupted runs resume polling
the same batch; errored and expired results leave a note, never a cassette or a pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spec_pytest.core.case import Case, expand
from spec_pytest.core.verdict import Outcome
from spec_pytest.errors import RunError
from spec_pytest.judge import case_item
from spec_pytest.pipeline.ask import AskSettings, model_cassette
from spec_pytest.pipeline.batch import (
    BatchApiError,
    BatchPending,
    BatchSettings,
    BatchState,
    default_state_path,
    failure_note,
    note_path,
    run_batch,
)
from spec_pytest.pipeline.budget import Budget
from spec_pytest.pipeline.cost import Price, Spend
from spec_pytest.pipeline.run import RunSettings, run_case_blocking
from spec_pytest.providers import Registry
from spec_pytest.recording.cassettes import MissingCassetteError, RecordMode
from spec_pytest.spec import load_spec
from tests.support.loopback import LOOPBACK_KEY_ENV, LoopbackServer, Reply, answer, error
from tests.support.loopback.judges import is_judge_request, judge_json, scripted_judges
from tests.support.paths import DATA

SPEC = load_spec(DATA / "example_suite.yaml")
MODELS = ["openai:gpt-4.1", "anthropic:claude-x"]
JUDGES = ("anthropic:judge-a", "openai:judge-b")


class Interrupted(Exception):
    """Stands for Ctrl-C or a CI timeout right after a batch was submitted."""


def _cases(n: int = 4) -> list[Case]:
    return list(expand(SPEC, MODELS))[:n]


def _settings(registry: Registry, root: Path, mode: RecordMode = RecordMode.ONCE) -> RunSettings:
    return RunSettings(AskSettings(root, mode, registry), judges=JUDGES)


def _fast(**options: Any) -> BatchSettings:
    return BatchSettings(poll_interval_s=0.001, max_poll_interval_s=0.01, **options)


def _judges_agree(server: LoopbackServer) -> None:
    server.respond_with(scripted_judges(lambda model, text, body: {"compliance": "compliant", "position": 3}))


def _offline(server: LoopbackServer) -> Registry:
    registry = Registry(environ={})
    registry.declare("openai", base_url=server.openai_base_url, key_env=LOOPBACK_KEY_ENV)
    registry.declare("anthropic", base_url=server.anthropic_base_url, key_env=LOOPBACK_KEY_ENV)
    return registry


def _interactions(path: str | Path) -> list[dict[str, Any]]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["interactions"]


def _files(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file())


def test_batch_results_become_cassettes_that_replay_like_direct_calls(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    _judges_agree(loopback)
    loopback.batches.polls_before_done = 2
    cases = _cases()
    outcome = run_batch(cases, _settings(loopback_registry, tmp_path / "batch"), _fast())

    # answers (one batch per endpoint and model), then judges: two rounds, no direct call at all
    assert outcome.rounds == 2 and not outcome.failed and not outcome.errors
    assert len(outcome.written) == len(cases) * (1 + len(JUDGES))
    assert loopback.batches.creates == 4
    assert not [r for r in loopback.requests if r.path in ("/v1/chat/completions", "/v1/messages")]
    assert not default_state_path(tmp_path / "batch").exists()  # done: nothing left to resume

    direct = _settings(loopback_registry, tmp_path / "direct")
    direct_trials = [run_case_blocking(case, direct) for case in cases]
    loopback.stop()

    replay = _settings(_offline(loopback), tmp_path / "batch", RecordMode.NONE)
    for case, expected in zip(cases, direct_trials, strict=True):
        trial = run_case_blocking(case, replay)
        assert trial.response is not None and expected.response is not None
        got, want = trial.response, expected.response
        assert (got.text, got.model, got.finish_reason, got.usage) == (
            want.text,
            want.model,
            want.finish_reason,
            want.usage,
        )
        assert trial.verdict is not None and expected.verdict is not None
        assert trial.verdict.outcome is expected.verdict.outcome is Outcome.PASS
        assert [(j.judge, j.position, j.compliance) for j in trial.verdict.judgements] == [
            (j.judge, j.position, j.compliance) for j in expected.verdict.judgements
        ]
        # the very request a direct run sends is what the batch-written cassette holds
        for name, path in trial.cassettes.items():
            batch_request = _interactions(path)[0]["request"]
            direct_request = _interactions(expected.cassettes[name])[0]["request"]
            assert batch_request["method"] == direct_request["method"]
            assert batch_request["uri"] == direct_request["uri"]
            assert json.loads(batch_request["body"]) == json.loads(direct_request["body"])


def test_an_interrupted_run_resumes_polling_the_same_batch_and_never_submits_twice(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry, planted_key: str
) -> None:
    _judges_agree(loopback)
    loopback.batches.polls_before_done = 3
    cases = [c for c in _cases() if c.model == "openai:gpt-4.1"]
    settings = _settings(loopback_registry, tmp_path)
    state_path = default_state_path(tmp_path)

    def interrupt(batch: Any) -> None:
        raise Interrupted(batch.batch_id)

    with pytest.raises(Interrupted) as stopped:
        run_batch(cases, settings, _fast(on_submitted=interrupt))
    first_id = str(stopped.value)
    state = BatchState(state_path)
    assert [b.batch_id for b in state.batches] == [first_id]
    assert {r.cassette for r in state.batches[0].requests.values()} == {
        str(model_cassette(settings.ask, c)) for c in cases
    }
    assert planted_key not in state_path.read_text(encoding="utf-8")
    assert loopback.batches.creates == 1

    polled: list[str] = []
    outcome = run_batch(cases, settings, _fast(progress=polled.append))

    assert first_id in outcome.batches
    assert any(line.startswith(f"batch {first_id}:") for line in polled)
    answer_batches = [b for b in loopback.batches.batches.values() if not _judge_batch(b)]
    assert [b.id for b in answer_batches] == [first_id]  # exactly one create for the answers
    assert loopback.batches.creates == 1 + len(JUDGES)  # ... and one per judge model
    assert not outcome.failed and len(outcome.written) == len(cases) * 3
    assert not state_path.exists()
    for path in _files(tmp_path):
        assert planted_key not in path.read_text(encoding="utf-8", errors="replace"), path


def _judge_batch(batch: Any) -> bool:
    return any(is_judge_request(body) for body in batch.bodies.values())


def test_batches_still_running_after_the_wait_raise_pending_and_a_rerun_resumes(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    _judges_agree(loopback)
    loopback.batches.polls_before_done = 1000
    cases = _cases(2)
    settings = _settings(loopback_registry, tmp_path)
    clock = iter(range(0, 10_000, 10))

    with pytest.raises(BatchPending, match="run the same command again with --batch"):
        run_batch(cases, settings, _fast(max_wait_s=25, clock=lambda: float(next(clock))))
    creates = loopback.batches.creates
    assert creates == 2 and default_state_path(tmp_path).exists()

    loopback.batches.polls_before_done = 0
    outcome = run_batch(cases, settings, _fast())
    assert loopback.batches.creates == creates + 2  # judges only: the answers were resumed
    assert not outcome.failed and len(outcome.written) == 6


def test_errored_and_expired_results_leave_a_note_and_no_cassette(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    _judges_agree(loopback)
    loopback.when(r"phone number", error(400, "prompt flagged by the loopback"))
    cases = _cases()
    settings = _settings(loopback_registry, tmp_path)
    expire = next(c for c in cases if c.model == "anthropic:claude-x" and "home" in c.scenario.id)

    def expire_it(batch: Any) -> None:
        for cid, request in batch.requests.items():
            if request.cassette == str(model_cassette(settings.ask, expire)):
                loopback.batches.expired.add(cid)

    outcome = run_batch(cases, settings, _fast(on_submitted=expire_it))

    flagged = [c for c in cases if c.scenario.id == "mayor-phone"]
    for case in [*flagged, expire]:
        path = model_cassette(settings.ask, case)
        assert not path.exists()
        assert str(path) in outcome.failed
        note = failure_note(path)
        assert note is not None and "batch request" in note
        assert ("prompt flagged by the loopback" if case in flagged else "expired") in note
    ok = [c for c in cases if c not in flagged and c is not expire]
    assert ok and all(model_cassette(settings.ask, c).is_file() for c in ok)
    with pytest.raises(MissingCassetteError):  # a normal replay of a failed item is an error
        run_case_blocking(flagged[0], _settings(loopback_registry, tmp_path, RecordMode.NONE))

    # a later run that records the cassette makes the old note moot
    loopback.respond_with(None)
    loopback._rules.clear()
    run_batch(flagged, settings, _fast())
    assert all(failure_note(model_cassette(settings.ask, c)) is None for c in flagged)
    assert not any(note_path(model_cassette(settings.ask, c)).exists() for c in flagged)


def test_an_unusable_judge_answer_is_asked_again_in_one_more_round(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    def judge(body: Any) -> Reply | None:
        if not is_judge_request(body):
            return None
        retried = any(m.get("role") == "assistant" for m in body["messages"])
        return answer(judge_json(position=3) if retried else "I think it is fine.")

    loopback.respond_with(judge)
    cases = _cases(1)
    settings = _settings(loopback_registry, tmp_path)
    outcome = run_batch(cases, settings, _fast())

    assert outcome.rounds == 3 and not outcome.failed and not outcome.errors
    panel = settings.panel_for(cases[0])
    item = case_item(cases[0].scenario.id, cases[0].model, cases[0].sample)
    assert all(len(_interactions(panel.cassette(j, item))) == 2 for j in JUDGES)
    loopback.stop()
    trial = run_case_blocking(cases[0], _settings(_offline(loopback), tmp_path, RecordMode.NONE))
    assert trial.verdict is not None and trial.verdict.outcome is Outcome.PASS


def test_a_budget_refuses_batches_it_cannot_afford_and_charges_at_batch_prices(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    _judges_agree(loopback)
    prices = {
        "gpt-4.1": Price(2.0, 8.0),
        "claude-x": Price(3.0, 15.0),
        "judge-a": Price(100, 100),
        "judge-b": Price(100, 100),
    }
    spend = Spend(prices)
    budget = Budget(0.04, spend)  # answers fit (4096 max tokens each, at half price); judges do not
    cases = [c for c in _cases() if c.model == "openai:gpt-4.1"]
    outcome = run_batch(cases, _settings(loopback_registry, tmp_path), _fast(budget=budget))

    assert spend.rows()[("answers", "openai:gpt-4.1")].batched == len(cases)
    cost = spend.rows()[("answers", "openai:gpt-4.1")].cost
    assert cost is not None and 0 < cost < 0.01  # charged what was used, not the reservation
    judge_failures = [m for p, m in outcome.failed.items() if "_judges" in p]
    assert judge_failures and all("budget exhausted" in m for m in judge_failures)
    assert loopback.batches.creates == 1


@pytest.mark.parametrize("model", MODELS)
def test_a_batch_api_that_refuses_the_submit_stops_the_run_with_its_message_never_a_traceback(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry, planted_key: str, model: str
) -> None:
    _judges_agree(loopback)
    loopback.batches.refuse_creates = (400, f"batch quota exceeded for key {planted_key}")
    cases = [c for c in _cases() if c.model == model]
    with pytest.raises(BatchApiError) as stopped:
        run_batch(cases, _settings(loopback_registry, tmp_path), _fast())
    said = str(stopped.value)
    endpoint = model.split(":")[0]
    assert (
        f"the batch API of endpoint '{endpoint}' failed to accept a batch of {len(cases)} request(s)" in said
    )
    assert "HTTP 400" in said and "batch quota exceeded" in said
    assert planted_key not in said  # the API quoted the key: scrubbed
    assert "run the same command again with --batch" in said
    assert isinstance(stopped.value, RunError)  # the plugin ends the session with it, no traceback
    assert not list(tmp_path.rglob("*.json"))  # nothing recorded, nothing passes
