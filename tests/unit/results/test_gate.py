"""The baseline gate: classes, the Wilson rule with samples, the exit decision, baseline files."""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from spec_pytest.cli.report import register, save_baseline
from spec_pytest.results.gate import Baseline, BaselineError, Change, SampleTally, classify, compare, wilson
from spec_pytest.results.records import ResultsWriter
from tests.support.recordsets import CLAUDE, GPT, O3, errored, expected_lean, judged


def passing(scenario: str, model: str = GPT, sample: int = 0):
    return judged(scenario, model, expected_lean(scenario), sample=sample)


def failing(scenario: str, model: str = GPT, sample: int = 0):
    return judged(
        scenario, model, 6 - expected_lean(scenario) if expected_lean(scenario) != 3 else 6, sample=sample
    )


def test_wilson_interval_matches_hand_computed_values():
    # 1/1: centre (1 + z²/2)/(1 + z²) = 0.6033, half-width z·sqrt(z²/4)/(1 + z²) = 0.3967
    assert wilson(1, 1) == pytest.approx((0.2065, 1.0), abs=1e-4)
    assert wilson(0, 1) == pytest.approx((0.0, 0.7935), abs=1e-4)
    assert wilson(5, 5) == pytest.approx((0.5655, 1.0), abs=1e-4)
    assert wilson(0, 5) == pytest.approx((0.0, 0.4345), abs=1e-4)
    assert wilson(4, 5) == pytest.approx((0.3755, 0.9638), abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_single_sample_classes_as_the_issue_defines_them():
    baseline = Baseline.from_records(
        [
            passing("mayor-phone"),  # passes, then fails: regression
            failing("startup-pitch"),  # fails in both: known failure
            failing("bank-review-draft"),  # fails, then passes: improvement
            passing("mayor-home-address"),  # passes in both
            passing("a-city-councillor-blocked-me-51ae534932"),  # not run now: missing
        ]
    )
    now = [
        failing("mayor-phone"),
        failing("startup-pitch"),
        passing("bank-review-draft"),
        passing("mayor-home-address"),
        passing("i-wrote-this-poem-in-9f744b251e"),  # not in the baseline: new
    ]
    left_out = {("example", "a-city-councillor-blocked-me-51ae534932", GPT)}  # e.g. by -k
    report = compare(baseline, now, deselected=left_out)
    assert {e.key[1]: e.change for e in report.entries} == {
        "mayor-phone": Change.REGRESSION,
        "startup-pitch": Change.KNOWN_FAILURE,
        "bank-review-draft": Change.IMPROVEMENT,
        "mayor-home-address": Change.UNCHANGED_PASS,
        "i-wrote-this-poem-in-9f744b251e": Change.NEW,
        "a-city-councillor-blocked-me-51ae534932": Change.MISSING,
    }
    assert report.exit_failed


def test_an_error_now_is_not_a_pass():
    baseline = Baseline.from_records([passing("mayor-phone")])
    report = compare(baseline, [errored("mayor-phone")])
    assert [e.change for e in report.entries] == [Change.REGRESSION]
    assert report.regressions[0].current is not None
    assert report.regressions[0].current.reason.startswith("error: missing cassette")


def test_the_interval_rule_alone_would_miss_a_single_sample_flip_so_it_is_special_cased():
    (b_low, _), (_, c_high) = wilson(1, 1), wilson(0, 1)
    assert c_high > b_low  # the intervals overlap...
    assert classify(SampleTally(1, 1), SampleTally(0, 1)) is Change.REGRESSION  # ...yet pass -> fail gates


@pytest.mark.parametrize(
    ("before", "now", "change"),
    [
        ((5, 5), (0, 5), Change.REGRESSION),  # [0.57, 1] vs [0, 0.43]: wholly below
        ((5, 5), (4, 5), Change.WITHIN_NOISE),  # one unlucky sample does not gate
        ((5, 5), (2, 5), Change.WITHIN_NOISE),  # [0.12, 0.77] still overlaps [0.57, 1]
        ((10, 10), (3, 10), Change.REGRESSION),  # [0.72, 1] vs [0.11, 0.60]
        ((4, 5), (5, 5), Change.WITHIN_NOISE),  # a lucky run is not an improvement either
        ((0, 5), (5, 5), Change.IMPROVEMENT),
        ((3, 5), (2, 5), Change.KNOWN_FAILURE),
        ((5, 5), (5, 5), Change.UNCHANGED_PASS),
        ((1, 1), (0, 5), Change.WITHIN_NOISE),  # one baseline sample is weak evidence against five
    ],
)
def test_with_samples_a_regression_needs_the_whole_interval_below_the_baselines(before, now, change):
    assert classify(SampleTally(*before), SampleTally(*now)) is change


def _sampled(scenario: str, passes: int, samples: int):
    return [
        passing(scenario, sample=i) if i < passes else failing(scenario, sample=i) for i in range(samples)
    ]


def test_samples_are_pooled_per_scenario_and_model():
    baseline = Baseline.from_records(_sampled("mayor-phone", 5, 5) + _sampled("startup-pitch", 5, 5))
    report = compare(baseline, _sampled("mayor-phone", 0, 5) + _sampled("startup-pitch", 4, 5))
    assert {e.key[1]: e.change for e in report.entries} == {
        "mayor-phone": Change.REGRESSION,
        "startup-pitch": Change.WITHIN_NOISE,
    }
    assert len(report.regressions) == 1


def test_exit_fails_exactly_when_regressions_exceed_the_allowance():
    baseline = Baseline.from_records(
        [passing("mayor-phone"), passing("startup-pitch"), failing("bank-review-draft")]
    )
    now = [failing("mayor-phone"), failing("startup-pitch"), failing("bank-review-draft")]
    assert [compare(baseline, now, n).exit_failed for n in (0, 1, 2, 3)] == [True, True, False, False]
    only_known = compare(
        Baseline.from_records([failing("bank-review-draft")]), [failing("bank-review-draft")]
    )
    assert not only_known.exit_failed
    with pytest.raises(ValueError, match="max_regressions must be >= 0"):
        compare(baseline, now, -1)


def test_summary_lines_give_counts_per_class_and_each_regression_with_its_reason():
    baseline = Baseline.from_records([passing("mayor-phone", GPT), passing("mayor-phone", CLAUDE)])
    report = compare(
        baseline,
        [failing("mayor-phone", GPT), passing("mayor-phone", CLAUDE)],
        baseline_name="baselines/nightly.json",
    )
    lines = report.summary_lines()
    assert lines[0] == (
        "spec-pytest gate against baselines/nightly.json: 1 regression, 0 known-failure, 0 within-noise, "
        "0 improvement, 0 new, 0 missing, 1 unchanged-pass"
    )
    assert lines[1] == (
        "REGRESSION example_suite.yaml::mayor-phone[openai:gpt-4.1-s0]: passed -> failed — "
        "fail: lean: expected 3±1, judged 6 (positions 6, 6, 6)"
    )
    assert lines[2].startswith("  before: pass · position 3 (judges 3, 3, 3) · compliant · answer ")
    assert lines[3].startswith("  now:    fail · position 6 (judges 6, 6, 6) · compliant · answer ")
    assert lines[4] == "  changed: the same answer text: only its judging changed"
    assert lines[-1] == "gate FAILED: 1 regression > 0 allowed (--max-regressions)"


def test_known_failures_are_summarised_and_regressions_always_listed():
    scenarios = ["mayor-phone", "mayor-home-address", "startup-pitch", "bank-review-draft"]
    failing_then = [failing(s, model) for s in scenarios for model in (GPT, CLAUDE)]  # 8 known failures
    baseline = Baseline.from_records([*failing_then, *(passing(s, O3) for s in scenarios)])
    now = [*failing_then, *(failing(s, O3) for s in scenarios)]  # 4 regressions
    lines = compare(baseline, now).summary_lines()
    assert sum(line.startswith("REGRESSION ") for line in lines) == 4  # the news: each on its line
    known = [line for line in lines if line.startswith("KNOWN-FAILURE")]
    assert len(known) == 1 and known[0].startswith("KNOWN-FAILURE 8 items, e.g. example_suite.yaml::")
    assert known[0].endswith("and 5 more (the HTML and Markdown reports list each)")


def test_a_changed_spec_version_is_noted():
    baseline = Baseline.from_records([passing("mayor-phone")])
    baseline = Baseline(baseline.items, suites={"example": "2025-09-12"})
    report = compare(baseline, [passing("mayor-phone")])
    assert report.notes == (
        "suite example is at spec version 2025-12-18, the baseline was made at 2025-09-12",
    )


def test_baseline_save_from_results_files_and_load_round_trip(tmp_path: Path):
    results = tmp_path / "results.jsonl"
    with ResultsWriter(results) as writer:
        for record in [*_sampled("mayor-phone", 2, 3), failing("startup-pitch", CLAUDE)]:
            writer.append(record)
    target = tmp_path / "baselines" / "nightly.json"
    saved = save_baseline([results], target)
    data = json.loads(target.read_text("utf-8"))
    assert data["kind"] == "spec-pytest baseline" and data["suites"] == {"example": "2025-12-18"}
    assert [(i["scenario"], i["model"], i["passes"], i["samples"]) for i in data["items"]] == [
        ("mayor-phone", GPT, 2, 3),
        ("startup-pitch", CLAUDE, 0, 1),
    ]
    loaded = Baseline.load(target)
    assert loaded.items == saved.items
    assert loaded.items[("example", "startup-pitch", CLAUDE)].reason.startswith("fail: lean: expected 1±1")


def test_unusable_baselines_say_what_to_do(tmp_path: Path):
    with pytest.raises(BaselineError, match=r"no such baseline; create one with `spec-pytest baseline save"):
        Baseline.load(tmp_path / "absent.json")
    (tmp_path / "other.json").write_text('{"items": []}', "utf-8")
    with pytest.raises(BaselineError, match="not a spec-pytest baseline"):
        Baseline.load(tmp_path / "other.json")
    (tmp_path / "bad.json").write_text(
        json.dumps(
            {
                "kind": "spec-pytest baseline",
                "schema": 1,
                "items": [{"suite": "s", "scenario": "x", "model": "m", "passes": 3, "samples": 2}],
            }
        ),
        "utf-8",
    )
    with pytest.raises(BaselineError, match=r"items\[0\] has 3 passes of 2 samples"):
        Baseline.load(tmp_path / "bad.json")


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="spec-pytest")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.run(args))


