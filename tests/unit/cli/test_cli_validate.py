"""`spec-pytest validate`: every problem printed, exit 0 / 1 / 2, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.paths import DATA, ROOT


def validate(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spec_pytest.cli.main", "validate", *map(str, args)],
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
        [sys.executable, "-m", "spec_pytest.cli.main"], capture_output=True, text=True, check=False
    )
    assert no_command.returncode == 2 and "validate" in no_command.stderr


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("spec-pytest")
    done = subprocess.run([script, "validate", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "exits 0 when all files are valid" in done.stdout


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spec_pytest.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_both_real_suites_validate_clean():
    root = ROOT
    done = validate(
        root / "spec_suites" / "openai_modelspec.yaml", root / "spec_suites" / "anthropic_constitution.yaml"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": ok (") == 2


def test_import_writes_a_valid_spec_and_reports_what_it_left_out(tmp_path):
    out = tmp_path / "spec.yaml"
    done = run_cli("import", "openai-model-spec", DATA / "openai_model_spec" / "model_spec.md", "--out", out)
    assert done.returncode == 0, done.stderr
    assert "principles: 59" in done.stdout
    assert "not imported (" in done.stdout
    assert "footnote [^lds1] is not cited in this release of the spec" in done.stdout
    assert validate(out).returncode == 0


def test_import_study_rows_gives_one_line_per_row(tmp_path):
    out = tmp_path / "bank.jsonl"
    rows = DATA / "stress_testing_model_spec" / "all_models_sample.jsonl"
    done = run_cli("import", "stress-test-dataset", rows, "--out", out)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 748
    assert (tmp_path / "bank.values.yaml").is_file()


def test_import_of_the_wrong_source_fails_instead_of_writing_an_empty_spec(tmp_path):
    source = tmp_path / "notes.md"
    source.write_text("# Just notes\n\nNothing here.\n", encoding="utf-8")
    done = run_cli("import", "openai-model-spec", source, "--out", tmp_path / "o.yaml")
    assert done.returncode == 1
    assert "nothing was imported from" in done.stderr
    source.write_bytes(b"\xff\xfe# latin")
    done = run_cli("import", "anthropic-constitution", source, "--out", tmp_path / "o.yaml")
    assert done.returncode == 1 and "not UTF-8" in done.stderr
    assert run_cli("import", "no-such-kind", source, "--out", tmp_path / "o.yaml").returncode == 2
    assert (
        run_cli(
            "import", "openai-model-spec", tmp_path / "missing.md", "--out", tmp_path / "o.yaml"
        ).returncode
        == 2
    )
