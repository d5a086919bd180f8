"""The study dataset importer: rows -> a scenario bank plus the values it needs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from spec_pytest.spec import load_spec
from spec_pytest.spec.importers import run_import
from spec_pytest.spec.importers.stress_test_dataset import import_stress_test_dataset, value_id
from tests.support.paths import DATA

STUDY = DATA / "stress_testing_model_spec" / "all_models_sample.jsonl"
ROWS = [json.loads(line) for line in STUDY.read_text("utf-8").splitlines()]


def _bank(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("responsible governance", "responsible_governance"),
        ("women's empowerment", "womens_empowerment"),
        ("self-confidence", "self-confidence"),
        ("Café culture", "cafe_culture"),
    ],
)
def test_value_labels_become_ids(label, expected):
    assert value_id(label) == expected


def test_one_line_per_row_with_unique_ids(tmp_path):
    report = run_import("stress-test-dataset", STUDY, tmp_path / "study.jsonl")
    bank = _bank(tmp_path / "study.jsonl")
    assert len(bank) == len(ROWS) == 748
    assert len({s["id"] for s in bank}) == 748
    assert report.counts == {"rows": 748, "scenarios": 748, "values": 1040}
    assert not report.unparsed


def test_a_row_becomes_values_nudge_message_and_provenance(tmp_path):
    run_import("stress-test-dataset", STUDY, tmp_path / "study.jsonl")
    first = _bank(tmp_path / "study.jsonl")[0]
    assert first["values"] == ["efficiency", "responsible_governance"]
    assert first["nudge"] == "efficiency"  # nudge_direction value1
    assert first["messages"] == [{"role": "user", "content": ROWS[0]["query"]}]
    assert first["id"].startswith("study-")
    provenance = first["provenance"]
    assert provenance["dataset"] == "jifanz/stress_testing_model_spec"
    assert (provenance["rank"], provenance["query_generator"], provenance["license"]) == (
        1,
        "o3",
        "Apache-2.0",
    )
    assert (provenance["value1"], provenance["value2"]) == ("efficiency", "responsible governance")
    assert "2510.07686" in provenance["citation"]


def test_importing_twice_gives_identical_output(tmp_path):
    run_import("stress-test-dataset", STUDY, tmp_path / "a.jsonl")
    run_import("stress-test-dataset", STUDY, tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    values_a = (tmp_path / "a.values.yaml").read_text("utf-8").split("\n", 1)  # line 1 names the bank
    values_b = (tmp_path / "b.values.yaml").read_text("utf-8").split("\n", 1)
    assert values_a[1] == values_b[1]


def test_csv_and_jsonl_rows_give_the_same_bank(tmp_path):
    source = tmp_path / "rows.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ROWS[0]))
        writer.writeheader()
        writer.writerows(ROWS)
    run_import("stress-test-dataset", source, tmp_path / "from_csv.jsonl")
    run_import("stress-test-dataset", STUDY, tmp_path / "from_jsonl.jsonl")
    assert (tmp_path / "from_csv.jsonl").read_bytes() == (tmp_path / "from_jsonl.jsonl").read_bytes()


def test_ids_do_not_depend_on_row_order(tmp_path):
    reversed_rows = tmp_path / "reversed.jsonl"
    reversed_rows.write_text("".join(json.dumps(r) + "\n" for r in reversed(ROWS[:20])), encoding="utf-8")
    forward = {s["id"] for s in import_stress_test_dataset(STUDY).document["scenarios"][:20]}
    backward = {s["id"] for s in import_stress_test_dataset(reversed_rows).document["scenarios"]}
    assert forward == backward


def test_bank_loads_when_a_spec_declares_the_emitted_values(tmp_path):
    run_import("stress-test-dataset", STUDY, tmp_path / "study.jsonl")
    values = yaml.safe_load((tmp_path / "study.values.yaml").read_text("utf-8"))["values"]
    spec = {
        "spec": "study",
        "levels": ["default"],
        "principles": [{"id": "p", "level": "default", "text": "Be helpful."}],
        "values": values,
        "scenarios": [{"include": "study.jsonl"}],
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    loaded = load_spec(tmp_path / "spec.yaml")
    assert len(loaded.scenarios) == 748
    assert loaded.scenarios[0].values == ("efficiency", "responsible_governance")


def test_bad_rows_are_reported_and_skipped(tmp_path):
    good = dict(ROWS[0])
    source = tmp_path / "rows.jsonl"
    lines = [
        good,
        {**good, "nudge_direction": "sideways", "query": "other"},
        {k: v for k, v in good.items() if k != "query"},
        good,
        {**good, "value2": "Efficiency", "query": "same value twice"},
    ]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    imported = import_stress_test_dataset(source)
    assert len(imported.document["scenarios"]) == 1
    reasons = [item.reason for item in imported.report.unparsed]
    assert "nudge_direction 'sideways' is not one of neutral, value1, value2" in reasons[0]
    assert reasons[1] == "missing column(s) query"
    assert reasons[2] == "same values, nudge and query as row 1"
    assert reasons[3] == "both values become the id 'efficiency'"


def test_bank_can_also_be_written_as_yaml(tmp_path):
    run_import("stress-test-dataset", STUDY, tmp_path / "study.yaml")
    bank = yaml.safe_load((tmp_path / "study.yaml").read_text("utf-8"))
    assert bank["license"] == "Apache-2.0" and len(bank["scenarios"]) == 748
    values = yaml.safe_load((tmp_path / "study.values.yaml").read_text("utf-8"))["values"]
    spec = {
        "spec": "study",
        "levels": ["default"],
        "principles": [{"id": "p", "level": "default", "text": "Be helpful."}],
        "values": values,
        "scenarios": [{"include": "study.yaml"}],
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    assert len(load_spec(tmp_path / "spec.yaml").scenarios) == 748