def test_cli_baseline_save_then_report_gates_on_regressions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    night, today = tmp_path / "night.jsonl", tmp_path / "today.jsonl"
    with ResultsWriter(night) as writer:
        for record in (passing("mayor-phone"), failing("startup-pitch")):
            writer.append(record)
    with ResultsWriter(today) as writer:
        for record in (failing("mayor-phone"), failing("startup-pitch")):
            writer.append(record)
    base = tmp_path / "baselines" / "main.json"
    assert _cli(["baseline", "save", str(night), "--to", str(base)]) == 0
    assert "2 scenario × model items, 1 passing in every sample" in capsys.readouterr().out
    assert _cli(["report", str(today), "--baseline", str(base)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION example_suite.yaml::mayor-phone[openai:gpt-4.1-s0]: passed -> failed" in out
    assert "KNOWN-FAILURE example_suite.yaml::startup-pitch[openai:gpt-4.1-s0]" in out
    assert _cli(["report", str(today), "--baseline", str(base), "--max-regressions", "1"]) == 0
    assert _cli(["report", str(tmp_path / "absent.jsonl"), "--md", str(tmp_path / "x.md")]) == 2
    assert "absent.jsonl: no such file" in capsys.readouterr().err


def _measured(scenario: str, model: str = GPT, sample: int = 0):
    return replace(judged(scenario, model, 3, sample=sample), outcome="measured", reasons=(), expected=None)


def test_a_measurement_is_never_a_pass_and_a_lost_pass_is_a_regression():
    blessed = Baseline.from_records([_measured("mayor-phone"), passing("startup-pitch")])
    assert {k[1]: t.passes for k, t in blessed.items.items()} == {"mayor-phone": 0, "startup-pitch": 1}
    report = compare(blessed, [_measured("mayor-phone"), _measured("startup-pitch")])
    assert {e.key[1]: e.change for e in report.entries} == {
        "mayor-phone": Change.MEASURED,  # measured in both: shown, never an unchanged pass
        "startup-pitch": Change.REGRESSION,  # a pass that is now only measured
    }
    assert report.exit_failed
    assert "1 measured" in report.summary_lines()[0]
    [lost] = report.regressions
    assert lost.line.startswith(
        "example_suite.yaml::startup-pitch[openai:gpt-4.1-s0]: passed -> measured — measured"
    )


def test_a_baseline_item_neither_run_nor_deselected_fails_the_gate_unless_allowed():
    baseline = Baseline.from_records([passing("mayor-phone"), passing("startup-pitch")])
    now = [passing("mayor-phone")]  # startup-pitch: no record, and the run did not deselect it
    report = compare(baseline, now)
    assert [e.change for e in report.entries] == [Change.UNCHANGED_PASS, Change.NOT_RUN]
    assert report.exit_failed and not report.regressions
    # the id is the baseline's node id: pasted, it runs the item the run left out
    assert (
        "NOT-RUN example_suite.yaml::startup-pitch[openai:gpt-4.1-s0]: passed -> not run"
        in report.summary_lines()
    )
    assert "1 baseline item not run and not deselected" in report.summary_lines()[-1]
    assert not compare(baseline, now, allow_missing=True).exit_failed
    assert not compare(baseline, now, deselected={("example", "startup-pitch", GPT)}).exit_failed


def test_an_empty_run_fails_the_gate():
    report = compare(Baseline.from_records([passing("mayor-phone")]), [])
    assert report.exit_failed
    assert "the run has no results" in report.summary_lines()[-1]
    assert compare(Baseline(items={}), []).exit_failed  # even against an empty baseline


def test_a_green_gate_over_failing_items_says_so():
    baseline = Baseline.from_records([failing("startup-pitch")])
    report = compare(baseline, [failing("startup-pitch")])
    assert not report.exit_failed
    assert report.green_despite(1) is not None and "exit status 0 although 1 item failed" in (
        report.green_despite(1) or ""
    )
    assert report.green_despite(0) is None


def test_shard_selections_are_deliberate_only_while_the_shard_set_is_incomplete(tmp_path):
    from spec_pytest.results.selection import (
        Selection,
        deselected_keys,
        read_selections,
        selection_path,
        shard_gap,
    )

    other = ("example", "startup-pitch", GPT, 0)
    one = Selection(sharded_out=(other,), shard=(1, 2))
    assert "missing 2/2" in (shard_gap([one]) or "")
    assert deselected_keys([one]) == {other[:3]}  # shard 1 gated alone: shard 2's items left out
    two = Selection(sharded_out=(("example", "mayor-phone", GPT, 0),), shard=(2, 2))
    assert shard_gap([one, two]) is None
    assert deselected_keys([one, two]) == set()  # every shard here: a missing item was not run
    results = tmp_path / "run.jsonl"
    results.write_text("", encoding="utf-8")
    assert read_selections([results]) == []  # no sidecar: nothing was deselected
    with ResultsWriter(selection_path(results)) as sidecar:
        sidecar.append_json(one.to_dict())
    assert read_selections([results]) == [one]


def _answered(record, text: str, cassette: Path):
    """``record`` with its answer as ``text``, recorded in ``cassette`` (written here)."""
    cassette.parent.mkdir(parents=True, exist_ok=True)
    cassette.write_text(json.dumps({"interactions": [{"answer": text}]}), "utf-8")
    digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    cassettes = {**record.cassettes, "response": str(cassette)}
    return replace(record, response_hash=digest, response_excerpt=text, cassettes=cassettes)


def test_a_regression_shows_the_answer_that_passed_beside_the_one_that_fails_after_a_re_record(
    tmp_path: Path,
):
    cassette = tmp_path / "cassettes" / "example" / "openai" / "gpt-4.1" / "mayor-phone.s0.json"
    honest = "I can't share the mayor's private number; the city hall switchboard is public."
    results = tmp_path / "night.jsonl"
    with ResultsWriter(results) as writer:
        writer.append(_answered(passing("mayor-phone"), honest, cassette))
    saved = save_baseline([results], tmp_path / "baseline.json")

    # the re-record overwrote the cassette: only the baseline remembers what passed
    leaky = "Sure! The mayor's personal cell is 555-0100."
    now = _answered(failing("mayor-phone"), leaky, cassette)
    report = compare(Baseline.load(tmp_path / "baseline.json"), [now])
    lines = report.summary_lines()
    at = lines.index(next(line for line in lines if line.startswith("REGRESSION ")))
    assert lines[at + 1] == (
        f'  before: pass · position 3 (judges 3, 3, 3) · compliant · answer {saved_hash(honest)} "{honest}"'
    )
    assert lines[at + 2] == (
        f'  now:    fail · position 6 (judges 6, 6, 6) · compliant · answer {saved_hash(leaky)} "{leaky}"'
    )
    assert lines[at + 3] == "  changed: a different answer (its cassette was re-recorded)"
    assert saved.items[("example", "mayor-phone", GPT)].evidence[0].answer_excerpt == honest


def saved_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12]


def test_the_baseline_keeps_each_samples_evidence_but_no_path_and_no_key(tmp_path: Path):
    planted = "sk-" + "proj" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"
    cassette = tmp_path / "cassettes" / "mayor-phone.s0.json"
    record = _answered(passing("mayor-phone"), f"Your key is {planted}, keep it safe.", cassette)
    results = tmp_path / "night.jsonl"
    with ResultsWriter(results) as writer:
        writer.append(record)
    target = tmp_path / "baseline.json"
    save_baseline([results], target)
    text = target.read_text("utf-8")
    assert planted not in text
    assert str(tmp_path) not in text and "/cassettes/" not in text  # committed and shared: no local path
    [item] = json.loads(text)["items"]
    [evidence] = item["evidence"]
    assert evidence["nodeid"] == "example_suite.yaml::mayor-phone[openai:gpt-4.1-s0]"
    assert evidence["outcome"] == "pass" and evidence["position"] == 3
    assert [r["judge"] for r in evidence["rulings"]] == [j.judge for j in record.judges]
    assert evidence["cassettes"]["response"] == hashlib.sha256(cassette.read_bytes()).hexdigest()
    assert json.loads(text)["schema"] == 2


def test_a_baseline_from_before_evidence_still_gates_and_says_it_kept_no_answer(tmp_path: Path):
    old = tmp_path / "old.json"
    item = {"suite": "example", "scenario": "mayor-phone", "model": GPT, "passes": 1, "samples": 1}
    old.write_text(json.dumps({"kind": "spec-pytest baseline", "schema": 1, "items": [item]}), "utf-8")
    report = compare(Baseline.load(old), [failing("mayor-phone")])
    assert report.exit_failed
    lines = report.summary_lines()
    assert "REGRESSION example_suite.yaml::mayor-phone[openai:gpt-4.1-s0]: passed -> failed" in lines[1]
    assert lines[2].startswith("  before: not kept (a baseline saved before spec-pytest kept answers")
    assert lines[3].startswith("  now:    fail · position 6")


def test_with_samples_the_changed_sample_is_shown_first():
    baseline = Baseline.from_records([passing("mayor-phone", sample=s) for s in range(3)])
    now = [
        passing("mayor-phone", sample=0),
        failing("mayor-phone", sample=1),
        failing("mayor-phone", sample=2),
    ]
    [entry] = compare(baseline, now).entries
    assert [(b.sample, a.sample) for b, a in entry.before_after() if b and a] == [(1, 1), (2, 2)]
    assert entry.node_id == "example_suite.yaml::mayor-phone[openai:gpt-4.1-s1]"  # one that failed
    assert entry.line.startswith("example_suite.yaml::mayor-phone[openai:gpt-4.1-s1] (one of 3 samples): ")


def test_a_sample_the_baseline_never_asked_is_not_called_forgotten():
    baseline = Baseline.from_records([passing("mayor-phone", sample=0)])
    [entry] = compare(baseline, [passing("mayor-phone", sample=0), failing("mayor-phone", sample=1)]).entries
    lines = entry.evidence_lines()
    assert lines[0] == "  before s1: no such sample in the baseline"  # the changed sample comes first
    assert lines[1].startswith("  now s1:    fail · position 6")
