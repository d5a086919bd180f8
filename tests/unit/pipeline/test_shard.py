"""--shard i/n: a stable, balanced split that partitions a run's items."""

from __future__ import annotations

from collections import Counter

import pytest

from spec_pytest.core.case import expand
from spec_pytest.pipeline.shard import ShardError, in_shard, parse_shard, shard_key, shard_of
from spec_pytest.spec import load_spec
from tests.support.paths import DATA

SPEC = load_spec(DATA / "example_suite.yaml")


def _keys(n: int, prefix: str = "scenario") -> list[tuple[str, str, str, int]]:
    return [("suite", f"{prefix}-{i}", "openai:gpt-4.1", 0) for i in range(n)]


@pytest.mark.parametrize(("text", "expected"), [("2/4", (2, 4)), (" 1 / 1 ", (1, 1)), ("10/10", (10, 10))])
def test_parse_shard(text: str, expected: tuple[int, int]) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2", "expected I/N"),
        ("a/b", "expected I/N"),
        ("0/4", "between 1 and 4"),
        ("5/4", "between 1 and 4"),
        ("1/0", "at least 1"),
        ("-1/4", "expected I/N"),
    ],
)
def test_bad_shards_say_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(ShardError, match=message):
        parse_shard(text)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_partition_the_items(count: int) -> None:
    keys = _keys(500)
    owners = [[i for i in range(1, count + 1) if in_shard(k, i, count)] for k in keys]
    assert all(len(o) == 1 for o in owners)  # every item in exactly one shard


def test_shards_are_balanced() -> None:
    sizes = Counter(shard_of(k, 4) for k in _keys(4000))
    assert set(sizes) == {1, 2, 3, 4}
    assert all(900 <= n <= 1100 for n in sizes.values()), sizes  # 1000 ± ~6 sd of a binomial


def test_adding_or_removing_scenarios_moves_no_other_item() -> None:
    before = {k: shard_of(k, 5) for k in _keys(300)}
    grown = _keys(300) + _keys(100, prefix="new")
    after = {k: shard_of(k, 5) for k in grown[50:]}  # 50 removed, 100 added
    assert all(after[k] == before[k] for k in before if k in after)


def test_samples_of_a_scenario_and_model_stay_together_and_cases_match_their_keys() -> None:
    cases = list(expand(SPEC, ["openai:gpt-4.1", "anthropic:claude-x"], samples=3))
    for case in cases:
        key = (case.spec.id, case.scenario.id, case.model, case.sample)
        assert shard_of(case, 3) == shard_of(key, 3) == shard_of((*key[:3], 0), 3)
    groups: dict[tuple[str, str], set[int]] = {}
    for case in cases:
        groups.setdefault((case.scenario.id, case.model), set()).add(shard_of(case, 3))
    assert all(len(shards) == 1 for shards in groups.values())


def test_the_split_is_the_same_on_every_machine() -> None:
    # a fixed expectation: a hash that changed between versions or platforms would reshuffle CI
    assert shard_key(("s", "x", "m", 2)) == "s\nx\nm"
    assert [shard_of(("suite", f"scenario-{i}", "openai:gpt-4.1"), 4) for i in range(8)] == [
        4,
        2,
        2,
        3,
        2,
        1,
        4,
        3,
    ]
    assert shard_of("tests/spec.yaml::invariance-x::a[openai:m]", 4) in {1, 2, 3, 4}
