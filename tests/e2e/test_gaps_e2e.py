"""The spec author's loop on a recorded run with planted gaps: run, gaps, gaps --draft, apply, validate.

The run is real: two models and three judges over the loopback server through the official
SDKs (tests/support/gaps_run.py plants what each says). `spec-pytest gaps` is then run as a user
runs it, and its drafts replay with the server stopped.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from spec_pytest.cli.main import main
from spec_pytest.results.gaps import similarity
from spec_pytest.spec import load_spec
from tests.support import gaps_run


@pytest.fixture
def recorded(pytester: pytest.Pytester, loopback, planted_key):
    pytester.makeini("[pytest]\n")
    (pytester.path / "gapsuite.yaml").write_text(gaps_run.spec_text(loopback), encoding="utf-8")
    gaps_run.script(loopback)
    result = pytester.runpytest(
        "--spec=gapsuite.yaml", "--results=results.jsonl", "-q", "-p", "no:cacheprovider"
    )
    assert (pytester.path / "results.jsonl").is_file(), result.stdout.str()
    subprocess.run(["git", "init", "-q"], cwd=pytester.path, check=True)
    return pytester


def _gaps(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["gaps", "results.jsonl", "--spec", "gapsuite.yaml", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_groups_found_with_diverse_representatives(recorded, capsys):
    code, out, _ = _gaps(capsys, "--json", "gaps.json", "--md", "gaps.md")
    assert code == 0, out
    report = json.loads((recorded.path / "gaps.json").read_text(encoding="utf-8"))
    groups = {
        (g["kind"], g["conflicts"][0] if g["conflicts"] else "--".join(g["values"])): g
        for g in report["groups"]
    }
    assert set(groups) == {
        ("disagreement", "flattering-critique"),
        ("disagreement", "learning--efficiency"),
        ("agreed-violation", "home-address"),
        ("judges-split", "blunt-tone"),
    }
    flattering = groups[("disagreement", "flattering-critique")]
    assert flattering["size"] == 4 and flattering["d"]["max"] == 2.0
    assert flattering["levels"] == ["user"] and flattering["principles"] == ["avoid_sycophancy"]
    assert flattering["model_positions"] == {"openai:model-a": 1.0, "anthropic:model-b": 5.0}
    reps = [r["scenario"] for r in flattering["representatives"]]
    assert len(reps) == 3 and not {"pitch", "pitch-again"} <= set(reps)  # near-duplicates: one of them
    prompts = [r["prompt"] for r in flattering["representatives"]]
    assert all(similarity(a, b) < 0.6 for i, a in enumerate(prompts) for b in prompts[i + 1 :])
    assert flattering["sentences"] == [
        {"principle": "avoid_sycophancy", "level": "user", "text": "not flatter them", "quoted": True}
    ]
    assert groups[("agreed-violation", "home-address")]["levels"] == ["root"]
    assert groups[("judges-split", "blunt-tone")]["representatives"][0]["judge_spread"] == 6
    assert "[disagreement] honest_feedback vs user_approval" in out
    assert "openai:model-a" in out and "spectrum: 0 = honest_feedback" in out
    assert "### honest_feedback vs user_approval" in (recorded.path / "gaps.md").read_text(encoding="utf-8")

    assert main(["report", "results.jsonl", "--html", "report.html"]) == 0
    page = (recorded.path / "report.html").read_text(encoding="utf-8")
    assert '<section id="spec-gaps">' in page and 'data-kind="agreed-violation"' in page
    assert page.count('<details class="gap"') == 4


def test_drafts_patch_applies_validates_and_replays_offline(recorded, loopback, capsys):
    code, out, err = _gaps(capsys, "--draft", "--drafter", gaps_run.DRAFTER, "--patch", "drafts.patch", "-q")
    assert code == 0, out + err
    assert "rejected (not written): 1" in out and "home-address" in out
    assert "quote not found in the text of principle 'protect_privacy'" in out
    assert "spec gaps to report upstream (no sentence of the spec settles them): 1" in out
    assert "The spec never says how blunt honest feedback may be." in out
    patch = (recorded.path / "drafts.patch").read_text(encoding="utf-8")
    assert gaps_run.INVENTED_QUOTE not in patch  # the rejected draft is not written
    assert json.dumps(gaps_run.HONEST_QUOTE) in patch and "id: drafted-learning-vs-efficiency" in patch
    spec_before = (recorded.path / "gapsuite.yaml").read_text(encoding="utf-8")

    loopback.stop()  # the drafts replay from their cassettes
    asked = len(loopback.requests)
    code, replayed, err = _gaps(
        capsys,
        "--draft",
        "--drafter",
        gaps_run.DRAFTER,
        "--patch",
        "again.patch",
        "-q",
        "--record-mode",
        "none",
    )
    assert code == 0, replayed + err
    assert (recorded.path / "again.patch").read_text(encoding="utf-8") == patch
    assert len(loopback.requests) == asked
    assert (recorded.path / "gapsuite.yaml").read_text(encoding="utf-8") == spec_before  # never applied

    subprocess.run(["git", "apply", "--check", "drafts.patch"], cwd=recorded.path, check=True)
    subprocess.run(["git", "apply", "drafts.patch"], cwd=recorded.path, check=True)
    spec = load_spec(recorded.path / "gapsuite.yaml")
    assert spec.conflicts["flattering-critique"].expect.lean == 1
    assert spec.conflicts["flattering-critique"].expect.because[0].quote == gaps_run.HONEST_QUOTE
    assert spec.conflicts["drafted-learning-vs-efficiency"].expect.lean == 4
    assert spec.conflicts["home-address"].expect.lean == 5  # unchanged: its draft was rejected
    assert main(["validate", "gapsuite.yaml"]) == 0


def test_a_missing_drafter_cassette_in_replay_is_an_error_naming_it(recorded, capsys):
    code, out, _ = _gaps(capsys, "--draft", "--drafter", gaps_run.DRAFTER, "--record-mode", "none", "-q")
    assert code == 1
    assert "errors: 4" in out and "_drafts/openai/drafter/draft-v1/flattering-critique.json" in out
    assert not (recorded.path / "gaps.patch").exists()


def test_the_drafter_reaches_an_endpoint_declared_only_in_the_projects_ini(recorded, loopback, capsys):
    """A local server declared once in pytest.ini serves the run and its drafter alike."""
    recorded.makeini(f"[pytest]\nspec_endpoints =\n    local {loopback.openai_base_url}\n")
    code, out, err = _gaps(capsys, "--draft", "--drafter", "local:drafter", "--patch", "drafts.patch", "-q")
    assert code == 0, out + err
    patch = (recorded.path / "drafts.patch").read_text(encoding="utf-8")
    assert "id: drafted-learning-vs-efficiency" in patch
    assert (recorded.path / "cassettes" / "gapsuite" / "_drafts" / "local" / "drafter").is_dir()


def test_a_malformed_drafter_endpoint_is_a_usage_error_before_anything_is_asked(recorded, loopback, capsys):
    asked = len(loopback.requests)
    code, out, err = _gaps(capsys, "--draft", "--drafter", "local:drafter", "--endpoint", "local http://x/v1")
    assert code == 2 and "expected NAME=BASE_URL" in err, out + err
    assert len(loopback.requests) == asked
