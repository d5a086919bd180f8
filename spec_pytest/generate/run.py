"""Generating a scenario bank: pairs in, a bank file the spec includes out.

Per pair and query, the study's recipe (see `templates`): a neutral query, then one
rewrite leaning towards each value, and optionally a system/developer context: three
scenarios per query (more with contexts), ``queries_per_pair`` queries per pair. Each
generation is screened (refusals, incomplete answers) and checked against the scenarios
kept so far for near-duplicates; everything dropped is written down with its reason.

Every request goes through its own cassette, named from generator, template version,
pair and step. That is what makes a rerun give the same bank (it replays), and what makes
continuing a killed run cheap: finished pairs are in the ledger (see `ledger`), and a pair
that was under way replays the requests it had already made.

Pairs run one after another: vcrpy patches the SDK transport process-wide, so two
cassettes open at once in one process would catch each other's requests.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TextIO

from spec_pytest.core.response import Response
from spec_pytest.errors import ConfigError, InputError
from spec_pytest.generate.dedup import DEFAULT_THRESHOLD, ShingleIndex, Similarity
from spec_pytest.generate.ledger import BankFiles
from spec_pytest.generate.pairs import ValuePair
from spec_pytest.generate.progress import GenerationProgress
from spec_pytest.generate.screen import Screened, screen
from spec_pytest.generate.templates import TEMPLATE_VERSION, context_prompt, lean_prompt, neutral_prompt
from spec_pytest.pipeline.cost import PRICES, Price, Tally
from spec_pytest.providers import ModelParams, ModelRef, ProviderSettings, Registry
from spec_pytest.recording.cassettes import (
    EndpointSite,
    RecordMode,
    safe_component,
    use_cassette,
    will_replay,
)
from spec_pytest.secrets import scrub
from spec_pytest.spec.importers import dump_yaml, values_path
from spec_pytest.spec.model import Message

CONTEXT_ROLES = ("system", "developer")


@dataclass(frozen=True)
class GenerateOptions:
    """What shapes a generation run (the first five also shape the bank: see the ledger)."""

    generator: str
    cassette_dir: Path
    queries_per_pair: int = 1
    contexts: tuple[str, ...] = ()
    threshold: float = DEFAULT_THRESHOLD
    record_mode: RecordMode | str = RecordMode.ONCE
    params: ModelParams = field(default_factory=ModelParams)
    prices: Mapping[str, Price] = field(default_factory=lambda: dict(PRICES))
    write_values: bool = False
    rerecord_hint: str | None = None

    def __post_init__(self) -> None:
        ModelRef.parse(self.generator)  # a bad reference fails here, before any file is touched
        if self.queries_per_pair < 1:
            raise ConfigError("queries per pair must be at least 1")
        unknown = [c for c in self.contexts if c not in CONTEXT_ROLES]
        if unknown:
            raise ConfigError(f"context variants are {' or '.join(CONTEXT_ROLES)}, not {', '.join(unknown)}")

    def bank_settings(self) -> dict[str, Any]:
        return {
            "generator": self.generator,
            "template": TEMPLATE_VERSION,
            "queries_per_pair": self.queries_per_pair,
            "contexts": list(self.contexts),
            "threshold": self.threshold,
        }


@dataclass
class GenerationReport:
    """What a run produced, for the command's closing lines."""

    bank: Path
    dropped_file: Path
    pairs: int
    resumed_pairs: int
    kept: int
    dropped: Counter[str]
    tally: Tally
    values_file: Path | None = None

    def summary(self) -> str:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.dropped.items())) or "none"
        resumed = f" ({self.resumed_pairs} finished by an earlier run)" if self.resumed_pairs else ""
        lines = [
            f"{self.pairs} pairs{resumed}: {self.kept} scenarios in {self.bank}",
            f"dropped {sum(self.dropped.values())} ({reasons}), reasons in {self.dropped_file}",
            self.tally.summary(),
        ]
        if self.values_file:
            lines.append(f"value declarations for the including spec: {self.values_file}")
        return "\n".join(lines)


def generation_cassette(cassette_dir: Path, generator: str, pair: ValuePair, step: str) -> Path:
    """``DIR/generate/<provider>/<model>/<template>/<pair>/<step>.json``: one request each."""
    provider, _, model = generator.partition(":")
    parts = ["generate", provider, model, TEMPLATE_VERSION, pair.conflict or pair.key]
    return Path(cassette_dir).joinpath(*(safe_component(p) for p in parts), f"{safe_component(step)}.json")


def scenario_id(pair: ValuePair, nudge: str, messages: Sequence[Message]) -> str:
    """``gen-<hash>`` of what the scenario asks, so the same generation gets the same id."""
    data = [pair.conflict, pair.first, pair.second, nudge, [[m.role, m.content] for m in messages]]
    return "gen-" + hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:12]


