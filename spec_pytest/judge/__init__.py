"""Judges: rubric templates, one judge, a panel with cassettes, agreement, calibration.

What the plugin and the CLI call::

    panel = JudgePanel(judges, registry, cassette_root, suite=spec.id, record_mode=mode)
    judgements = await panel.judge(Subject.of_scenario(spec, scenario, response),
                                   case_item(scenario.id, model, sample))
    verdict = decide(scenario.expect, judgements, principles=spec.principles_of(scenario))

    report = calibrate(spec, judges, cassette_root, mode, registry)   # spec-pytest calibrate
"""

from spec_pytest.judge.agreement import (
    PanelAgreement,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_counts,
    krippendorff_alpha,
    panel_agreement,
)
from spec_pytest.judge.answer import UnusableAnswer, answer_schema, read_answer
from spec_pytest.judge.calibrate import CalibrationItem, CalibrationReport, calibrate
from spec_pytest.judge.judge import DEFAULT_JUDGE_PARAMS, Judge, JudgeError
from spec_pytest.judge.panel import (
    JUDGES_DIR,
    JudgePanel,
    case_item,
    example_item,
    judge_cassette_path,
    model_slug,
)
from spec_pytest.judge.rubric import RUBRIC_VERSION, Prompt, Subject, build_prompt, enclosure_tag
from spec_pytest.judge.templates import RUBRICS, RubricTemplates
from spec_pytest.judge.text import TextJudge, judge_text

__all__ = [
    "DEFAULT_JUDGE_PARAMS",
    "JUDGES_DIR",
    "RUBRICS",
    "RUBRIC_VERSION",
    "CalibrationItem",
    "CalibrationReport",
    "Judge",
    "JudgeError",
    "JudgePanel",
    "PanelAgreement",
    "Prompt",
    "RubricTemplates",
    "Subject",
    "TextJudge",
    "UnusableAnswer",
    "answer_schema",
    "build_prompt",
    "calibrate",
    "case_item",
    "cohen_kappa",
    "enclosure_tag",
    "example_item",
    "fleiss_kappa",
    "fleiss_kappa_counts",
    "judge_cassette_path",
    "judge_text",
    "krippendorff_alpha",
    "model_slug",
    "panel_agreement",
    "read_answer",
]
