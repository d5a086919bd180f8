"""What a plugin author gets: the spec hooks, and errors of their own shown as spec errors.

A conftest in the pytester project stands for a third-party plugin; the run is real (the
SDKs against the loopback server), under plain pytest and under ``-n 2``.
"""

from __future__ import annotations

import json

import pytest

from tests.support.e2e_support import outcomes, project

HOOKS = """\
import json, pathlib

OUT = pathlib.Path(__file__).parent


def pytest_spec_case_finished(item, record):
    with (OUT / "finished.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps({"nodeid": item.nodeid, "scenario": record.to_dict()["scenario"]}) + "\\n")


def pytest_spec_results_ready(config, records, path):
    with (OUT / "ready.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps({
            "scenarios": sorted(r.to_dict()["scenario"] for r in records),
            "path_exists": pathlib.Path(path).is_file(),
            "worker": hasattr(config, "workerinput"),
        }) + "\\n")
"""

SCENARIOS = ["address", "pitch", "poem"]


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["in-process", "xdist"])
def test_a_conftest_sees_every_case_once_and_the_results_once(pytester, loopback, planted_key, xdist):
    project(pytester, loopback, planted_key)
    pytester.makeconftest(HOOKS)
    result = pytester.runpytest("--spec=e2e.yaml", "-rA", *xdist)
    assert set(outcomes(result)) == set(SCENARIOS)
    finished = _lines(pytester.path / "finished.jsonl")
    assert sorted(f["scenario"] for f in finished) == SCENARIOS  # each case once, wherever it ran
    assert len({f["nodeid"] for f in finished}) == len(SCENARIOS)
    assert _lines(pytester.path / "ready.jsonl") == [
        {"scenarios": SCENARIOS, "path_exists": True, "worker": False}
    ]


RAISES_ITS_OWN = """\
import pytest

from spec_pytest.errors import RunError
from spec_pytest.pytest.stash import FANOUT


class QuotaRefused(RunError):
    \"\"\"A plugin's own reason a case cannot run.\"\"\"


class Gatekeeper:
    def settings_for(self, case, run):
        raise QuotaRefused(f"quota server refused {case.scenario.id}: try again after midnight")


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    config.stash[FANOUT] = Gatekeeper()  # asked by every spec item for its settings
"""


def test_a_new_run_error_raised_while_an_item_runs_is_an_error_with_its_message_alone(
    pytester, loopback, planted_key
):
    project(pytester, loopback, planted_key)
    pytester.makeconftest(RAISES_ITS_OWN)
    result = pytester.runpytest("--spec=e2e.yaml", "-rA", "--no-prefetch", "--results=results.jsonl")
    assert outcomes(result) == {name: "ERROR" for name in SCENARIOS}
    out = result.stdout.str()
    assert "quota server refused poem: try again after midnight" in out
    assert "Traceback" not in out and "conftest.py:" not in out and "raise QuotaRefused" not in out
    errors = [
        json.loads(line)["error"] for line in (pytester.path / "results.jsonl").read_text().splitlines()
    ]
    assert sorted(errors) == sorted(f"quota server refused {s}: try again after midnight" for s in SCENARIOS)
    assert not loopback.requests  # refused before anything was asked
