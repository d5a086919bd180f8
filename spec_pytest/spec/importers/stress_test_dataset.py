"""Import rows of the value-conflict study's dataset as a scenario bank.

Rows come from "Stress-Testing Model Specs Reveals Character Differences among Language
Models" (Zhang, Sleight, Peng, Schulman, Durmus, 2025; arXiv 2510.07686), Hugging Face
dataset `jifanz/stress_testing_model_spec`, licensed Apache-2.0. Columns: rank,
query_generator, value1, value2, nudge_direction (neutral | value1 | value2), query; as
JSONL (one object per line, as the dataset viewer exports) or CSV with a header row.

Each row becomes one scenario: the value pair as ids (`responsible governance` ->
`responsible_governance`), the nudge as `neutral` or the id of the value the query leans
to, the query as the user's message, and provenance naming the dataset, the row's rank,
generator, original labels and licence. The id is `study-` plus a hash of the value labels,
nudge and query, so importing the same rows again (or from CSV instead of JSONL) yields
the same ids, and cassettes recorded for a scenario stay attached to it.

A bank's values must be declared by the spec that includes it: the importer returns them
(`Imported.values`, label kept as the description) and `run_import` writes them next to
the bank as `<bank>.values.yaml`, a `values:` mapping to paste into the spec.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from spec_pytest.spec.importers.report import Imported, ImportReport

DATASET = "jifanz/stress_testing_model_spec"
LICENSE = "Apache-2.0"
CITATION = "Zhang, Sleight, Peng, Schulman, Durmus (2025), arXiv 2510.07686"
COLUMNS = ("rank", "query_generator", "value1", "value2", "nudge_direction", "query")
NUDGES = ("neutral", "value1", "value2")


def value_id(label: str) -> str:
    """A value id from the study's label: 'women's empowerment' -> 'womens_empowerment'."""
    text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"['\u2019]", "", text)
    text = re.sub(r"[^a-z0-9-]+", "_", text).strip("_-")
    return text[:120] or "value-" + hashlib.sha256(label.encode()).hexdigest()[:8]


def scenario_id(value1: str, value2: str, nudge: str, query: str) -> str:
    """`study-<hash>`: depends only on what the scenario asks, not on file order or format."""
    canonical = json.dumps([value1, value2, nudge, query], ensure_ascii=False)
    return "study-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def read_rows(source: Path) -> list[dict[str, Any]]:
    """Rows from a .csv (header row) or .jsonl file, as dictionaries of the study's columns."""
    text = Path(source).read_text("utf-8-sig")
    if Path(source).suffix.lower() == ".csv":
        return list(csv.DictReader(io.StringIO(text, newline="")))  # quoted fields may hold newlines
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def import_stress_test_dataset(source: Path) -> Imported:
    """A bank with one scenario per usable row, and the value declarations it needs."""
    source = Path(source)
    report = ImportReport("stress-test-dataset", source)
    scenarios: list[dict[str, Any]] = []
    values: dict[str, str] = {}
    seen: dict[str, int] = {}
    try:
        rows = read_rows(source)
    except (ValueError, UnicodeDecodeError) as exc:
        report.skip(source.name, "file", f"not readable as JSONL/CSV rows: {exc}")
        rows = []
    for number, row in enumerate(rows, start=1):
        where = f"{source.name} row {number}"
        problem = _problem(row)
        if problem:
            report.skip(where, "row", problem)
            continue
        scenario = scenario_from_row(row)
        first, second = scenario["values"]
        if first == second:
            report.skip(where, "row", f"both values become the id '{first}'")
            continue
        if scenario["id"] in seen:
            report.skip(where, "row", f"same values, nudge and query as row {seen[scenario['id']]}")
            continue
        seen[scenario["id"]] = number
        values.setdefault(first, _describe(row["value1"]))
        values.setdefault(second, _describe(row["value2"]))
        scenarios.append(scenario)
    report.counts["rows"] = len(rows)
    report.counts["scenarios"] = len(scenarios)
    report.counts["values"] = len(values)
    document = {
        "description": f"Value-conflict scenarios from {DATASET} ({CITATION}).",
        "source": f"https://huggingface.co/datasets/{DATASET}",
        "license": LICENSE,
        "scenarios": scenarios,
    }
    return Imported(document, report, values=dict(sorted(values.items())), is_bank=True)


def scenario_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """The bank line for one (already checked) row."""
    first, second = value_id(row["value1"]), value_id(row["value2"])
    direction = row["nudge_direction"].strip()
    nudge = {"neutral": "neutral", "value1": first, "value2": second}[direction]
    rank: Any = row["rank"]
    if isinstance(rank, str) and rank.strip().isdigit():
        rank = int(rank)
    return {
        "id": scenario_id(row["value1"], row["value2"], direction, row["query"]),
        "values": [first, second],
        "nudge": nudge,
        "messages": [{"role": "user", "content": str(row["query"])}],
        "provenance": {
            "dataset": DATASET,
            "rank": rank,
            "query_generator": row["query_generator"],
            "value1": row["value1"],
            "value2": row["value2"],
            "nudge_direction": direction,
            "license": LICENSE,
            "citation": CITATION,
        },
    }


def _problem(row: Any) -> str | None:
    if not isinstance(row, dict):
        return "not an object with the study's columns"
    missing = [c for c in COLUMNS if c not in row or row[c] is None]
    if missing:
        return f"missing column(s) {', '.join(missing)}"
    if str(row["nudge_direction"]).strip() not in NUDGES:
        return f"nudge_direction {row['nudge_direction']!r} is not one of {', '.join(NUDGES)}"
    if not str(row["query"]).strip():
        return "empty query"
    return None


def _describe(label: str) -> str:
    return f"{label} (a value from the study's taxonomy, as labelled in {DATASET})"
