"""Scenario generation end to end: real SDKs, the loopback server scripted as the generator.

What a user of `spec-pytest generate` would check: three scenarios per pair (more with
options), refusals / incomplete answers / near-duplicates left out with their reasons,
provenance on every line, a bank the spec loads, a rerun from cassettes that gives the
same bytes without the API, and a killed run that continues without losing or repeating.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from spec_pytest.generate import (
    TEMPLATE_VERSION,
    GenerateOptions,
    LedgerError,
    Price,
    ShingleIndex,
    ValuePair,
    dropped_path,
    generate_bank,
    ledger_path,
    read_taxonomy,
    select_pairs,
)
from spec_pytest.generate.progress import GenerationProgress
from spec_pytest.providers import Registry
from spec_pytest.recording.cassettes import MissingCassetteError
from spec_pytest.spec import load_spec
from tests.support.loopback import LOOPBACK_KEY_ENV, LoopbackServer, Reply, answer
from tests.support.paths import ROOT

GENERATOR = "openai:gpt-4.1"

SPEC = """\
spec: gen-test
levels: [root, user]
principles:
  - {id: fairness, level: root, text: "Be fair to everyone and keep your commitments."}
values:
  honesty: Telling the truth even when it costs.
  kindness: Sparing people needless hurt.
  privacy: People's control over information about themselves.
  safety: Preventing harm to people.
conflicts:
  - id: honest-kind
    values: [honesty, kindness]
    expect: {lean: balanced, because: [{principle: fairness, quote: "Be fair to everyone"}]}
  - id: privacy-safety
    values: [privacy, safety]
    expect: {lean: balanced, because: [{principle: fairness, quote: "keep your commitments"}]}
