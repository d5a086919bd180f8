"""The pytest plugin, exercised through real pytest runs (pytester): collection, ids, markers."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.paths import DATA, ROOT


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Path:
    """The example suite and its bank copied into a fresh pytester directory."""
    for name in ("example_suite.yaml", "example_bank.jsonl"):
        shutil.copy(DATA / name, pytester.path / name)
    return pytester.path / "example_suite.yaml"


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line and not line.startswith(("ERROR", "FAILED"))]


def test_one_item_per_scenario_model_and_sample_with_readable_ids(pytester, suite):
    result = pytester.runpytest("--spec=example_suite.yaml", "--collect-only", "-q")
    result.assert_outcomes()
    ids = collected(result)
    assert ids[0] == "example_suite.yaml::public-figure-contact::mayor-phone[openai:gpt-4.1-s0]"
    assert "example_suite.yaml::flattering-critique::bank-review-draft[openai:gpt-4.1-s0]" in ids
    assert "example_suite.yaml::present_perspectives::argue-three-stories[openai:gpt-4.1-s0]" in ids
    assert len(ids) == 7

    result = pytester.runpytest(
        "--spec=example_suite.yaml",
        "--collect-only",
        "-q",
        "--model=openai:gpt-4.1",
        "--model=anthropic:claude-sonnet-4-5",
        "--samples=3",
    )
    ids = collected(result)
    assert len(ids) == 7 * 2 * 3
    assert "example_suite.yaml::public-figure-contact::mayor-phone[anthropic:claude-sonnet-4-5-s2]" in ids


def test_spec_alone_does_not_collect_the_default_test_tree(pytester, suite):
    pytester.makepyfile(test_other="def test_other():\n    pass\n")
    only_spec = collected(pytester.runpytest("--spec=example_suite.yaml", "--collect-only", "-q"))
    assert not any("test_other" in line for line in only_spec)
    both = collected(pytester.runpytest("--spec=example_suite.yaml", "test_other.py", "--collect-only", "-q"))
    assert "test_other.py::test_other" in both and len(both) == 8


def test_ini_spec_files_and_bare_names_in_the_suites_dir(pytester, suite):
    (pytester.path / "spec_suites").mkdir()
    shutil.move(suite, pytester.path / "spec_suites" / "example_suite.yaml")
    shutil.move(pytester.path / "example_bank.jsonl", pytester.path / "spec_suites" / "example_bank.jsonl")
    ids = collected(pytester.runpytest("--spec=example_suite", "--collect-only", "-q"))
    assert ids and ids[0].startswith("spec_suites/example_suite.yaml::")
    pytester.makeini("[pytest]\nspec_files = spec_suites/example_suite.yaml\n")
    assert len(collected(pytester.runpytest("spec_suites", "--collect-only", "-q"))) == 7


def test_markers_select_by_value_principle_level_and_nudge_under_strict_markers(pytester, suite):
    def selected(*args: str) -> list[str]:
        result = pytester.runpytest(
            "--spec=example_suite.yaml", "--collect-only", "-q", "--strict-markers", *args
        )
        assert result.ret == 0, result.outlines
        return [line.split("::")[-1].split("[")[0] for line in collected(result)]

    assert selected("-m", "value_personal_privacy and nudge_neutral") == ["mayor-phone"]
    assert set(selected("-m", "principle_avoid_sycophancy")) == {
        "startup-pitch",
        "i-wrote-this-poem-in-9f744b251e",
        "bank-review-draft",
    }
    assert selected("-m", "level_user and not conflict_flattering_critique") == ["argue-three-stories"]
    assert selected("-k", "honest_feedback and pitch") == ["startup-pitch"]
    assert selected("-k", "mayor") == ["mayor-phone", "mayor-home-address"]


def test_invalid_spec_is_one_collection_error_without_traceback(pytester):
    (pytester.path / "bad.yaml").write_text(
        "spec: bad\nlevels: [root]\nprinciples:\n  - id: p\n    levle: root\n    text: t\n", encoding="utf-8"
    )
    result = pytester.runpytest("--spec=bad.yaml")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "bad.yaml:5:5: unknown key 'levle' in 'principles[0]'; did you mean 'level'?" in output
    assert "Traceback" not in output and "spec_pytest/" not in output


def test_spec_without_model_asks_for_one(pytester, suite):
    text = suite.read_text(encoding="utf-8").replace("  models: [openai:gpt-4.1]\n", "")
    suite.write_text(text, encoding="utf-8")
    result = pytester.runpytest("--spec=example_suite.yaml", "--collect-only")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*names no model to ask: pass --model PROVIDER:MODEL*"])
    assert (
        len(
            collected(
                pytester.runpytest(
                    "--spec=example_suite.yaml", "--collect-only", "-q", "--model=openai:gpt-4o"
                )
            )
        )
        == 7
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--spec=missing.yaml"], "--spec missing.yaml: no such spec file"),
        (["--spec=example_suite.yaml", "--model=gpt-4.1"], "model reference 'gpt-4.1' is not PROVIDER:MODEL"),
        (["--spec=example_suite.yaml", "--samples=0"], "--samples must be at least 1, got 0"),
    ],
)
def test_usage_errors(pytester, suite, args, message):
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_running_without_keys_or_cassettes_is_an_error_per_item_never_a_pass(pytester, suite, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = pytester.runpytest("--spec=example_suite.yaml", "-k", "mayor-phone")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["openai:gpt-4.1: no API key: set the environment variable OPENAI_API_KEY*"])
    assert "Traceback" not in result.stdout.str()


def test_collection_under_xdist(pytester, suite):
    result = pytester.runpytest("--spec=example_suite.yaml", "-n", "2", "-m", "value_personal_privacy")
    result.assert_outcomes(errors=3)
    bad = pytester.path / "bad.yaml"
    bad.write_text("spec: bad\nlevels: [root]\nprinciples: []\n", encoding="utf-8")
    result = pytester.runpytest("--spec=bad.yaml", "-n", "2")
    assert "bad.yaml:3:13: 'principles' needs at least 1 item(s)" in result.stdout.str()
    assert "Traceback" not in result.stdout.str()
    assert result.ret != 0


def test_rerun_by_node_id_and_last_failed(pytester, suite):
    node = "example_suite.yaml::flattering-critique::startup-pitch[openai:gpt-4.1-s0]"
    result = pytester.runpytest("--spec=example_suite.yaml", node)
    result.assert_outcomes(errors=1)
    result = pytester.runpytest("--spec=example_suite.yaml", "--lf", "--collect-only", "-q")
    assert collected(result) == [node]


def test_a_spec_file_named_as_a_path_or_a_node_id_is_collected_without_spec(pytester, suite):
    with_option = collected(pytester.runpytest("--spec=example_suite.yaml", "--collect-only", "-q"))
    assert collected(pytester.runpytest("example_suite.yaml", "--collect-only", "-q")) == with_option
    node = "example_suite.yaml::flattering-critique::startup-pitch[openai:gpt-4.1-s0]"
    assert node in with_option
    alone = pytester.runpytest(node, "-rA")  # an id the run printed, pasted back by itself
    alone.assert_outcomes(errors=1)  # no key here: the item itself, not "not found"
    assert f"ERROR {node}" in alone.stdout.str()
    # a YAML file that is not a spec is not taken for one
    (pytester.path / "other.yaml").write_text("name: not a spec\nspec_like: false\n", encoding="utf-8")
    other = pytester.runpytest("other.yaml", "--collect-only", "-q")
    assert (
        other.ret == pytest.ExitCode.USAGE_ERROR and "not found" in other.stderr.str()
    )  # pytest's own answer


def test_a_spec_outside_the_rootdir_gets_ids_that_paste_back(pytester, suite, tmp_path_factory):
    pytester.makeini("[pytest]\n")  # the rootdir: here; the spec lives elsewhere
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    for name in ("example_suite.yaml", "example_bank.jsonl"):
        shutil.move(pytester.path / name, elsewhere / name)
    ids = collected(pytester.runpytest(f"--spec={elsewhere / 'example_suite.yaml'}", "--collect-only", "-q"))
    assert len(ids) == 7 and all(i.startswith("../") and not i.startswith("::") for i in ids)
    again = collected(pytester.runpytest(ids[1], "--collect-only", "-q"))
    # found again; pytest names it from the rootdir it picks for that argument (no ini above it)
    assert len(again) == 1 and again[0].endswith(ids[1].removeprefix("../"))


def test_markers_lists_the_specs_own_markers(pytester, suite):
    shown = pytester.runpytest("--spec=example_suite.yaml", "--markers").stdout.str()
    for marker in ("conflict_flattering_critique", "value_personal_privacy", "level_root", "spec_example"):
        assert f"@pytest.mark.{marker}: spec-pytest" in shown
    assert "@pytest.mark.judge_check:" in shown and "@pytest.mark.measured:" in shown
    assert "value_personal_privacy" not in pytester.runpytest("--markers").stdout.str()  # no spec, none


def test_real_suites_collect_offline_by_bare_name(pytester, monkeypatch):
    root = ROOT
    shutil.copytree(root / "spec_suites", pytester.path / "spec_suites")
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    openai = collected(
        pytester.runpytest("--spec=openai_modelspec", "--collect-only", "-q", "--strict-markers")
    )
    assert len(openai) >= 300
    assert all(line.startswith("spec_suites/openai_modelspec.yaml::") for line in openai)
    constitution = collected(pytester.runpytest("--spec=anthropic_constitution", "--collect-only", "-q"))
    assert len(constitution) >= 15
    root_level = pytester.runpytest("--spec=openai_modelspec", "--collect-only", "-q", "-m", "level_root")
    assert 0 < len(collected(root_level)) < len(openai)


def test_runs_leave_no_private_results_behind(pytester, suite, monkeypatch, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("scratch")
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    pytester.runpytest("test_plain.py").assert_outcomes(passed=1)
    pytester.runpytest("--spec=example_suite.yaml", "-k", "mayor-phone").assert_outcomes(errors=1)
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("recording", ["active", "disabled"])
def test_record_mode_option_exists_with_or_without_pytest_recording(pytester, suite, recording):
    extra = ["-p", "no:recording"] if recording == "disabled" else []
    result = pytester.runpytest_subprocess(
        *extra, "--spec=example_suite.yaml", "--record-mode=none", "-k", "mayor-phone"
    )
    result.assert_outcomes(errors=1)  # replay-only: the missing cassette is an error, not a call
    assert "no cassette at " in result.stdout.str() and "record mode 'none'" in result.stdout.str()
    plugins = pytester.runpytest_subprocess(*extra, "--help").stdout.str()
    assert "--record-mode" in plugins


def test_scenarios_sharing_a_conflict_keep_their_own_nudge_principles_and_measured_marks(pytester):
    """Items whose scenarios look alike share one set of marks; the ones that differ (a nudge,
    a principle of their own, no expectation) must still select apart with -m and -k."""
    rows = []
    for n in range(30):
        nudge = ["neutral", "honesty", "kindness"][n % 3]
        extra = "principles: [be_kind], " if n % 5 == 0 else ""
        rows.append(
            f"  - {{id: s{n}, conflict: c, nudge: {nudge}, {extra}"
            f"messages: [{{role: user, content: Q{n}?}}]}}"
        )
    rows += [
        f"  - {{id: m{n}, values: [honesty, kindness], messages: [{{role: user, content: M{n}?}}]}}"
        for n in range(4)
    ]
    pytester.makefile(
        ".yaml",
        spec="\n".join(
            [
                "spec: many",
                "levels: [root, user]",
                "defaults: {models: ['openai:gpt-4.1']}",
                "principles:",
                "  - {id: be_honest, level: root, text: The assistant should not lie.}",
                "  - {id: be_kind, level: user, text: The assistant should be kind.}",
                "values: {honesty: Saying what is true., kindness: Sparing feelings.}",
                "conflicts:",
                "  - id: c",
                "    values: [honesty, kindness]",
                "    principles: [be_honest]",
                "    expect:",
                "      {compliance: compliant, because: [{principle: be_honest, quote: should not lie}]}",
                "scenarios:",
                *rows,
            ]
        )
        + "\n",
    )

    def selected(*args: str) -> set[str]:
        result = pytester.runpytest("--spec=spec.yaml", "--collect-only", "-q", "--strict-markers", *args)
        assert result.ret == 0, result.outlines
        return {line.split("::")[-1].split("[")[0] for line in collected(result)}

    assert selected("-m", "nudge_neutral") == {f"s{n}" for n in range(0, 30, 3)}
    assert selected("-m", "nudge_kindness and conflict_c") == {f"s{n}" for n in range(2, 30, 3)}
    assert selected("-m", "principle_be_kind") == {f"s{n}" for n in range(0, 30, 5)}
    assert selected("-m", "measured") == {f"m{n}" for n in range(4)}
    assert selected("-m", "level_root") == {f"s{n}" for n in range(30)}  # be_honest outranks be_kind
    assert selected("-k", "be_kind and not s10") == {"s0", "s5", "s15", "s20", "s25"}
    assert len(selected("-m", "spec_many and value_honesty")) == 34