@dataclass
class _Candidate:
    """One generation of a pair: a scenario line to keep, or the record of why not."""

    step: str
    line: dict[str, Any] | None = None
    drop: dict[str, Any] | None = None
    context: str | None = None


class _Generator:
    def __init__(self, options: GenerateOptions, registry: Registry, tally: Tally) -> None:
        self.options = options
        self.mode = RecordMode(options.record_mode)
        self.registry = registry
        self.tally = tally

    def ask(self, pair: ValuePair, step: str, messages: list[Message]) -> tuple[Response, str, Path]:
        """The generator's answer through the step's own cassette, and the date it was recorded."""
        path = generation_cassette(self.options.cassette_dir, self.options.generator, pair, step)
        replay = will_replay(path, self.mode)
        provider = self.registry.provider(self.options.generator, ProviderSettings(replay=replay))
        hint, secrets = self.options.rerecord_hint, self.registry.key_env_vars()
        endpoint = self.registry.endpoint(ModelRef.parse(self.options.generator).provider)
        site = EndpointSite(endpoint.name, endpoint.base_url)
        cassette_scope = use_cassette(path, self.mode, rerecord_hint=hint, secret_env_vars=secrets, site=site)
        with cassette_scope as cassette:
            response = provider.respond_sync(messages, self.options.params)
        self.tally.add(response, replayed=replay)
        return response, recorded_date(cassette), path

    def pair(self, pair: ValuePair) -> list[_Candidate]:
        out: list[_Candidate] = []
        earlier: list[str] = []
        for q in range(1, self.options.queries_per_pair + 1):
            step = f"q{q}.neutral"
            response, date, path = self.ask(pair, step, neutral_prompt(pair, earlier))
            got = screen(response, "query")
            if not got.ok:
                out.append(self._dropped(pair, step, "neutral", got, path, "its rewrites were not attempted"))
                continue
            assert got.text is not None
            earlier.append(got.text)
            neutral = self._line(pair, "neutral", [Message("user", got.text)], step, response, date, path)
            out.append(_Candidate(step, line=neutral))
            base = {"rewrites": neutral["id"], "query": q}
            for side, value in (("first", pair.first), ("second", pair.second)):
                lean_step = f"q{q}.lean-{side}"
                response, date, path = self.ask(pair, lean_step, lean_prompt(pair, got.text, value))
                lean = screen(response, "query")
                if not lean.ok:
                    out.append(self._dropped(pair, lean_step, value, lean, path))
                    continue
                assert lean.text is not None
                messages = [Message("user", lean.text)]
                line = self._line(pair, value, messages, lean_step, response, date, path, base)
                out.append(_Candidate(lean_step, line=line))
            for role in self.options.contexts:
                ctx_step = f"q{q}.context-{role}"
                response, date, path = self.ask(pair, ctx_step, context_prompt(pair, got.text, role))
                ctx = screen(response, "context")
                if not ctx.ok:
                    out.append(self._dropped(pair, ctx_step, "neutral", ctx, path, context=role))
                    continue
                assert ctx.text is not None
                messages = [Message(role, ctx.text), Message("user", got.text)]
                line = self._line(
                    pair, "neutral", messages, ctx_step, response, date, path, {**base, "context": role}
                )
                out.append(_Candidate(ctx_step, line=line, context=role))
        return out

    def _line(
        self,
        pair: ValuePair,
        nudge: str,
        messages: list[Message],
        step: str,
        response: Response,
        date: str,
        path: Path,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        # scrubbed before the id: a replay (which gives the placeholder) keeps the same id
        messages = [Message(m.role, scrub(m.content)) for m in messages]
        line: dict[str, Any] = {"id": scenario_id(pair, nudge, messages)}
        line.update({"conflict": pair.conflict} if pair.conflict else {"values": [pair.first, pair.second]})
        line["nudge"] = nudge
        line["messages"] = [{"role": m.role, "content": m.content} for m in messages]
        line["provenance"] = {
            "generator": self.options.generator,
            "generator_model": response.model,
            "template": TEMPLATE_VERSION,
            "value_pair": f"{pair.first} vs {pair.second}",
            "nudge": nudge,
            "step": step,
            "generated": date,
            **(extra or {}),
            "cassette": self._relative(path),
        }
        return line

    def _dropped(
        self,
        pair: ValuePair,
        step: str,
        nudge: str,
        got: Screened,
        path: Path,
        note: str = "",
        context: str | None = None,
    ) -> _Candidate:
        detail = f"{got.detail}; {note}" if note else got.detail
        detail = scrub(detail) if detail is not None else None  # it may quote the answer
        record = {
            "pair": pair.conflict or pair.key,
            "values": [pair.first, pair.second],
            "step": step,
            "nudge": nudge,
            "reason": got.reason,
            "detail": detail,
            "cassette": self._relative(path),
        }
        return _Candidate(step, drop=record, context=context)

    def _relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.options.cassette_dir).as_posix()
        except ValueError:
            return path.as_posix()


