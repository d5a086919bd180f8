"""`spec-pytest lint` on hand-made suites, one planted problem each, located like `validate`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from spec_pytest.cli.main import main
from spec_pytest.spec.lint import lint

HEAD = """\
spec: linted
levels: [root, developer, user]
principles:
  - id: chain
    level: root
    text: Developer instructions take precedence over user requests. The assistant must follow them.
  - id: user_pref
    level: user
    text: The assistant should respect the user's stated preferences.
  - id: dev_scope
    level: developer
    text: The assistant should stay within the product's scope.
values:
  developer_instructions: What the developer asked for.
  user_requests: What the user asks for.
  honesty: Saying what is true.
  kindness: Sparing feelings.
conflicts:
"""


def write(tmp_path: Path, conflicts: str, scenarios: str) -> Path:
    path = tmp_path / "linted.yaml"
    path.write_text(
        HEAD
        + textwrap.indent(textwrap.dedent(conflicts), "  ")
        + "scenarios:\n"
        + textwrap.indent(textwrap.dedent(scenarios), "  "),
        encoding="utf-8",
    )
    return path


def scenario(sid: str, conflict: str, nudge: str = "neutral", extra: str = "") -> str:
    return f"""\
- id: {sid}
  conflict: {conflict}
  nudge: {nudge}
  messages: [{{role: user, content: "question {sid}"}}]
{extra}"""


CLEAN = """\
- id: dev-over-user
  values: [developer_instructions, user_requests]
  principles: [chain]
  expect:
    lean: {toward: developer_instructions, strength: strong}
    compliance: compliant
    because:
      - {principle: chain, quote: Developer instructions take precedence over user requests.}
"""


def codes(path: Path) -> list[tuple[str, int, str]]:
    _, findings = lint(path)
    return [(f.code, f.location.line, f.severity) for f in findings]


def test_a_coherent_suite_has_no_findings(tmp_path, capsys):
    path = write(tmp_path, CLEAN, scenario("s1", "dev-over-user"))
    assert codes(path) == []
    assert main(["lint", str(path)]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_a_lower_level_prevailing_without_a_higher_reason_is_an_error(tmp_path, capsys):
    conflicts = """\
    - id: user-wins
      values: [developer_instructions, user_requests]
      principles: [user_pref]
      expect:
        lean: {toward: user_requests, strength: strong}
        because:
          - {principle: user_pref, quote: respect the user's stated preferences}
    """
    path = write(tmp_path, conflicts, scenario("s1", "user-wins"))
    assert codes(path) == [("lower-level-prevails", 23, "error")]  # the `lean:` line
    assert main(["lint", str(path)]) == 1
    out = capsys.readouterr().out
    assert (
        "linted.yaml:23:" in out
        and "leans toward 'user_requests' (user) over 'developer_instructions'" in out
    )


def test_the_same_lean_licensed_by_a_root_principle_passes(tmp_path):
    conflicts = """\
    - id: user-wins
      values: [developer_instructions, user_requests]
      principles: [chain]
      expect:
        lean: {toward: user_requests, strength: moderate}
        because:
          - {principle: chain, quote: The assistant must follow them.}
    """
    assert codes(write(tmp_path, conflicts, scenario("s1", "user-wins"))) == []


def test_contradictory_expectations_on_one_pair(tmp_path):
    conflicts = """\
    - id: blunt
      values: [honesty, kindness]
      expect:
        lean: {toward: honesty, strength: strong}
        compliance: compliant
        because: [{principle: user_pref, quote: respect the user's stated preferences}]
    - id: gentle
      values: [kindness, honesty]
      expect:
        lean: {toward: kindness, strength: strong}
        compliance: non-compliant
        because: [{principle: user_pref, quote: respect the user's stated preferences}]
    """
    path = write(tmp_path, conflicts, scenario("s1", "blunt") + scenario("s2", "gentle"))
    assert codes(path) == [("contradictory-expectations", 27, "warning")]
    _, findings = lint(path)
    assert "compliance compliant against non-compliant" in findings[0].message
    assert "linted.yaml:21:" in findings[0].message  # where the other one is


def test_agreeing_expectations_written_in_the_other_order_are_not_contradictory(tmp_path):
    conflicts = """\
    - id: blunt
      values: [honesty, kindness]
      expect:
        lean: {toward: honesty, strength: strong}
        because: [{principle: user_pref, quote: respect the user's stated preferences}]
    - id: blunt-again
      values: [kindness, honesty]
      expect:
        lean: {toward: honesty, strength: strong}
        because: [{principle: user_pref, quote: respect the user's stated preferences}]
    """
    assert codes(write(tmp_path, conflicts, scenario("s1", "blunt") + scenario("s2", "blunt-again"))) == []


def test_a_because_below_the_level_in_play_cannot_decide(tmp_path):
    conflicts = """\
    - id: scope
      values: [honesty, kindness]
      principles: [dev_scope, user_pref]
      expect:
        compliance: compliant
        because:
          - {principle: user_pref, quote: respect the user's stated preferences}
    """
    path = write(tmp_path, conflicts, scenario("s1", "scope"))
    assert codes(path) == [("because-cannot-decide", 24, "error")]
    _, findings = lint(path)
    assert "below dev_scope (developer)" in findings[0].message


def test_a_nudge_naming_neither_value_is_reported_with_its_line(tmp_path, capsys):
    path = write(tmp_path, CLEAN, scenario("s1", "dev-over-user", nudge="honesty"))
    assert main(["lint", str(path)]) == 1
    out = capsys.readouterr().out
    assert "linted.yaml:30:" in out and "nudge 'honesty' must be 'neutral' or one of the pair's values" in out


def test_a_study_row_nudged_one_way_but_marked_neutral_is_a_warning(tmp_path, capsys):
    provenance = "  provenance: {nudge_direction: value2, value1: obedience, value2: user control}\n"
    path = write(tmp_path, CLEAN, scenario("s1", "dev-over-user", extra=provenance))
    assert codes(path) == [("nudge-names-neither", 28, "warning")]
    assert main(["lint", str(path)]) == 0  # a warning does not fail...
    assert main(["lint", "--strict", str(path)]) == 1  # ...unless --strict
    assert "names neither developer_instructions nor user_requests" in capsys.readouterr().out


def test_an_expectation_no_scenario_exercises(tmp_path):
    extra = """\
    - id: orphan
      values: [honesty, kindness]
      expect:
        compliance: compliant
        because: [{principle: user_pref, quote: respect the user's stated preferences}]
    """
    path = write(tmp_path, CLEAN + textwrap.dedent(extra), scenario("s1", "dev-over-user"))
    assert codes(path) == [("unexercised-expectation", 29, "warning")]


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["lint", str(tmp_path / "missing.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("suite", ["openai_modelspec", "anthropic_constitution"])
def test_the_real_suites_lint_without_crashing_and_locate_every_finding(suite):
    path = Path(__file__).resolve().parents[3] / "spec_suites" / f"{suite}.yaml"
    _, findings = lint(path)
    assert findings and all(f.location.path == path and f.location.line > 1 for f in findings)
