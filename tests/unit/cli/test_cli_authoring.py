"""Spec authors' tools: one round of errors from `validate`, `schema` for editors, `init`, `--version`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from spec_pytest import __version__
from spec_pytest.spec import document
from spec_pytest.spec.schema import schema
from tests.support.paths import ROOT
from tests.unit.spec.test_spec_load import MINIMAL, line_of


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spec_pytest.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_top_level_typo_does_not_hide_reference_and_quote_errors(tmp_path):
    text = (
        MINIMAL.replace("conflicts:", "defualts:\n  samples: 2\nconflicts:")
        .replace("values: [honesty, kindness]", "values: [honesty, kindnes]")
        .replace("quote: The assistant should not lie.", "quote: The assistant never lies.")
    )
    done = cli("validate", written(tmp_path, text))
    assert done.returncode == 1
    out = done.stdout
    assert f"spec.yaml:{line_of(text, 'defualts')}:1: unknown key 'defualts'" in out
    assert "did you mean 'defaults'?" in out
    assert f"spec.yaml:{line_of(text, 'kindnes]')}:" in out and "unknown value 'kindnes'" in out
    assert f"spec.yaml:{line_of(text, 'never lies')}:" in out and "quote not found" in out
    assert "3 problems" in out


def test_an_unknown_key_inside_lean_gets_a_did_you_mean(tmp_path):
    text = MINIMAL.replace("strength: moderate", "strenght: moderate")
    done = cli("validate", written(tmp_path, text))
    assert done.returncode == 1
    line = line_of(text, "strenght")
    assert f"spec.yaml:{line}:" in done.stdout
    assert "unknown key 'strenght' in 'conflicts[0].expect.lean'; did you mean 'strength'?" in done.stdout


def test_defaults_and_models_naming_an_undeclared_provider_are_reported(tmp_path):
    text = MINIMAL.replace(
        "principles:",
        "defaults:\n  models: [openia:gpt-4.1, local:m]\n  judges: [anthropic:claude-x]\n"
        "models:\n  lcoal:m: {temperature: 0}\nendpoints:\n  local: {base_url: 'http://127.0.0.1:1/v1'}\n"
        "principles:",
        1,
    )
    path = written(tmp_path, text)
    done = cli("validate", path)
    assert done.returncode == 1, done.stdout
    problems = [line for line in done.stdout.splitlines() if "names provider" in line]
    assert len(problems) == 2, done.stdout
    assert problems[0].startswith(f"{path}:{line_of(text, 'openia')}:")
    assert "provider 'openia'" in problems[0] and "did you mean 'openai'?" in problems[0]
    assert (
        problems[1].startswith(f"{path}:{line_of(text, 'lcoal:m')}:")
        and "did you mean 'local'?" in problems[1]
    )
    # a run may declare the endpoint itself (--endpoint, the ini file): validate can be told so
    fixed = cli("validate", path, "--endpoint", "openia=http://127.0.0.1:2/v1", "--endpoint", "lcoal")
    assert fixed.returncode == 0, fixed.stdout


def test_schema_prints_the_published_schema_that_editors_use(tmp_path):
    def data(text: str) -> object:
        return document.read(written(tmp_path, text)).data

    done = cli("schema")
    assert done.returncode == 0
    printed = json.loads(done.stdout)
    assert printed == schema()
    assert printed["$id"].startswith("https://") and printed["$id"].endswith("/schema.json")
    jsonschema.Draft202012Validator.check_schema(printed)
    # what an editor does with it: `strenght` inside lean is flagged, the fixed spelling is not
    editor = jsonschema.Draft202012Validator(printed)
    bad = data(MINIMAL.replace("strength: moderate", "strenght: moderate"))
    flagged = [e for e in editor.iter_errors(bad)]
    assert flagged and any("strenght" in json.dumps(e.instance) for e in flagged)
    assert not list(editor.iter_errors(data(MINIMAL)))


def test_the_readme_shows_the_editor_set_up_with_the_schemas_id():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"# yaml-language-server: $schema={schema()['$id']}" in readme
    assert '"yaml.schemas"' in readme and "spec-pytest schema" in readme


def test_version():
    done = cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"spec-pytest {__version__}"


def test_init_writes_a_commented_spec_that_validates_and_never_overwrites(tmp_path):
    target = tmp_path / "first.yaml"
    done = cli("init", target)
    assert done.returncode == 0, done.stderr
    assert "spec-pytest validate" in done.stdout
    text = target.read_text(encoding="utf-8")
    assert text.count("\n#") + text.count("  # ") >= 8  # commented for a first-time author
    assert text.startswith(f"# yaml-language-server: $schema={schema()['$id']}")
    assert cli("validate", target).returncode == 0
    target.write_text("mine\n", encoding="utf-8")
    again = cli("init", target)
    assert again.returncode == 2 and "exists" in again.stderr
    assert target.read_text(encoding="utf-8") == "mine\n"


def test_init_without_a_path_writes_spec_yaml_in_the_current_directory(tmp_path):
    assert cli("init", cwd=tmp_path).returncode == 0
    assert cli("validate", "spec.yaml", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("recording", ["with pytest-recording", "without"])
def test_pytest_help_states_the_record_mode_default_spec_items_get(pytester: pytest.Pytester, recording):
    args = ["--help"] if recording == "with pytest-recording" else ["-p", "no:recording", "--help"]
    result = pytester.runpytest(*args)
    text = " ".join(result.stdout.str().split())
    start = text.index("--record-mode=")
    help_text = text[start : text.index(" --", start + 10)]
    assert 'Default to "none"' not in help_text
    assert "default: once" in help_text or "default to once" in help_text
