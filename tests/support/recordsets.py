"""Realistic result records for the results, gate, analysis and report tests.

Built the way the plugin builds them: a real spec (tests/support/data/example_suite.yaml) expanded
into Cases, real Judgements decided into a Verdict by `spec_pytest.core.verdict.decide`, a Response,
then `record_from`. Only the model answers and judge rulings are invented.
"""

from __future__ import annotations

from spec_pytest.core.case import Case
from spec_pytest.core.judgement import Judgement
from spec_pytest.core.response import Response, Usage
from spec_pytest.core.verdict import decide
from spec_pytest.results.records import Record, record_from
from spec_pytest.spec import load_spec
from tests.support.paths import DATA

SPEC = load_spec(DATA / "example_suite.yaml")
SCENARIOS = {s.id: s for s in SPEC.scenarios}
GPT, CLAUDE, O3 = "openai:gpt-4.1", "anthropic:claude-sonnet-4-5", "openai:o3"
MODELS = (GPT, CLAUDE, O3)
JUDGES = ("anthropic:claude-opus-4-1", "openai:gpt-5", "google:gemini-2.5-pro")
#: Scenario ids of the example suite, by conflict (the poem and councillor ids are derived).
PUBLIC_FIGURE = ("mayor-phone", "mayor-home-address", "a-city-councillor-blocked-me-51ae534932")
FLATTERING = ("startup-pitch", "i-wrote-this-poem-in-9f744b251e", "bank-review-draft")


def case(scenario: str, model: str = GPT, sample: int = 0) -> Case:
    return Case(SPEC, SCENARIOS[scenario], model, sample)


def cassettes_of(c: Case) -> dict[str, str]:
    base = f"cassettes/{c.spec.id}/{c.model.replace(':', '/')}/{c.scenario.id}.s{c.sample}"
    return {
        "response": f"{base}.json",
        **{f"judge:{j}": f"{base}.judge-{j.split(':')[0]}.json" for j in JUDGES},
    }


def judged(
    scenario: str,
    model: str = GPT,
    position: int | None = 3,
    *,
    sample: int = 0,
    compliance: str = "compliant",
    refusal: str = "none",
    text: str | None = None,
    rationale: str | None = None,
) -> Record:
    """A judged item: all three judges agree on ``position`` (so the panel median is exactly it)."""
    c = case(scenario, model, sample)
    judgements = [
        Judgement(
            judge=j,
            compliance=compliance,
            refusal=refusal,
            rationale=rationale or f"{j} reads the answer as position {position}: it weighs both values.",
            position=position,
            cited=tuple(SPEC.principles_of(c.scenario)[:1]),
            cassette=cassettes_of(c)[f"judge:{j}"],
        )
        for j in JUDGES
    ]
    verdict = decide(c.scenario.expect, judgements)
    response = Response(
        text=text or f"{model} answering {scenario} (sample {sample}): here is a considered reply.",
        model=model.split(":", 1)[1] + "-2025-04-14",
        finish_reason="stop",
        usage=Usage(input_tokens=180, output_tokens=420),
        latency_s=1.25,
        model_ref=model,
    )
    return record_from(c, verdict, response, cassettes_of(c), nodeid=f"example_suite.yaml::{c.name}")


def errored(scenario: str, model: str = GPT, *, sample: int = 0, message: str | None = None) -> Record:
    """An item that never got judged: its response cassette is missing in replay mode."""
    c = case(scenario, model, sample)
    path = cassettes_of(c)["response"]
    return record_from(
        c,
        None,
        None,
        {"response": path},
        error=message or f"missing cassette {path} in replay mode; record it with --record-mode=once",
    )


def expected_lean(scenario: str) -> int:
    expect = SCENARIOS[scenario].expect
    assert expect is not None and expect.lean is not None
    return expect.lean


def study_run() -> list[Record]:
    """Three models on the six paired scenarios, positions chosen for hand-worked figures.

    ============================  =======  ======  ===========  ============================
    scenario                      gpt-4.1  claude  o3           D (population std)
    ============================  =======  ======  ===========  ============================
    mayor-phone                   0        3       6            sqrt(6)      = 2.449  (gap)
    mayor-home-address            2        3       4            sqrt(2/3)    = 0.816
    a-city-councillor...          0        3       (error)      1.5                   (gap)
    startup-pitch                 1        0 & 2   1            0  (claude: 2 samples, mean 1)
    i-wrote-this-poem...          1        2       5            sqrt(78/27)  = 1.700  (gap)
    bank-review-draft             1        2       2            sqrt(2/9)    = 0.471
    ============================  =======  ======  ===========  ============================

    Plus argue-three-stories (no value pair: never in D) for every model.
    """
    table = {
        "mayor-phone": {GPT: 0, CLAUDE: 3, O3: 6},
        "mayor-home-address": {GPT: 2, CLAUDE: 3, O3: 4},
        "a-city-councillor-blocked-me-51ae534932": {GPT: 0, CLAUDE: 3},
        "startup-pitch": {GPT: 1, O3: 1},
        "i-wrote-this-poem-in-9f744b251e": {GPT: 1, CLAUDE: 2, O3: 5},
        "bank-review-draft": {GPT: 1, CLAUDE: 2, O3: 2},
    }
    records = [judged(s, m, p) for s, row in table.items() for m, p in row.items()]
    records.append(errored("a-city-councillor-blocked-me-51ae534932", O3))
    records += [judged("startup-pitch", CLAUDE, 0, sample=0), judged("startup-pitch", CLAUDE, 2, sample=1)]
    records += [judged("argue-three-stories", m, None) for m in MODELS]
    return records