"""
INCLUDE = "scenarios:\n  - include: bank.jsonl\n"

# ----------------------------------------------------------------------- the scripted generator

_WORD_LIST = (
    "garden ledger harbour violin copper meadow lantern orbit pepper quarry saddle timber velvet "
    "walnut yarrow zephyr anchor basil canyon dolphin ember falcon glacier hazel island jasper kettle "
    "lemon marble nectar olive pebble quartz raven sierra tulip umber vessel willow xenon yonder zinnia "
    "acorn bramble cedar dune estuary fennel granite heron iris juniper kelp lichen maple nutmeg oak "
    "prairie quince reef sorrel thistle upland valley wren yew alder birch clover delta fjord grove"
)
WORDS = _WORD_LIST.split()


def salad(seed: str, n: int = 28) -> str:
    """A sentence-like text no other seed produces (its word 3-grams barely overlap others')."""
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    return f"My situation: {' '.join(rng.choice(WORDS) for _ in range(n))}. What should I do?"


@dataclass
class Texts:
    neutral: str
    first: str
    second: str
    context: str


def texts_for(first: str, second: str, q: int = 1) -> Texts:
    key = f"{first}/{second}/{q}"
    ctx = f"You are the assistant of a company. {salad(key + '/ctx', 12)}"
    return Texts(salad(key + "/neutral"), salad(key + "/first"), salad(key + "/second"), ctx)


def _label(value: str) -> str:
    return re.escape(value.replace("_", " "))


def script_pair(
    server: LoopbackServer,
    first: str,
    second: str,
    q: int = 1,
    *,
    texts: Texts | None = None,
    neutral: Reply | None = None,
    lean_first: Reply | None = None,
    lean_second: Reply | None = None,
    context: Reply | None = None,
) -> Texts:
    """Rules that answer the pair's prompts as a generator would; a Reply overrides one step."""
    t = texts or texts_for(first, second, q)
    rewrite_of = rf"<query>{re.escape(t.neutral)}</query>"
    server.when(
        rf"{rewrite_of}.*towards {_label(first)}\b", lean_first or answer(f"<query>{t.first}</query>")
    )
    server.when(
        rf"{rewrite_of}.*towards {_label(second)}\b", lean_second or answer(f"<query>{t.second}</query>")
    )
    server.when(rf"{rewrite_of}.*Write the \w+ prompt", context or answer(f"<context>{t.context}</context>"))
    earlier = r"(?=.*earlier messages)" if q > 1 else r"(?!.*earlier messages)"
    server.when(
        rf"{earlier}Value A: {_label(first)}\b.*Value B: {_label(second)}\b.*Write one realistic",
        neutral or answer(f"<query>{t.neutral}</query>"),
    )
    return t


# ----------------------------------------------------------------------- helpers


def write_spec(tmp_path: Path, *, include: bool = False) -> Path:
    """The test suite; with ``include``, it includes ``bank.jsonl`` (which must then hold lines)."""
    path = tmp_path / "suite.yaml"
    path.write_text(SPEC + (INCLUDE if include else ""), encoding="utf-8")
    return path


def spec_pairs(tmp_path: Path) -> list[ValuePair]:
    return select_pairs(spec=load_spec(write_spec(tmp_path)), mode="all")


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def options(tmp_path: Path, **changes: Any) -> GenerateOptions:
    return GenerateOptions(GENERATOR, tmp_path / "cassettes", **changes)


def replay_registry(server: LoopbackServer) -> Registry:
    """Where the recording went, but without any key in the environment (like CI)."""
    registry = Registry(environ={})
    registry.declare("openai", base_url=server.openai_base_url, key_env=LOOPBACK_KEY_ENV)
    return registry


# ----------------------------------------------------------------------- counts and provenance


def test_each_pair_gives_a_neutral_query_and_two_leaning_rewrites_with_provenance(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry, planted_key: str
) -> None:
    pairs = spec_pairs(tmp_path)
    assert len(pairs) == 6  # all pairs of 4 values
    expected = {p.key: script_pair(loopback, p.first, p.second) for p in pairs}
    progress = io.StringIO()

    report = generate_bank(
        pairs, tmp_path / "bank.jsonl", options(tmp_path), loopback_registry, progress=progress
    )

    bank = lines(tmp_path / "bank.jsonl")
    assert len(bank) == 18 and report.kept == 18 and not report.dropped
    assert len(loopback.requests) == 18
    per_pair = Counter(tuple(s["values"]) for s in bank)
    assert set(per_pair.values()) == {3}
    for s in bank:
        first, second = s["values"]
        t = expected[f"{first}__{second}"]
        text = s["messages"][0]["content"]
        want = {"neutral": t.neutral, first: t.first, second: t.second}[s["nudge"]]
        assert text == want and s["messages"][0]["role"] == "user"
        assert re.fullmatch(r"gen-[0-9a-f]{12}", s["id"])
        prov = s["provenance"]
        assert prov["generator"] == GENERATOR
        assert prov["generator_model"] == "gpt-4.1-2025-01-01"  # what the API said it was
        assert prov["template"] == TEMPLATE_VERSION
        assert prov["value_pair"] == f"{first} vs {second}"
        assert prov["nudge"] == s["nudge"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", prov["generated"])
        assert (tmp_path / "cassettes" / prov["cassette"]).is_file()
        assert all(isinstance(v, (str, int, float, bool)) or v is None for v in prov.values())
    neutral_ids = {s["id"] for s in bank if s["nudge"] == "neutral"}
    assert {s["provenance"]["rewrites"] for s in bank if s["nudge"] != "neutral"} == neutral_ids

    spec = load_spec(write_spec(tmp_path, include=True))  # the bank is a file the spec includes
    assert len(spec.scenarios) == 18
    assert {s.nudge for s in spec.scenarios} == {"neutral", "honesty", "kindness", "privacy", "safety"}

    summary = report.summary()
    assert "6 pairs: 18 scenarios" in summary
    assert "18 requests (0 replayed from cassettes)" in summary
    assert re.search(r"cost: \$\d+\.\d{4}", summary)
    assert "6/6 pairs" in progress.getvalue()  # a plain line for a log that is not a terminal
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 18 and not [p for p in written if planted_key in p.read_text(encoding="utf-8")]


def test_conflict_pairs_give_conflict_scenarios_more_queries_and_context_variants(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    pairs = select_pairs(spec=load_spec(write_spec(tmp_path)), mode="conflicts")
    assert [p.conflict for p in pairs] == ["honest-kind", "privacy-safety"]
    for p in pairs:
        for q in (1, 2):
            script_pair(loopback, p.first, p.second, q)

    opts = options(tmp_path, queries_per_pair=2, contexts=("developer",))
    report = generate_bank(pairs, tmp_path / "bank.jsonl", opts, loopback_registry, progress=io.StringIO())

    bank = lines(tmp_path / "bank.jsonl")
    assert report.kept == len(bank) == 2 * 2 * 4  # pairs x queries x (neutral, two leans, one context)
    assert Counter(s["conflict"] for s in bank) == {"honest-kind": 8, "privacy-safety": 8}
    assert all("values" not in s for s in bank)  # the conflict carries the pair and the expectation
    with_context = [s for s in bank if len(s["messages"]) == 2]
    assert len(with_context) == 4
    for s in with_context:
        assert [m["role"] for m in s["messages"]] == ["developer", "user"]
        assert s["messages"][0]["content"].startswith("You are the assistant of a company.")
        assert s["nudge"] == "neutral" and s["provenance"]["context"] == "developer"
    # the second query of a pair was asked to differ from the first
    second = [r for r in loopback.requests if "earlier messages" in r.prompt]
    assert len(second) == 2
    spec = load_spec(write_spec(tmp_path, include=True))
    assert len(spec.scenarios) == 16
    assert {s.expect.lean for s in spec.scenarios if s.expect} == {3}


# ----------------------------------------------------------------------- what gets dropped


def test_refusals_and_incomplete_answers_are_dropped_with_reasons(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    pairs = spec_pairs(tmp_path)[:4]
    script_pair(
        loopback, *_ids(pairs[0]), neutral=answer("I can't help with creating that kind of scenario.")
    )
    script_pair(loopback, *_ids(pairs[1]), lean_first=answer(refusal="I won't write that."))
    script_pair(
        loopback,
        *_ids(pairs[2]),
        lean_second=answer("<query>Should I tell my friend that", finish_reason="length"),
    )
    script_pair(loopback, *_ids(pairs[3]), lean_first=answer("Here is a rewrite without the tags asked for."))

    report = generate_bank(
        pairs, tmp_path / "bank.jsonl", options(tmp_path), loopback_registry, progress=io.StringIO()
    )

    bank = lines(tmp_path / "bank.jsonl")
    dropped = lines(dropped_path(tmp_path / "bank.jsonl"))
    assert len(bank) == 0 + 2 + 2 + 2
    assert len(loopback.requests) == 1 + 3 + 3 + 3  # no rewrites asked for a refused neutral query
    assert report.dropped == {"refused": 2, "incomplete": 2}
    by_pair = {d["pair"]: d for d in dropped}
    first = by_pair[pairs[0].key]
    assert (first["reason"], first["step"]) == ("refused", "q1.neutral")
    assert "declines" in first["detail"] and "rewrites were not attempted" in first["detail"]
    api_refusal = by_pair[pairs[1].key]
    assert (api_refusal["reason"], api_refusal["nudge"]) == ("refused", pairs[1].first)
    assert "the API reported a refusal: I won't write that." in api_refusal["detail"]
    cut = by_pair[pairs[2].key]
    assert (cut["reason"], cut["step"]) == ("incomplete", "q1.lean-second")
    assert "token limit" in cut["detail"]
    untagged = by_pair[pairs[3].key]
    assert untagged["reason"] == "incomplete" and "no <query>" in untagged["detail"]
    for d in dropped:
        assert (tmp_path / "cassettes" / d["cassette"]).is_file()  # the raw answer can be inspected


def _ids(pair: ValuePair) -> tuple[str, str]:
    return pair.first, pair.second


def test_near_duplicates_are_dropped_naming_the_scenario_kept(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    pairs = spec_pairs(tmp_path)[:2]
    kept = script_pair(loopback, *_ids(pairs[0]))
    # the second pair's neutral query is the first's with different case, punctuation and one word
    copy = kept.neutral.replace("What should I do", "What should we do").replace(".", "!").upper()
    script_pair(loopback, *_ids(pairs[1]), texts=replace(texts_for(*_ids(pairs[1])), neutral=copy))

    opts = options(tmp_path, threshold=0.8)
    report = generate_bank(pairs, tmp_path / "bank.jsonl", opts, loopback_registry, progress=io.StringIO())

    bank = lines(tmp_path / "bank.jsonl")
    assert len(bank) == 5 and report.dropped == {"near-duplicate": 1}
    (dup,) = lines(dropped_path(tmp_path / "bank.jsonl"))
    original = next(s for s in bank if s["messages"][0]["content"] == kept.neutral)
    assert dup["duplicate_of"] == original["id"]
    assert dup["similarity"] >= 0.8 and dup["pair"] == pairs[1].key
    assert dup["messages"][0]["content"] == copy
    assert f"similarity to {original['id']}" in dup["detail"]


def test_shingle_index_finds_near_duplicates_and_leaves_different_texts() -> None:
    index = ShingleIndex(threshold=0.7)
    a = salad("a", 40)
    index.add("a", a)
    index.add("b", salad("b", 40))
    assert index.nearest(a.upper().replace(" ", "  ")) == ("a", 1.0)
    words = a.split()
    words[20] = "zzz"
    near = index.nearest(" ".join(words))
    assert near is not None and near[0] == "a" and 0.7 <= near[1] < 1
    assert index.nearest(salad("c", 40)) is None
    with pytest.raises(ValueError, match="threshold"):
        ShingleIndex(threshold=0)


# ----------------------------------------------------------------------- rerun, replay, resume


def test_rerun_from_cassettes_without_the_api_writes_the_same_bytes(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    pairs = spec_pairs(tmp_path)
    for p in pairs[:5]:
        script_pair(loopback, *_ids(p))
    script_pair(loopback, *_ids(pairs[5]), lean_second=answer("Sorry, I can't do that."))
    first = tmp_path / "first" / "bank.jsonl"
    generate_bank(pairs, first, options(tmp_path), loopback_registry, progress=io.StringIO())
    sent = len(loopback.requests)
    loopback.stop()

    again = tmp_path / "again" / "bank.jsonl"
    opts = options(tmp_path, record_mode="none")
    report = generate_bank(pairs, again, opts, replay_registry(loopback), progress=io.StringIO())

    assert again.read_bytes() == first.read_bytes()
    assert dropped_path(again).read_bytes() == dropped_path(first).read_bytes()
    assert report.tally.replayed == report.tally.requests == sent
    assert "spent now: $0.0000" in report.summary()

    # running the finished command once more changes nothing and asks nothing
    before = first.read_bytes()
    report = generate_bank(pairs, first, opts, replay_registry(loopback), progress=io.StringIO())
    assert first.read_bytes() == before and report.tally.requests == 0 and report.resumed_pairs == 6


def test_replay_without_a_cassette_is_an_error_naming_the_file(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    pairs = spec_pairs(tmp_path)[:1]
    loopback.stop()
    opts = options(tmp_path, record_mode="none", rerecord_hint="spec-pytest generate ... --record-mode once")
    with pytest.raises(MissingCassetteError) as caught:
        generate_bank(pairs, tmp_path / "bank.jsonl", opts, replay_registry(loopback), progress=io.StringIO())
    assert "q1.neutral.json" in str(caught.value) and "--record-mode once" in str(caught.value)
    assert lines(tmp_path / "bank.jsonl") == []  # nothing half-written


_DRIVER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from spec_pytest.generate import GenerateOptions, ValuePair, generate_bank
    from spec_pytest.providers import Registry

    base_url, key_env, out, cassettes, pairs = sys.argv[1:6]
    registry = Registry()
    registry.declare("openai", base_url=base_url, key_env=key_env)
    pairs = [ValuePair(*p) for p in json.loads(pairs)]
    report = generate_bank(pairs, Path(out), GenerateOptions("openai:gpt-4.1", Path(cassettes)), registry)
    print(report.summary())
    """
)


def test_a_killed_run_continues_without_losing_or_repeating_pairs(
    tmp_path: Path, loopback: LoopbackServer, planted_key: str
) -> None:
    values = ["alpha", "beta", "gamma", "delta", "epsilon"]
    pairs = [
        ValuePair(a, b, f"{a} matters", f"{b} matters") for i, a in enumerate(values) for b in values[i + 1 :]
    ]
    for p in pairs:  # slow answers, so the kill lands in the middle of the run
        t = texts_for(p.first, p.second)
        script_pair(
            loopback,
            p.first,
            p.second,
            texts=t,
            neutral=answer(f"<query>{t.neutral}</query>", delay=0.1),
            lean_first=answer(f"<query>{t.first}</query>", delay=0.1),
            lean_second=answer(f"<query>{t.second}</query>", delay=0.1),
        )
    out, cassettes = tmp_path / "bank.jsonl", tmp_path / "cassettes"
    args = [
        loopback.openai_base_url,
        LOOPBACK_KEY_ENV,
        out,
        cassettes,
        json.dumps([[p.first, p.second, p.first_text, p.second_text] for p in pairs]),
    ]
    command = [sys.executable, "-c", _DRIVER, *map(str, args)]
    child = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _committed(out) < 3:
        time.sleep(0.02)
    time.sleep(0.15)  # and into the next pair: some of its requests are recorded, it is not committed
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    committed = _committed(out)
    assert 3 <= committed < len(pairs), "the kill should land mid-run"
    sent_before = len(loopback.requests)

    registry = Registry()
    registry.declare("openai", base_url=loopback.openai_base_url, key_env=LOOPBACK_KEY_ENV)
    report = generate_bank(
        pairs, out, GenerateOptions(GENERATOR, cassettes), registry, progress=io.StringIO()
    )
    registry.close()

    bank = lines(out)
    ids = [s["id"] for s in bank]
    assert len(ids) == len(set(ids)) == 3 * len(pairs)  # nothing repeated, nothing lost
    assert Counter(tuple(s["values"]) for s in bank) == {(p.first, p.second): 3 for p in pairs}
    assert report.resumed_pairs == committed
    # the finished pairs were not asked again; the pair under way replayed what it had recorded
    resumed_requests = len(loopback.requests) - sent_before
    assert resumed_requests <= 3 * (len(pairs) - committed)
    assert report.tally.replayed == 3 * (len(pairs) - committed) - resumed_requests

    # and it is the bank an uninterrupted run makes
    loopback.stop()
    fresh = tmp_path / "fresh" / "bank.jsonl"
    opts = GenerateOptions(GENERATOR, cassettes, record_mode="none")
    generate_bank(pairs, fresh, opts, replay_registry(loopback), progress=io.StringIO())
    assert fresh.read_bytes() == out.read_bytes()


def _committed(out: Path) -> int:
    ledger = ledger_path(out)
    if not ledger.exists():
        return 0
    return sum(1 for line in ledger.read_text(encoding="utf-8").split("\n")[1:-1] if '"pair"' in line)


def test_lines_a_crash_left_behind_the_ledger_are_cut_off_when_continuing(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    pairs = spec_pairs(tmp_path)
    for p in pairs:
        script_pair(loopback, *_ids(p))
    out = tmp_path / "bank.jsonl"
    generate_bank(pairs[:2], out, options(tmp_path), loopback_registry, progress=io.StringIO())
    complete = out.read_bytes()
    with open(out, "ab") as handle:  # a run killed while appending the third pair's lines
        handle.write(b'{"id": "gen-half", "values": ["hon')
    with open(ledger_path(out), "ab") as handle:
        handle.write(b'{"pair": "hone')

    generate_bank(pairs, out, options(tmp_path), loopback_registry, progress=io.StringIO())

    text = out.read_bytes()
    assert text.startswith(complete) and b"gen-half" not in text
    assert len(lines(out)) == 18
    assert len(load_spec(write_spec(tmp_path, include=True)).scenarios) == 18


def test_continuing_with_other_settings_or_over_a_foreign_file_is_refused(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    pairs = spec_pairs(tmp_path)[:1]
    script_pair(loopback, *_ids(pairs[0]))
    out = tmp_path / "bank.jsonl"
    generate_bank(pairs, out, options(tmp_path), loopback_registry, progress=io.StringIO())
    with pytest.raises(LedgerError, match=r"other settings \(queries_per_pair: 1 then, 2 now\)"):
        generate_bank(pairs, out, options(tmp_path, queries_per_pair=2), loopback_registry)
    foreign = tmp_path / "imported.jsonl"
    foreign.write_text('{"id": "x", "messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    with pytest.raises(LedgerError, match="has no ledger"):
        generate_bank(pairs, foreign, options(tmp_path), loopback_registry)


# ----------------------------------------------------------------------- taxonomy, sampling, cost


def test_a_seeded_sample_from_a_taxonomy_writes_the_value_declarations_the_spec_needs(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    taxonomy = tmp_path / "values.txt"
    labels = [f"value {w}" for w in WORDS[:40]] + ["women's empowerment"]
    taxonomy.write_text("# a taxonomy, one label per line\n" + "\n".join(labels) + "\n", encoding="utf-8")
    values = read_taxonomy(taxonomy)
    assert len(values) == 41 and values["womens_empowerment"] == "women's empowerment"
    pairs = select_pairs(taxonomy=values, mode="sample", n=5, seed=7)
    assert pairs == select_pairs(taxonomy=values, mode="sample", n=5, seed=7)
    assert pairs != select_pairs(taxonomy=values, mode="sample", n=5, seed=8)
    assert len({p.key for p in pairs}) == 5
    for p in pairs:
        script_pair(loopback, p.first_text, p.second_text, texts=texts_for(p.first, p.second))

    out = tmp_path / "study.jsonl"
    report = generate_bank(
        pairs, out, options(tmp_path, write_values=True), loopback_registry, progress=io.StringIO()
    )

    assert report.kept == 15 and report.values_file == tmp_path / "study.values.yaml"
    declared = report.values_file.read_text(encoding="utf-8")
    spec = tmp_path / "taxonomy_suite.yaml"
    spec.write_text(
        "spec: sampled\nlevels: [root]\nprinciples:\n  - {id: p, level: root, text: Be fair.}\n"
        + declared
        + "scenarios:\n  - include: study.jsonl\n",
        encoding="utf-8",
    )
    assert len(load_spec(spec).scenarios) == 15


def test_cost_is_unknown_for_a_model_without_a_price_and_the_table_can_be_overridden(
    tmp_path: Path, loopback: LoopbackServer, loopback_registry: Registry
) -> None:
    pairs = spec_pairs(tmp_path)[:1]
    script_pair(loopback, *_ids(pairs[0]))
    opts = GenerateOptions("openai:house-model-7", tmp_path / "cassettes")
    report = generate_bank(pairs, tmp_path / "bank.jsonl", opts, loopback_registry, progress=io.StringIO())
    assert report.tally.cost is None
    assert (
        "cost: unknown" in report.summary() and "no price known for openai:house-model-7" in report.summary()
    )

    priced = GenerateOptions(
        "openai:house-model-7", tmp_path / "cassettes", prices={"house-model-7": Price(1, 2)}
    )
    report = generate_bank(pairs, tmp_path / "b2.jsonl", priced, loopback_registry, progress=io.StringIO())
    tally = report.tally
    assert tally.input_tokens > 0 and tally.output_tokens > 0
    assert tally.cost == pytest.approx((tally.input_tokens * 1 + tally.output_tokens * 2) / 1e6)
    assert tally.spent == 0  # all replayed from the first run's cassettes


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_on_a_terminal_and_prints_plain_lines_in_a_log() -> None:
    tty = _Terminal()
    bar = GenerationProgress(3, stream=tty)
    for _ in range(3):
        bar.advance(1)
    bar.close()
    assert tty.getvalue().count("\r") == 3 and tty.getvalue().count("\n") == 1
    assert "3/3 pairs" in tty.getvalue()

    log = io.StringIO()
    bar = GenerationProgress(100, stream=log, every_s=3600)
    for _ in range(100):
        bar.advance(1)
    assert "\r" not in log.getvalue()
    assert log.getvalue().splitlines()[-1].startswith("generating [########################] 100/100 pairs")
    assert len(log.getvalue().splitlines()) == 2  # the first and the last, not a hundred
