"""`spec-pytest validate`: every problem printed, exit 0 / 1 / 2, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"


def validate(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spec_pytest.cli", "validate", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_valid_file_exits_0_with_a_summary():
    done = validate(DATA / "example_suite.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok (4 principles, 4 values, 2 conflicts, 7 scenarios, 1 examples)" in done.stdout


def test_invalid_files_print_every_problem_and_exit_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "spec: bad\nlevels: [root]\nprinciples:\n  - {id: p, level: rot, text: t}\n"
        "  - {id: p, level: root, text: t, titel: x}\n",
        encoding="utf-8",
    )
    done = validate(DATA / "example_suite.yaml", bad, cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "bad.yaml:5:35: unknown key 'titel' in 'principles[1]'; did you mean 'title'?" in lines[1]
    assert "1 of 2 file(s) invalid" in done.stderr
    fixed = bad.read_text(encoding="utf-8").replace(", titel: x", "")
    bad.write_text(fixed, encoding="utf-8")
    done = validate(bad, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "bad.yaml:4:20: level 'rot' is not one of this file's levels (root); did you mean 'root'?",
        "bad.yaml:5:10: principle id 'p' is used twice; ids must be unique",
        "2 problems",
    ]
    assert "Traceback" not in done.stdout + done.stderr


def test_usage_errors_exit_2(tmp_path):
    assert validate().returncode == 2
    done = validate(tmp_path / "nope.yaml")
    assert done.returncode == 2
    assert "nope.yaml: no such file" in done.stderr
    no_command = subprocess.run(
        [sys.executable, "-m", "spec_pytest.cli"], capture_output=True, text=True, check=False
    )
    assert no_command.returncode == 2 and "validate" in no_command.stderr


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("spec-pytest")
    done = subprocess.run([script, "validate", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "exits 0 when all files are valid" in done.stdout
