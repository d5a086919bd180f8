"""Importers: turn published specs and datasets into spec-pytest files.

Each importer reads one kind of source and returns an `Imported` (a document plus an
`ImportReport` of counts and everything it left out, with reasons). `run_import` writes
the document where the user asked: a spec as YAML, a scenario bank as JSONL (one scenario
per line) or YAML, chosen by the suffix of `out`. For a bank it also writes the value
declarations the bank needs to `<out stem>.values.yaml`, because a spec that includes a
bank must declare its values.

The output of every importer passes `load_spec` (a bank: when included by a spec that
declares its values).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from spec_pytest.errors import ConfigError
from spec_pytest.spec.importers.anthropic_constitution import import_anthropic_constitution
from spec_pytest.spec.importers.openai_model_spec import import_openai_model_spec
from spec_pytest.spec.importers.report import Imported, ImportReport, Unparsed
from spec_pytest.spec.importers.stress_test_dataset import import_stress_test_dataset

IMPORTERS: dict[str, Callable[[Path], Imported]] = {
    "openai-model-spec": import_openai_model_spec,
    "stress-test-dataset": import_stress_test_dataset,
    "anthropic-constitution": import_anthropic_constitution,
}

__all__ = [
    "IMPORTERS",
    "ImportReport",
    "Imported",
    "Unparsed",
    "dump_yaml",
    "jsonl_line",
    "run_import",
    "values_path",
]


def run_import(kind: str, source: Path, out: Path) -> ImportReport:
    """Import `source` as `kind` into `out`; returns the report (what was taken, what not)."""
    if kind not in IMPORTERS:
        raise ConfigError(f"unknown import kind '{kind}'; choose one of {', '.join(IMPORTERS)}")
    source, out = Path(source), Path(out)
    imported = IMPORTERS[kind](source)
    out.parent.mkdir(parents=True, exist_ok=True)
    if imported.is_bank and out.suffix == ".jsonl":
        out.write_text(
            "".join(jsonl_line(s) for s in imported.document["scenarios"]),
            encoding="utf-8",
        )
    elif out.suffix in (".yaml", ".yml"):
        out.write_text(dump_yaml(imported.document), encoding="utf-8")
    else:
        wanted = ".jsonl, .yaml or .yml" if imported.is_bank else ".yaml or .yml"
        raise ConfigError(f"cannot write '{out.name}': a {kind} import is written as {wanted}")
    imported.report.written.append(out)
    if imported.is_bank:
        target = values_path(out)
        header = f"# Values used by {out.name}; paste under `values:` in the spec that includes it.\n"
        target.write_text(header + dump_yaml({"values": imported.values}), encoding="utf-8")
        imported.report.written.append(target)
    return imported.report


#: Characters str.splitlines() breaks lines at, other than \n; JSON allows them raw inside strings,
#: so a reader that splits with splitlines() would cut such a line in two. Written escaped.
_LINE_BREAKERS = {ord(c): f"\\u{ord(c):04x}" for c in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def jsonl_line(entry: dict[str, Any]) -> str:
    """One JSONL line: UTF-8 text as is, except characters that some readers take for line ends."""
    return json.dumps(entry, ensure_ascii=False).translate(_LINE_BREAKERS) + "\n"


def values_path(bank: Path) -> Path:
    """Where the value declarations of a bank go: `study.jsonl` -> `study.values.yaml`."""
    return bank.with_name(f"{bank.stem}.values.yaml")


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line text as `|` blocks, so spec text stays readable."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump_yaml(data: Any) -> str:
    """YAML as the importers write it: key order kept, Unicode as is, no line wrapping."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)
