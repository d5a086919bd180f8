"""`spec-pytest generate` as the lead wires it: parser + run function, against the loopback."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from spec_pytest.cli.generate import add_generate_parser, run_generate
from spec_pytest.providers import Registry
from spec_pytest.spec import load_spec
from tests.support.loopback import LOOPBACK_KEY_ENV, LoopbackServer
from tests.unit.generate.test_generate import INCLUDE, SPEC, script_pair


def parse(*argv: str | Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="spec-pytest")
    add_generate_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["generate", *map(str, argv)])


def test_generate_writes_a_bank_the_including_spec_validates_and_reruns_offline(
    tmp_path: Path,
    loopback: LoopbackServer,
    loopback_registry: Registry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = tmp_path / "suite.yaml"
    spec.write_text(SPEC + INCLUDE, encoding="utf-8")  # includes a bank that does not exist yet
    for first, second in (("honesty", "kindness"), ("privacy", "safety")):
        script_pair(loopback, first, second)
    out = tmp_path / "bank.jsonl"
    argv = (spec, "--generator", "openai:gpt-4.1", "--out", out, "--cassette-dir", tmp_path / "cassettes")

    assert run_generate(parse(*argv), loopback_registry) == 0

    captured = capsys.readouterr()
    assert "2 pairs: 6 scenarios in" in captured.out
    assert "6 requests (0 replayed from cassettes)" in captured.out
    assert f"{spec} includes {out}; check it with: spec-pytest validate {spec}" in captured.out
    assert "generating [" in captured.err and "2/2 pairs" in captured.err
    assert {s.conflict for s in load_spec(spec).scenarios} == {"honest-kind", "privacy-safety"}
    bank = out.read_bytes()

    loopback.stop()
    offline = Registry(environ={})
    offline.declare("openai", base_url=loopback.openai_base_url, key_env=LOOPBACK_KEY_ENV)
    out.unlink()
    for side in ("dropped", "ledger"):
        (tmp_path / f"bank.{side}.jsonl").unlink()
    assert run_generate(parse(*argv, "--record-mode", "none", "-q"), offline) == 0
    assert out.read_bytes() == bank
    assert "generating" not in capsys.readouterr().err

    # pairs nobody recorded (plain value pairs, not conflicts): an error naming the cassette and the fix
    argv_all = (*argv, "--pairs", "all", "--record-mode", "none")
    assert run_generate(parse(*argv_all), offline) == 1
    err = capsys.readouterr().err
    assert "honesty__kindness/q1.neutral.json" in err and "--record-mode once" in err
    assert "the same command continues from there" in err


def test_usage_errors_exit_2_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "suite.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    assert run_generate(parse(spec, "--generator", "openai:o3", "--out", tmp_path / "bank.yaml")) == 2
    assert "--out must be a .jsonl file" in capsys.readouterr().err
    assert run_generate(parse(spec, "--generator", "o3", "--out", tmp_path / "b.jsonl")) == 2
    assert "needs a provider prefix" in capsys.readouterr().err
    assert (
        run_generate(parse(spec, "--generator", "openai:o3", "--out", tmp_path / "b.jsonl", "--sample", "99"))
        == 2
    )
    assert "asked for 99 pairs but 4 values make only 6" in capsys.readouterr().err
