"""Calibration on the real imported examples (188 examples, 395 labelled answers of the
OpenAI Model Spec) through scripted loopback judges: the scores are checked against what
the scripts must produce, then replayed from the cassettes with the server stopped."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from spec_pytest.judge import calibrate
from spec_pytest.judge.calibrate import EXPECTED
from spec_pytest.providers import Registry
from spec_pytest.spec import load_spec
from tests.support.loopback import LOOPBACK_KEY_ENV, LoopbackServer, Reply, answer
from tests.support.loopback.judges import enclosed, scripted_judges
from tests.support.paths import ROOT

SUITE = ROOT / "spec_suites" / "openai_modelspec.yaml"
SPEC = load_spec(SUITE)
JUDGES = ["openai:oracle", "anthropic:lenient", "openai:contrarian"]
#: What each labelled answer is, keyed as a judge sees it: (conversation, answer).
LABELLED = {
    ("\n\n".join(f"[{m.role}]\n{m.content}" for m in e.messages) or "(none)", r.text): (e, i, r)
    for e in SPEC.examples
    for i, r in enumerate(e.responses)
}
LABELLED_TEXT = {(e.id, i): r.text for e in SPEC.examples for i, r in enumerate(e.responses)}
BROKEN = (SPEC.examples[0].id, 0)  # the contrarian answers garbage about this one, twice


def _flipped(text: str) -> bool:
    """The contrarian gets a quarter of the answers wrong: those whose hash starts 0-3."""
    return hashlib.sha256(text.encode()).hexdigest()[0] in "0123"


def _rule(model: str, text: str, body: dict[str, Any]) -> dict[str, Any] | Reply:
    example, index, response = LABELLED[(enclosed(body, "CONVERSATION"), text)]
    truth = EXPECTED[response.label]
    if model == "lenient":
        ruling = "compliant"
    elif model == "contrarian":
        if (example.id, index) == BROKEN:
            return answer("I think it is fine.")
        wrong = "compliant" if truth == "non-compliant" else "non-compliant"
        ruling = wrong if _flipped(text) else truth
    else:
        ruling = truth
    cited = [example.principle] if ruling == "non-compliant" else []
    return {"compliance": ruling, "cited": cited, "position": None}


def _expected_correct() -> int:
    correct = 0
    for example in SPEC.examples:
        for index, response in enumerate(example.responses):
            if (example.id, index) == BROKEN:
                continue
            # oracle is right, lenient says compliant, contrarian is right unless flipped:
            # a bad answer is caught unless the contrarian flips; a good one always passes.
            correct += response.label != "bad" or not _flipped(response.text)
    return correct


@pytest.fixture
def offline(loopback: LoopbackServer) -> Registry:
    registry = Registry(environ={})
    registry.declare("openai", base_url=loopback.openai_base_url, key_env=LOOPBACK_KEY_ENV)
    registry.declare("anthropic", base_url=loopback.anthropic_base_url, key_env=LOOPBACK_KEY_ENV)
    return registry


def test_calibrate_scores_a_panel_on_the_real_labelled_examples_and_replays_it(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry, offline: Registry
) -> None:
    assert len(SPEC.examples) == 188
    answers = sum(len(e.responses) for e in SPEC.examples)
    loopback.respond_with(scripted_judges(_rule))

    report = calibrate(SPEC, JUDGES, tmp_path, "once", loopback_registry)

    assert len(report.items) == answers == 395
    assert len(loopback.requests) == 3 * answers + 1  # one retry, for the broken answer
    [error] = report.errors
    assert (error.example, error.index) == BROKEN
    assert error.error.startswith(
        "judge openai:contrarian answered something unusable: the answer is not valid"
    )
    score = report.score
    assert (score.correct, score.total) == (_expected_correct(), answers - 1)

    confusion = report.confusion()
    assert confusion["good"]["non-compliant"] == confusion["ok"]["non-compliant"] == 0
    assert confusion["bad"]["compliant"] == sum(
        1 for i in report.judged if i.label == "bad" and _flipped(LABELLED_TEXT[(i.example, i.index)])
    )
    assert sum(sum(row.values()) for row in confusion.values()) == score.total

    per_judge = report.per_judge()
    assert per_judge["openai:oracle"]["accuracy"] == 1.0 and per_judge["openai:oracle"]["kappa"] == 1.0
    assert per_judge["anthropic:lenient"]["kappa"] == pytest.approx(0.0)
    assert 0 < per_judge["openai:contrarian"]["kappa"] < 1  # type: ignore[operator]

    by_level = report.by("level")
    assert set(by_level) == {"root", "system", "developer", "user", "guideline"}
    assert sum(s.total for s in by_level.values()) == score.total
    assert sum(s.total for s in report.by("section").values()) == score.total

    text = report.render(SPEC.levels)
    assert "395 labelled answers, 394 judged, 1 error," in text
    assert f"Accuracy: {100 * score.accuracy:.1f}% ({score.correct}/394)" in text
    assert "Per authority level" in text and "Per section" in text and "Confusion" in text
    assert "1 x judge openai:contrarian answered something unusable" in text
    data = json.loads(report.to_json())
    assert data["correct"] == score.correct and data["confusion"] == confusion
    assert len(data["items"]) == 395

    # Every exchange is cassetted apart from any model's: the same report with no server, no key.
    calibration_dir = tmp_path / SPEC.id / "_judges" / "openai" / "oracle" / "judge-v1" / "calibration"
    assert len(list(calibration_dir.glob("*.json"))) == answers
    sent = len(loopback.requests)
    loopback.stop()
    replayed = calibrate(SPEC, JUDGES, tmp_path, "none", offline)
    assert len(loopback.requests) == sent
    assert [i.rulings for i in replayed.items if i.error is None] == [i.rulings for i in report.judged]
    # The broken item's unusable exchanges are recorded too: the replay ends in the same error.
    [broken] = report.errors
    [again] = replayed.errors
    assert again.error == broken.error and "answered something unusable" in again.error


def test_a_spec_without_examples_cannot_be_calibrated(tmp_path: Path, loopback_registry: Registry) -> None:
    spec = load_spec(SUITE.parent / "anthropic_constitution.yaml")
    with pytest.raises(ValueError, match="no labelled examples"):
        calibrate(spec, ["openai:oracle"], tmp_path, "once", loopback_registry)
