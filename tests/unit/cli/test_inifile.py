"""`spec_pytest.config.inifile` finds the rootdir and configuration file pytest itself finds.

Each layout is built in a pytester directory and both are asked: pytest (`parseconfig`, which
runs pytest's own determination) and `locate`, from the same working directory with the same
path arguments. The CLI then reads its ini keys from the file pytest would read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spec_pytest.config.inifile import locate

LAYOUTS: dict[str, dict[str, str]] = {
    "pytest.ini even empty": {"pytest.ini": "", "sub/x.yaml": ""},
    "pytest.ini before pyproject": {
        "pytest.ini": "[pytest]\n",
        "pyproject.toml": "[tool.pytest.ini_options]\n",
    },
    "pyproject with its table": {"pyproject.toml": "[tool.pytest.ini_options]\nspec_rubric = 'a'\n"},
    "pyproject without a table, further up a tox.ini": {
        "tox.ini": "[pytest]\n",
        "inner/pyproject.toml": "[project]\nname = 'x'\n",
        "inner/sub/x.yaml": "",
    },
    "tox.ini without [pytest] is skipped": {"tox.ini": "[tox]\n", "sub/setup.cfg": "[tool:pytest]\n"},
    "setup.cfg with [tool:pytest]": {"setup.cfg": "[metadata]\n[tool:pytest]\nspec_rubric = a\n"},
    "setup.py only": {"setup.py": "", "sub/x.yaml": ""},
    "nearest file wins": {"pytest.ini": "", "sub/pytest.ini": "", "sub/x.yaml": ""},
}
#: (working directory, path arguments) pairs tried on every layout.
INVOCATIONS = [(".", []), ("sub", []), ("sub", ["../"]), (".", ["sub/x.yaml"]), ("inner/sub", ["x.yaml"])]


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_locate_agrees_with_pytest(pytester: pytest.Pytester, monkeypatch, layout: str):
    top = pytester.path / "top"  # below pytester's own directory, which holds no ini file
    for name, text in LAYOUTS[layout].items():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_text(text, encoding="utf-8")
    for cwd, args in INVOCATIONS:
        where = top / cwd
        if not where.is_dir():
            continue
        monkeypatch.chdir(where)
        config = pytester.parseconfig(*args)
        found = locate(args, where)
        assert (found.rootdir, found.path) == (config.rootpath, config.inipath), (cwd, args)


def test_values_are_typed_as_getini_gives_them(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\nspec_endpoints = ['a http://x/v1 K', 'b http://y/v1']\n"
        "spec_files = ['s.yaml']\nspec_cassette_dir = 'rec'\n",
        encoding="utf-8",
    )
    found = locate([], tmp_path)
    assert found.get("spec_endpoints", "linelist") == ["a http://x/v1 K", "b http://y/v1"]
    assert found.get("spec_files", "paths") == [tmp_path / "s.yaml"]
    assert found.get("spec_cassette_dir") == "rec" and found.get("spec_rubric", default="d") == "d"
    ini = "[pytest]\nspec_endpoints =\n    a http://x/v1 K\n\n"
    (tmp_path / "pytest.ini").write_text(ini, encoding="utf-8")
    assert locate([], tmp_path).get("spec_endpoints", "linelist") == ["a http://x/v1 K"]
