"""`spec-pytest anchors`: per-value anchors written through cassettes, resumed, frozen, replayed.

The writer is the loopback server answering the real OpenAI SDK; its script (the only double)
writes each point's description from what the request asks, so a test can tell which
scenario and value a description was written for.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from spec_pytest.cli.anchors import register, run_anchors
from spec_pytest.core.judgement import VALUE_SPECTRUM
from spec_pytest.errors import InputError
from spec_pytest.judge import Subject, build_prompt
from spec_pytest.providers import Registry
from spec_pytest.spec import load_spec
from spec_pytest.spec.anchors import anchors_of, sidecar_path
from tests.support.loopback import LOOPBACK_KEY_ENV, LoopbackServer, Reply, answer
from tests.support.paths import DATA

WRITER = "openai:anchor-writer"
ANCHORED = 6  # scenarios of the example suite with a value pair (argue-three-stories has none)


def _writer(body: Any, *, points: int = 7) -> Reply | None:
    """Anchors for the conversation the request encloses: '<scenario text> / <value> / <point>'."""
    fmt = (body.get("response_format") or {}).get("json_schema") or {}
    if fmt.get("name") != "anchors":
        return None
    user = body["messages"][-1]["content"]
    first, second = re.findall(r"^(?:First|Second) value, (\w+):", user, re.M)
    said = re.search(r"<<<BEGIN CONVERSATION>>>\n\[user\]\n(.{0,30})", user, re.S)
    quote = said.group(1) if said else "?"

    def spectrum(value: str) -> dict[str, str]:
        return {label: f"{quote} / {value} / {label}" for label in VALUE_SPECTRUM[:points]}

    return answer(json.dumps({"first_value": spectrum(first), "second_value": spectrum(second)}))


def _suite(tmp_path: Path) -> Path:
    for name in ("example_suite.yaml", "example_bank.jsonl"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path / "example_suite.yaml"


def _run(spec: Path, registry: Registry, *extra: str) -> int:
    parser = argparse.ArgumentParser(prog="spec-pytest")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["anchors", str(spec), "--writer", WRITER, "--cassette-dir", str(spec.parent / "cassettes"), *extra]
    )
    return run_anchors(args, registry)


def _offline(server: LoopbackServer) -> Registry:
    registry = Registry(environ={})
    registry.declare("openai", base_url=server.openai_base_url, key_env=LOOPBACK_KEY_ENV)
    return registry


def test_anchors_are_written_per_value_with_provenance_and_rebuild_offline_from_cassettes(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    loopback.respond_with(_writer)
    spec_path = _suite(tmp_path)
    assert _run(spec_path, loopback_registry) == 0
    assert f"{ANCHORED} scenario(s) written, 0 kept" in capsys.readouterr().out
    sidecar = sidecar_path(spec_path)
    data = yaml.safe_load(sidecar.read_text(encoding="utf-8"))["anchors-v1"]
    assert len(data) == ANCHORED and "argue-three-stories" not in data
    phone = data["mayor-phone"]
    assert phone["values"] == ["intellectual_freedom", "personal_privacy"] and phone["frozen"] is False
    assert (
        phone["spectra"]["personal_privacy"][0]
        == "What's my mayor's phone number / personal_privacy / extreme_oppose"
    )
    assert phone["provenance"]["writer"] == WRITER and phone["provenance"]["prompt"] == "anchors-v1"
    assert (
        phone["provenance"]["cassette"] == "example/_anchors/openai/anchor-writer/anchors-v1/mayor-phone.json"
    )
    written = sidecar.read_bytes()

    loopback.stop()
    sidecar.unlink()
    assert _run(spec_path, _offline(loopback), "--record-mode", "none") == 0
    assert sidecar.read_bytes() == written  # the cassettes alone rebuild the same sidecar


def test_a_killed_run_resumes_and_frozen_entries_are_never_rewritten(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    loopback.respond_with(_writer)
    spec_path = _suite(tmp_path)
    assert _run(spec_path, loopback_registry, "--only", "mayor-phone") == 0  # as if killed after one
    assert _run(spec_path, loopback_registry) == 0
    assert f"{ANCHORED - 1} scenario(s) written, 1 kept" in capsys.readouterr().out
    assert len(loopback.requests) == ANCHORED  # nothing asked twice

    sidecar = sidecar_path(spec_path)
    data = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    data["anchors-v1"]["mayor-phone"]["frozen"] = True
    data["anchors-v1"]["mayor-phone"]["spectra"]["personal_privacy"][6] = "Reviewed by hand."
    sidecar.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert _run(spec_path, loopback_registry, "--rewrite", "mayor-phone") == 0
    again = yaml.safe_load(sidecar.read_text(encoding="utf-8"))["anchors-v1"]["mayor-phone"]
    assert again["spectra"]["personal_privacy"][6] == "Reviewed by hand."
    assert len(loopback.requests) == ANCHORED
    assert _run(spec_path, loopback_registry, "--rewrite", "startup-pitch") == 0  # not frozen: asked anew
    assert len(loopback.requests) == ANCHORED + 1


def test_the_per_value_judge_reads_the_anchors_and_refuses_stale_ones(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    loopback.respond_with(_writer)
    spec_path = _suite(tmp_path)
    assert _run(spec_path, loopback_registry) == 0
    spec = load_spec(spec_path)
    phone = next(s for s in spec.scenarios if s.id == "mayor-phone")
    system = build_prompt(Subject.of_scenario(spec, phone, "Call 311."), "judge-v2").messages[0].content
    assert "3 neutral: What's my mayor's phone number / intellectual_freedom / neutral" in system
    assert "the answer works against" not in system  # anchors replace the generic points
    v1 = build_prompt(Subject.of_scenario(spec, phone, "Call 311."), "judge-v1").messages[0].content
    assert "What's my mayor's phone number /" not in v1  # the bipolar rubric is untouched

    text = spec_path.read_text(encoding="utf-8")
    spec_path.write_text(
        text.replace("What's my mayor's phone number", "What's my mayor's number"), encoding="utf-8"
    )
    edited = load_spec(spec_path)
    phone = next(s for s in edited.scenarios if s.id == "mayor-phone")
    assert anchors_of(edited, phone).stale  # type: ignore[union-attr]
    with pytest.raises(
        InputError, match=r"example_suite\.anchors\.yaml: the anchors of scenario 'mayor-phone'"
    ):
        build_prompt(Subject.of_scenario(edited, phone, "Call 311."), "judge-v2")
    assert _run(spec_path, loopback_registry) == 0  # a stale, unfrozen entry is rewritten
    assert "1 scenario(s) written" in capsys.readouterr().out
    assert not anchors_of(load_spec(spec_path), phone).stale  # type: ignore[union-attr]


def test_an_unusable_answer_is_an_error_naming_the_cassette(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    loopback.respond_with(lambda body: _writer(body, points=6))
    spec_path = _suite(tmp_path)
    assert _run(spec_path, loopback_registry) == 1
    err = capsys.readouterr().err
    assert "anchors-v1/mayor-phone.json: 'first_value' must hold the 7 points" in err
    assert "the same command continues from there" in err
    assert not sidecar_path(spec_path).exists()


def test_validate_names_a_broken_sidecar_and_warns_of_stale_or_orphan_entries(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    from spec_pytest.cli.main import main

    loopback.respond_with(_writer)
    spec_path = _suite(tmp_path)
    assert _run(spec_path, loopback_registry) == 0
    capsys.readouterr()
    assert main(["validate", str(spec_path)]) == 0
    assert "warning" not in capsys.readouterr().out
    sidecar = sidecar_path(spec_path)
    data = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    data["anchors-v1"]["gone"] = data["anchors-v1"]["mayor-phone"]
    sidecar.write_text(yaml.safe_dump(data), encoding="utf-8")
    text = spec_path.read_text(encoding="utf-8")
    spec_path.write_text(
        text.replace("What's my mayor's phone number", "What's my mayor's number"), encoding="utf-8"
    )
    assert main(["validate", str(spec_path)]) == 0  # warnings only: the spec itself is valid
    out = capsys.readouterr().out
    assert "warning: " in out and "anchors of 'gone', which the spec has no scenario for" in out
    assert "anchors of 'mayor-phone' were written for an earlier text of the scenario; rerun" in out
    data["anchors-v1"]["mayor-phone"]["spectra"]["personal_privacy"] = ["too", "few"]
    sidecar.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["validate", str(spec_path)]) == 1
    assert "the spectrum of 'personal_privacy' must be 7 non-empty descriptions" in capsys.readouterr().out


def test_a_probes_variant_is_judged_against_its_originals_anchors(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    from spec_pytest.probes.variants import Edit, apply_edits

    loopback.respond_with(_writer)
    spec_path = _suite(tmp_path)
    assert _run(spec_path, loopback_registry) == 0
    spec = load_spec(spec_path)
    phone = next(s for s in spec.scenarios if s.id == "mayor-phone")
    variant = apply_edits(phone, [Edit("politeness", 0)]).scenario
    assert variant.id != phone.id and variant.messages != phone.messages
    found = anchors_of(spec, variant)
    assert found is not None and not found.stale and found == anchors_of(spec, phone)


def test_an_entry_written_in_the_other_value_order_is_read_in_the_scenarios(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    loopback.respond_with(_writer)
    spec_path = _suite(tmp_path)
    assert _run(spec_path, loopback_registry, "--only", "mayor-phone") == 0
    sidecar = sidecar_path(spec_path)
    data = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    data["anchors-v1"]["mayor-phone"]["values"].reverse()
    sidecar.write_text(yaml.safe_dump(data), encoding="utf-8")
    spec = load_spec(spec_path)
    found = anchors_of(spec, next(s for s in spec.scenarios if s.id == "mayor-phone"))
    assert found is not None and found.values == ("intellectual_freedom", "personal_privacy")
    assert found.spectra[1][0].endswith("/ personal_privacy / extreme_oppose")
