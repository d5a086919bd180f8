"""Property: whatever bytes a spec file holds, the loader returns a Spec or raises SpecError.

Never a traceback from PyYAML, jsonschema or our own code: that is what lets the CLI and the
plugin print located errors instead of crashing on a bad file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from spec_pytest.spec import Spec, SpecError, load_spec
from spec_pytest.spec.document import YAML_LINE_BREAK
from tests.support.paths import DATA

EXAMPLE = (DATA / "example_suite.yaml").read_text(encoding="utf-8")
BANK = (DATA / "example_bank.jsonl").read_text(encoding="utf-8")
TOKENS = [
    ": ",
    "- ",
    "&a ",
    "*a",
    "<<: *a",
    "\t",
    "{",
    "}",
    "[",
    "]",
    "!!binary ",
    "!x ",
    "'",
    '"',
    "#",
    "---\n",
    "...\n",
    "? ",
    "|\n",
    ">-\n",
    "\x00",
    "\ufeff",
    "\u2028",
    "~",
    "null",
    "yes",
    "1e9",
    "include: example_suite.yaml",
    "include: example_bank.jsonl",
    "conflict: nope",
    "lean: 7",
]
# SPEC_FUZZ_EXAMPLES=5000 for a deeper hunt; CI uses the default.
FUZZ = settings(
    max_examples=int(os.environ.get("SPEC_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "example_bank.jsonl").write_text(BANK, encoding="utf-8")
    return root


def check(path: Path) -> None:
    """The property itself, plus: every problem points inside the file it names."""
    try:
        result = load_spec(path)
    except SpecError as exc:
        assert exc.problems
        for problem in exc.problems:
            text = problem.location.path.read_bytes().decode("utf-8", errors="replace")
            breaks = (
                text.split("\n") if problem.location.path.suffix == ".jsonl" else YAML_LINE_BREAK.split(text)
            )
            lines = len(breaks)
            assert 1 <= problem.location.line <= lines, problem
            assert problem.location.column >= 1
        return
    assert isinstance(result, Spec)


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(
            st.sampled_from(["delete", "duplicate", "insert", "replace_word", "truncate", "indent"])
        )
        if action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "insert":
            at = draw(st.integers(0, len(lines[i])))
            token = draw(st.sampled_from(TOKENS) | st.text(max_size=5))
            lines[i] = lines[i][:at] + token + lines[i][at:]
        elif action == "replace_word":
            words = lines[i].split()
            if words:
                old = draw(st.sampled_from(words))
                lines[i] = lines[i].replace(old, draw(st.sampled_from(text.split())), 1)
        elif action == "truncate":
            lines = lines[:i]
        else:
            lines[i] = draw(st.sampled_from(["", " ", "  ", "    "])) + lines[i].lstrip(" ")
    return "".join(lines)


@FUZZ
@given(text=mutated(EXAMPLE))
@example(text=EXAMPLE.split("\nvalues:\n")[0] + "\nvalues:\n0")  # syntax error at the very end
def test_mutated_example_suite(workdir, text):
    path = workdir / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    check(path)


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes(workdir, data):
    path = workdir / "bytes.yaml"
    path.write_bytes(data)
    check(path)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["root", "user", "compliant", "balanced", "neutral", "p1", "v1", "v2", "c1"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "spec",
                    "levels",
                    "principles",
                    "values",
                    "conflicts",
                    "scenarios",
                    "examples",
                    "id",
                    "level",
                    "text",
                    "expect",
                    "lean",
                    "because",
                    "messages",
                    "role",
                    "content",
                    "conflict",
                    "include",
                    "quote",
                    "principle",
                    "nudge",
                    "defaults",
                    "models",
                    "responses",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@FUZZ
@given(value=json_values)
def test_random_structures(workdir, value):
    path = workdir / "struct.yaml"
    path.write_text(yaml.safe_dump(value), encoding="utf-8")
    check(path)


@FUZZ
@given(lines=st.lists(json_values.map(json.dumps) | mutated(BANK), max_size=4))
def test_random_jsonl_banks(workdir, lines):
    bank = workdir / "fuzz_bank.jsonl"
    bank.write_text("\n".join(lines), encoding="utf-8")
    path = workdir / "with_bank.yaml"
    path.write_text(
        EXAMPLE.replace("include: example_bank.jsonl", "include: fuzz_bank.jsonl"), encoding="utf-8"
    )
    check(path)


@pytest.mark.parametrize(
    ("depth", "message"), [(200, "nested more than 64 levels"), (5000, "exceeded maximum nesting depth")]
)
def test_deep_nesting_is_an_error_not_a_crash(workdir, depth, message):
    path = workdir / "deep.yaml"
    path.write_text("a: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    with pytest.raises(SpecError, match=message):
        load_spec(path)


message_like = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "assistant", "system", "robot", 3]),
        "content": st.one_of(st.text(max_size=5), st.integers(), st.none()),
    },
    optional={"name": st.just("x")},
)
#: Mostly well-formed scenarios with a few fields bent out of shape: where a fast check and
#: the schema could disagree.
scenario_like = st.fixed_dictionaries(
    {"messages": st.one_of(st.lists(message_like, max_size=3), st.sampled_from(["hi", None, []]))},
    optional={
        "id": st.sampled_from(["ok-id", "a.b_c-1", "Z9", "Bad Id", "a" * 121, "x\n", "", "-x", 5]),
        "conflict": st.sampled_from(["c1", "c-2", "C1", "", "a" * 121, "x\n", None, 3]),
        "values": st.sampled_from([["v1", "v2"], ["v1"], ["v1", "v2", "v3"], ["V1", "v2"], ["v1", 2], "v1"]),
        "principles": st.sampled_from([[], ["p1"], ["p1", "p1"], ["P1"], [1], "p1"]),
        "nudge": st.sampled_from(["neutral", "v1", 3, None]),
        "tags": st.sampled_from([[], ["a"], [1], "a"]),
        "provenance": st.sampled_from(
            [{}, {"a": 1}, {"a": None}, {"a": [1]}, {"a": {"b": 1}}, [], {"a": True}, {"a": 1.5}]
        ),
        "expect": st.just({"compliance": "compliant"}),
        "include": st.just("x.jsonl"),
        "other": st.just(1),
    },
)


@FUZZ
@given(entry=scenario_like)
def test_the_fast_scenario_check_never_accepts_what_the_schema_rejects(entry):
    from spec_pytest.spec.schema import _plain_scenario_check, _validator

    if _plain_scenario_check()(entry):
        assert _validator("scenario").is_valid(entry), entry
    else:
        event("left to jsonschema")


def test_the_fast_scenario_check_takes_the_common_shapes():
    from spec_pytest.spec.schema import _plain_scenario_check

    plain = _plain_scenario_check()
    bank = [json.loads(line) for line in BANK.splitlines()]
    assert all(plain(entry) for entry in bank)
    assert not plain({**bank[0], "messages": []})
    assert not plain({**bank[0], "mesages": bank[0]["messages"]})
