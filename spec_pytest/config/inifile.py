"""Where pytest would find its rootdir and configuration file, found without importing pytest.

`spec-pytest plan/calibrate/generate` must read the same ini keys (``spec_endpoints``,
``spec_cassette_dir``...) from the same file as a ``pytest`` run of the same project, and
resolve relative paths from the same rootdir, or the two disagree about what is recorded.
The search follows pytest's documented rules ("Initialization: determining rootdir and
configfile"):

1. the common ancestor of the given paths that exist (the working directory if none);
2. from there upwards, the first directory holding a configuration file that is one:
   ``pytest.toml``/``.pytest.toml`` (``[pytest]``), ``pytest.ini``/``.pytest.ini`` (always,
   even empty), ``pyproject.toml`` (``[tool.pytest.ini_options]`` or ``[tool.pytest]``),
   ``tox.ini`` (``[pytest]``), ``setup.cfg`` (``[tool:pytest]``); a ``pyproject.toml``
   without a pytest table is remembered as the rootdir if nothing else matches;
3. else the first directory upwards holding ``setup.py`` is the rootdir (no configuration);
4. else the same configuration search from each given path upwards;
5. else the common ancestor is the rootdir.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: Candidate file names, in the order pytest tries them within one directory.
CANDIDATES = (
    "pytest.toml",
    ".pytest.toml",
    "pytest.ini",
    ".pytest.ini",
    "pyproject.toml",
    "tox.ini",
    "setup.cfg",
)

IniValue = str | list[str]


@dataclass(frozen=True)
class IniFile:
    """The rootdir, the configuration file found there (None if none) and its pytest values."""

    rootdir: Path
    path: Path | None = None
    values: Mapping[str, IniValue] = field(default_factory=dict)

    def get(self, name: str, kind: str = "string", default: Any = None) -> Any:
        """The value of ini key ``name`` as pytest's ``config.getini`` gives it for ``kind``.

        ``kind`` is ``string``, ``linelist`` (a list of non-empty lines) or ``paths`` (lines
        resolved against the configuration file's directory).
        """
        if name not in self.values:
            return default
        value = self.values[name]
        if kind == "string":
            return value if isinstance(value, str) else " ".join(value)
        lines = value.splitlines() if isinstance(value, str) else [str(v) for v in value]
        lines = [line.strip() for line in lines if line.strip()]
        if kind == "paths":
            base = self.path.parent if self.path is not None else self.rootdir
            return [base / line for line in lines]
        return lines


def locate(args: Iterable[str | os.PathLike[str]] = (), cwd: Path | None = None) -> IniFile:
    """The rootdir and configuration file pytest would use for ``args`` run from ``cwd``."""
    cwd = (cwd or Path.cwd()).resolve()
    paths = [p for p in ((cwd / a).resolve() for a in args) if p.exists()]
    ancestor = _common_ancestor(paths, cwd)
    found = _search_upwards(ancestor)
    if found is not None:
        return found
    for directory in (ancestor, *ancestor.parents):
        if (directory / "setup.py").is_file():
            return IniFile(directory)
    for path in paths:
        found = _search_upwards(path if path.is_dir() else path.parent)
        if found is not None:
            return found
    return IniFile(ancestor)


def _common_ancestor(paths: list[Path], cwd: Path) -> Path:
    if not paths:
        return cwd
    common = Path(os.path.commonpath([str(p) for p in paths]))
    return common.parent if common.is_file() else common


def _search_upwards(start: Path) -> IniFile | None:
    fallback: IniFile | None = None
    for directory in (start, *start.parents):
        for name in CANDIDATES:
            path = directory / name
            if not path.is_file():
                continue
            values = _read(path)
            if values is not None:
                return IniFile(directory, path, values)
            if name == "pyproject.toml" and fallback is None:
                fallback = IniFile(directory, path, {})
    return fallback


def _read(path: Path) -> dict[str, IniValue] | None:
    """The pytest values of one candidate file, or None when it holds no pytest configuration."""
    if path.suffix == ".toml":
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        if path.name == "pyproject.toml":
            tool = document.get("tool", {}).get("pytest")
            if not isinstance(tool, dict):
                return None
            table = tool.get("ini_options", tool)
        else:
            table = document.get("pytest")
            if not isinstance(table, dict):
                return None
        return {k: _toml_value(v) for k, v in table.items() if not isinstance(v, dict)}
    parser = _CaseKeepingParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    section = "tool:pytest" if path.name == "setup.cfg" else "pytest"
    if parser.has_section(section):
        return dict(parser.items(section))
    return {} if path.name in ("pytest.ini", ".pytest.ini") else None


class _CaseKeepingParser(configparser.RawConfigParser):
    """Ini keys as written: pytest's keys are case-sensitive, configparser's are not."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _toml_value(value: Any) -> IniValue:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
