"""The README's main job, as written there, on a copy of the repository with no key and no server.

The demo under ``cassettes/`` was recorded against llama.cpp's llama-server running
SmolLM2-135M (see the README); replaying it must end with real outcomes (items passed, failed,
measured; an error only where the tiny judge's ruling broke the rubric) and write the HTML
report. The command is read from the README, so the test fails when the README's command and the
committed demo drift apart.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT

INSTALL = "pip install -e '.[dev]' && "


def main_job() -> str:
    """The main job's command line, from the README's "Two commands"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Two commands", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = block.strip().splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith("# main job")]
    return lines[at + 1]


def test_the_readme_main_job_replays_the_demo_offline_and_writes_the_report(tmp_path: Path) -> None:
    command = main_job()
    assert INSTALL in command, command
    after_install = command.split(INSTALL, 1)[1]  # this test's interpreter has the package already
    clone = tmp_path / "clone"
    for part in ("cassettes", "spec_suites"):
        shutil.copytree(ROOT / part, clone / part)
    shutil.copy(ROOT / "pyproject.toml", clone)
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN")) and k != "CI"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"

    done = subprocess.run(
        ["bash", "-c", after_install], cwd=clone, env=env, capture_output=True, text=True, timeout=600
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output

    records = [json.loads(line) for line in (clone / "demo.jsonl").read_text(encoding="utf-8").splitlines()]
    outcomes = {r["outcome"] for r in records}
    assert len(records) >= 5 and outcomes <= {"pass", "fail", "measured", "error"}, output
    assert "fail" in outcomes  # real verdicts (the recorded demo has no pass: see the README)
    # the only errors are the tiny judge's rulings the rubric refuses, recorded as such: no
    # missing or stale cassette, no request attempted
    for record in records:
        if record["outcome"] == "error":
            assert "answered something unusable" in record["error"], record["error"]
    models = {r["model"] for r in records}
    assert models == {"llamacpp:smollm2-135m", "llamacpp-hot:smollm2-135m"}
    assert {j["judge"] for r in records for j in r["judges"]} == {"llamacpp:smollm2-135m"}
    # pytest's last line and the spec-pytest summary carry the outcomes
    assert re.search(r"=+ \d+ failed.* in [\d.]+s", output), output
    assert f"{len(records)} case(s): " in output, output
    report = (clone / "report.html").read_text(encoding="utf-8")
    assert "llamacpp-hot:smollm2-135m" in report and records[0]["scenario"] in report
