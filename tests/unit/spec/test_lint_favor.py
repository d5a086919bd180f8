"""`lint`'s contradictory-expectations rule reads per-value `favor:` bounds too."""

from __future__ import annotations

from spec_pytest.spec.lint import lint
from tests.unit.spec.test_lint import codes, scenario, write

BECAUSE = "because: [{principle: user_pref, quote: respect the user's stated preferences}]"


def _conflicts(first: str, second: str) -> str:
    return f"""\
    - id: blunt
      values: [honesty, kindness]
      expect:
        favor: {first}
        {BECAUSE}
    - id: gentle
      values: [kindness, honesty]
      expect:
        favor: {second}
        {BECAUSE}
    """


def test_favor_windows_that_no_answer_meets_at_once_are_contradictory(tmp_path) -> None:
    path = write(
        tmp_path,
        _conflicts('{kindness: "<=2"}', '{kindness: ">=4"}'),
        scenario("s1", "blunt") + scenario("s2", "gentle"),
    )
    assert [c[0] for c in codes(path)] == ["contradictory-expectations"]
    _, findings = lint(path)
    assert "favor kindness <=2 against >=4" in findings[0].message


def test_overlapping_or_other_value_bounds_are_not(tmp_path) -> None:
    overlapping = _conflicts('{kindness: "2..4"}', "{kindness: 5}")  # 5±1 reaches 4
    assert codes(write(tmp_path, overlapping, scenario("s1", "blunt") + scenario("s2", "gentle"))) == []
    other_values = _conflicts('{kindness: "<=2"}', '{honesty: ">=5"}')
    assert codes(write(tmp_path, other_values, scenario("s1", "blunt") + scenario("s2", "gentle"))) == []
