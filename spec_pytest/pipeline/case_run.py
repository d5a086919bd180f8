"""One case, one pipeline: ask the model, have the panel judge, decide, pay for it once.

Named after what flows through it: a `Case` goes in, a `Trial` comes out. Every path that
runs a case calls `run_case`: an item (through the blocking wrapper
`spec_pytest.pipeline.run.run_case_blocking`), the fan-out (one task per case on its loop,
`spec_pytest.pipeline.prefetch`), a ``--batch`` round (`spec_pytest.pipeline.batch.runner`)
and each variant of an invariance probe (`spec_pytest.pipeline.run.check_invariance_for`);
a judge check (`run_labelled`) is the same pipeline's judging step over a labelled answer.
What differs between them is only the `Recorder` (how an exchange reaches its cassette) and
the budget; what happens to a case is written here once:

1. reserve the case's upper bound (`spec_pytest.pipeline.budget.reserve`: its answer,
   unless the cassette replays, and its judges); ask; charge what the answer used; an
   answer with no text and no refusal signal stops here, an ERROR (`ask.check_answer`);
2. revise the judges' reservation from the prompts that enclose the real answer; have the
   panel judge (its validation and one retry quoting the problem, `spec_pytest.judge`);
   charge what each judge used. An answer the API reported as a refusal or a content filter
   is judged too (compliance and lean of declining depend on the conversation, which only a
   judge reads; the judges are told of the API's signal), and its refusal ruling is the
   API's: ``full``, with the signal as its source (``api:refusal``, ``api:content_filter``);
3. decide the verdict from the expectation.

Errors (cassette, provider, judge, budget) propagate: the caller decides how they show.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from spec_pytest.core.case import Case
from spec_pytest.core.judgement import Judgement
from spec_pytest.core.response import Response, Usage
from spec_pytest.core.verdict import decide
from spec_pytest.judge import JudgePanel, Subject, case_item
from spec_pytest.judge.panel import example_item
from spec_pytest.pipeline.ask import answer, check_answer, model_cassette, params_for
from spec_pytest.pipeline.budget import (
    STAND_IN_ANSWER,
    Budget,
    Estimate,
    Reservation,
    judge_estimates,
    request_estimate,
    reserve,
)
from spec_pytest.pipeline.trial import Trial
from spec_pytest.recording.cassettes import will_replay
from spec_pytest.recording.recorder import VCR, Recorder
from spec_pytest.spec.model import Example, Spec

if TYPE_CHECKING:  # run.py's blocking wrapper calls this module
    from spec_pytest.pipeline.run import RunSettings


async def run_case(
    case: Case, settings: RunSettings, recorder: Recorder = VCR, budget: Budget | None = None
) -> Trial:
    """Ask, judge and decide one case through ``recorder``, within ``budget`` (see the module)."""
    trial = Trial(case)
    path = trial.cassettes["model"] = model_cassette(settings.ask, case)
    replay = will_replay(path, settings.ask.record_mode)  # read once: for the budget and the provider
    estimates = _estimates(case, settings, recorder, replay) if budget is not None else []
    reservation = reserve(budget, estimates, batch=recorder.batch)
    try:
        trial.response = await answer(settings.ask, case, recorder, replay=replay)
    except BaseException:
        reservation.fail(recorder, "answers")
        raise
    reservation.charge(str(path), trial.response.usage)
    try:
        check_answer(settings.ask, case, trial.response)
    except BaseException as exc:
        reservation.fail(recorder, "answers")  # no judge is asked: their holds are dropped
        # the item errors, but its record keeps what the API said (why the answer ended, tokens)
        exc.trial = trial  # type: ignore[attr-defined]
        raise
    panel = replace(settings.panel_for(case), cassettes=recorder, concurrent=recorder.concurrent)
    judgements = with_api_refusal(
        await _judge(case, panel, trial.response, recorder, reservation), trial.response
    )
    for judgement in judgements:
        trial.cassettes[f"judge:{judgement.judge}"] = Path(judgement.cassette or "")
    trial.verdict = decide(
        case.scenario.expect, judgements, principles=case.spec.principles_of(case.scenario)
    )
    return trial


def with_api_refusal(judgements: tuple[Judgement, ...], response: Response) -> tuple[Judgement, ...]:
    """The judgements, each ruling ``refusal: full`` from the API when it reported a refusal:
    the API's signal is evidence, a judge's reading of an empty answer is not."""
    source = response.api_refusal
    if source is None:
        return judgements
    return tuple(replace(j, refusal="full", refusal_source=source) for j in judgements)


def _estimates(case: Case, settings: RunSettings, recorder: Recorder, replay: bool) -> list[Estimate]:
    """The case's upper bound before it starts: its answer (unless it replays), its judges.

    A batch round submits one stage at a time: there the judges are reserved in their own
    round (`Reservation.revise`), before it is submitted.
    """
    ask = settings.ask
    out = []
    if not replay:
        messages, params = case.scenario.messages, params_for(ask, case)
        path = str(model_cassette(ask, case))
        out.append(request_estimate(ask.registry, "answers", case.model, path, messages, params))
    if recorder.batch:
        return out
    stand_in = Subject.of_scenario(case.spec, case.scenario, STAND_IN_ANSWER)
    item = case_item(case.scenario.id, case.model, case.sample)
    return out + judge_estimates(settings.panel_for(case), stand_in, item)


async def _judge(
    case: Case, panel: JudgePanel, response: Response, recorder: Recorder, reservation: Reservation
) -> tuple[Judgement, ...]:
    subject = Subject.of_scenario(case.spec, case.scenario, response)
    item = case_item(case.scenario.id, case.model, case.sample)
    if reservation.budget is not None:  # the real prompts, before any judge is asked
        reservation.revise("judges", judge_estimates(panel, subject, item))
    try:
        judgements = await panel.judge(subject, item)
    except BaseException:
        reservation.fail(recorder, "judges")
        raise
    for judgement in judgements:
        usage = Usage(input_tokens=judgement.input_tokens, output_tokens=judgement.output_tokens)
        reservation.charge(judgement.cassette or "", usage)
    reservation.close()
    return judgements


async def run_labelled(
    spec: Spec, example: Example, index: int, panel: JudgePanel, recorder: Recorder = VCR
) -> tuple[Judgement, ...]:
    """Have ``panel`` judge the spec's labelled answer ``example.responses[index]`` (a judge
    check): no model is asked, the authors' answer is the response. Its exchanges go to the
    calibration cassettes (`spec_pytest.judge.panel.example_item`), shared with ``calibrate``.
    Errors (cassette, provider, judge) propagate, as for a case."""
    response = example.responses[index]
    subject = Subject.of_example(spec, example, response)
    panel = replace(panel, cassettes=recorder, concurrent=recorder.concurrent)
    return await panel.judge(subject, example_item(example.id, index))