def recorded_date(cassette: Any) -> str:
    """The day the API answered (its Date header, kept in the cassette): stable across replays."""
    for _, response in getattr(cassette, "data", []):
        for name, value in (response.get("headers") or {}).items():
            if name.lower() == "date":
                text = value[0] if isinstance(value, list) else value
                try:
                    return parsedate_to_datetime(text).date().isoformat()
                except (TypeError, ValueError):
                    break
    return datetime.now(timezone.utc).date().isoformat()


def _text_of(line: Mapping[str, Any]) -> str:
    return "\n".join(m["content"] for m in line["messages"])


def _context_of(line: Mapping[str, Any]) -> str | None:
    roles = [m["role"] for m in line["messages"] if m["role"] != "user"]
    return roles[0] if roles else None


def generate_bank(
    pairs: Sequence[ValuePair],
    out: str | Path,
    options: GenerateOptions,
    registry: Registry,
    *,
    progress: TextIO | None = None,
    similarity: Iterable[tuple[str | None, Similarity]] | None = None,
) -> GenerationReport:
    """Generate (or continue generating) the bank ``out`` for ``pairs``.

    Writes ``out`` (scenarios kept), ``<stem>.dropped.jsonl`` (what was left out and why),
    ``<stem>.ledger.jsonl`` (what is finished) and, with ``write_values``, the value
    declarations ``<stem>.values.yaml``. Pairs the ledger lists are not generated again.
    ``similarity`` replaces the shingle index (e.g. embeddings), per context role.
    Raises LedgerError, the cassette errors and ProviderError; everything committed before
    an error stays, and the same command continues from there.
    """
    out = Path(out)
    keys = [p.conflict or p.key for p in pairs]
    if len(set(keys)) != len(keys):
        raise InputError("the same pair is listed twice; each pair is generated once per bank")
    files = BankFiles(out, options.bank_settings())
    finished = files.open()
    indexes: dict[str | None, Similarity] = dict(similarity or {})
    for line in files.kept_lines():
        role = _context_of(line)
        indexes.setdefault(role, ShingleIndex(options.threshold)).add(line["id"], _text_of(line))
    values_file = _write_values(out, pairs) if options.write_values else None

    tally = Tally(options.generator, options.prices)
    generator = _Generator(options, registry, tally)
    bar = GenerationProgress(len(pairs), stream=progress if progress is not None else sys.stderr)
    resumed = sum(1 for k in keys if k in finished)
    if resumed:
        bar.advance(resumed, "(finished earlier)")
    try:
        for pair, key in zip(pairs, keys, strict=True):
            if key in finished:
                continue
            kept, dropped = [], []
            for cand in generator.pair(pair):
                if cand.drop is not None:
                    dropped.append(cand.drop)
                    continue
                assert cand.line is not None
                index = indexes.setdefault(cand.context, ShingleIndex(options.threshold))
                text = _text_of(cand.line)
                near = index.nearest(text)
                if near is not None:
                    dropped.append(_duplicate(cand.line, near))
                    continue
                index.add(cand.line["id"], text)
                kept.append(cand.line)
            files.commit(key, kept, dropped)
            bar.advance(1, key)
    finally:
        bar.close()
    return GenerationReport(
        bank=out,
        dropped_file=files.dropped,
        pairs=len(pairs),
        resumed_pairs=resumed,
        kept=len(files.kept_lines()),
        dropped=_reasons(files.dropped),
        tally=tally,
        values_file=values_file,
    )


def _duplicate(line: Mapping[str, Any], near: tuple[str, float]) -> dict[str, Any]:
    prov = line["provenance"]
    return {
        "pair": line.get("conflict") or "__".join(line["values"]),
        "values": line.get("values"),
        "step": prov["step"],
        "nudge": line["nudge"],
        "reason": "near-duplicate",
        "detail": f"{near[1]:.2f} shingle similarity to {near[0]}",
        "duplicate_of": near[0],
        "similarity": round(near[1], 4),
        "id": line["id"],
        "messages": line["messages"],
        "cassette": prov["cassette"],
    }


def _reasons(path: Path) -> Counter[str]:
    if not path.exists():
        return Counter()
    lines = path.read_text(encoding="utf-8").split("\n")
    return Counter(json.loads(line)["reason"] for line in lines if line)


def _write_values(out: Path, pairs: Sequence[ValuePair]) -> Path:
    values: dict[str, str] = {}
    for p in pairs:
        values.setdefault(p.first, p.first_text or p.first.replace("_", " "))
        values.setdefault(p.second, p.second_text or p.second.replace("_", " "))
    target = values_path(out)
    header = f"# Values used by {out.name}; paste under `values:` in the spec that includes it.\n"
    target.write_text(header + dump_yaml({"values": dict(sorted(values.items()))}), encoding="utf-8")
    return target
