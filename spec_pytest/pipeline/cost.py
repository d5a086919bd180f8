"""Tokens and what they cost: one price table for every stage (generation, answers, judges).

The table maps model names to US dollars per million input and output tokens, and can be
overridden by a YAML/JSON file (``--prices``) or ini lines (``spec_prices``). Three rules:

* A model the table does not know costs *unknown*, never 0: a run that "cost $0.00" because
  its model was missing from the table would be a lie, and a budget could not be enforced.
* Replayed exchanges cost nothing now, but are counted apart, since they did cost something
  to record.
* Batch APIs bill a fraction of the list price (half, for both OpenAI and Anthropic);
  `Price.batch` holds that factor so a provider changing it is one line in a price file.

`Spend` sums tokens and cost per stage and model from any number of threads; the hard stop
behind ``--max-cost`` is `spec_pytest.pipeline.budget`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spec_pytest.core.response import Response, Usage
from spec_pytest.errors import InputError

#: What the Batch APIs charge relative to the list price (OpenAI Batch, Anthropic Message Batches).
BATCH_DISCOUNT = 0.5
#: The stages a run spends on; generation is `spec-pytest generate`, the others a pytest run.
STAGES = ("generation", "answers", "judges")


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million input and output tokens; ``batch`` multiplies both in batch mode."""

    input: float
    output: float
    batch: float = BATCH_DISCOUNT

    def cost(self, input_tokens: int, output_tokens: int, *, batch: bool = False) -> float:
        factor = self.batch if batch else 1.0
        return factor * (input_tokens * self.input + output_tokens * self.output) / 1_000_000


#: List prices (USD per million tokens) as the vendors published them in 2025. Check them
#: before relying on a figure, and override with a price file or ini lines.
PRICES: dict[str, Price] = {
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "o3": Price(2.00, 8.00),
    "o4-mini": Price(1.10, 4.40),
    "claude-sonnet-4-5": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-opus-4-1": Price(15.00, 75.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
    "gemini-2.5-pro": Price(1.25, 10.00),  # prompts up to 200k tokens (longer ones cost more)
    "gemini-2.5-flash": Price(0.30, 2.50),
}


class PriceTableError(InputError):
    """A price file or ini line cannot be read; the message names the source and the fix."""


def load_prices(path: str | Path) -> dict[str, Price]:
    """A price table from YAML or JSON: ``{model: {input: USD/Mtok, output: USD/Mtok[, batch: f]}}``."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as err:
        raise PriceTableError(f"{source}: cannot read the price file ({err.strerror or err})") from None
    try:
        data = json.loads(text) if source.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise PriceTableError(f"{source}: not valid {source.suffix.lstrip('.') or 'YAML'} ({err})") from None
    return prices_from_mapping(data or {}, str(source))


def prices_from_mapping(data: Any, where: str = "price table") -> dict[str, Price]:
    if not isinstance(data, Mapping):
        raise PriceTableError(f"{where}: a price table maps model names to {{input: ..., output: ...}}")
    table: dict[str, Price] = {}
    for model, entry in data.items():
        try:
            table[str(model)] = Price(
                float(entry["input"]), float(entry["output"]), float(entry.get("batch", BATCH_DISCOUNT))
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise PriceTableError(
                f"{where}: model {model!r} needs numeric input and output prices (USD per million "
                f"tokens), e.g. {{input: 2.0, output: 8.0}}"
            ) from None
        if min(table[str(model)].input, table[str(model)].output) < 0:
            raise PriceTableError(f"{where}: model {model!r} has a negative price")
    return table


def parse_price_lines(lines: Iterable[str]) -> dict[str, Price]:
    """Ini lines ``MODEL INPUT OUTPUT [BATCH]`` (USD per million tokens) as a price table."""
    table: dict[str, Price] = {}
    for line in lines:
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) not in (3, 4):
            raise PriceTableError(
                f"spec_prices line {line!r}: expected MODEL INPUT OUTPUT [BATCH_FACTOR], "
                "e.g. 'gpt-4.1 2.0 8.0' (USD per million tokens)"
            )
        entry = dict(zip(("input", "output", "batch"), parts[1:], strict=False))
        table.update(prices_from_mapping({parts[0]: entry}, f"spec_prices line {line!r}"))
    return table


def price_table(
    path: str | Path | None = None, lines: Iterable[str] = (), base: Mapping[str, Price] = PRICES
) -> dict[str, Price]:
    """The table a run uses: built-in prices, then the price file's, then the ini lines'."""
    table = dict(base)
    if path is not None:
        table.update(load_prices(path))
    table.update(parse_price_lines(lines))
    return table


def price_of(model: str, table: Mapping[str, Price]) -> Price | None:
    """The price for ``model`` (``provider:name`` or a bare name, dated snapshots included)."""
    name = model.split(":", 1)[1] if ":" in model else model
    for candidate in (model, name):
        if candidate in table:
            return table[candidate]
    prefixes = [k for k in table if name.startswith(k + "-")]  # gpt-4.1-2025-04-14 -> gpt-4.1
    return table[max(prefixes, key=len)] if prefixes else None


def usage_tokens(usage: Usage) -> tuple[int, int]:
    """Billed (input, output) tokens; reasoning tokens are billed as output."""
    return usage.input_tokens or 0, (usage.output_tokens or 0) + (usage.reasoning_tokens or 0)


def cost_of(
    model: str, input_tokens: int, output_tokens: int, table: Mapping[str, Price], *, batch: bool = False
) -> float | None:
    """What the tokens cost on ``model``; None when the table has no price for it."""
    price = price_of(model, table)
    return None if price is None else price.cost(input_tokens, output_tokens, batch=batch)


def usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


# --------------------------------------------------------------------------- one model's tally


@dataclass
class Tally:
    """Requests and tokens of one model in one run, new and replayed apart (`generate` uses it)."""

    model: str
    prices: Mapping[str, Price] = field(default_factory=lambda: dict(PRICES))
    requests: int = 0
    replayed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    new_input_tokens: int = 0
    new_output_tokens: int = 0

    def add(self, response: Response, *, replayed: bool) -> None:
        tokens_in, tokens_out = usage_tokens(response.usage)
        self.requests += 1
        self.input_tokens += tokens_in
        self.output_tokens += tokens_out
        if replayed:
            self.replayed += 1
        else:
            self.new_input_tokens += tokens_in
            self.new_output_tokens += tokens_out

    @property
    def cost(self) -> float | None:
        """Cost of every request of the run, replayed ones included (None: price unknown)."""
        return cost_of(self.model, self.input_tokens, self.output_tokens, self.prices)

    @property
    def spent(self) -> float | None:
        """Cost of the requests this run actually sent."""
        return cost_of(self.model, self.new_input_tokens, self.new_output_tokens, self.prices)

    def summary(self) -> str:
        note = "" if price_of(self.model, self.prices) else f" (no price known for {self.model})"
        return (
            f"{self.requests} requests ({self.replayed} replayed from cassettes); "
            f"tokens: {self.input_tokens} in, {self.output_tokens} out; "
            f"cost: {usd(self.cost)}, of which spent now: {usd(self.spent)}{note}"
        )


# --------------------------------------------------------------------------- a run's spend


@dataclass
class StageSpend:
    """What one stage spent on one model: new requests priced, replayed ones only counted."""

    requests: int = 0
    replayed: int = 0
    batched: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0  # None once any new request of this row had no price

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "replayed": self.replayed,
            "batched": self.batched,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost,
        }


class Spend:
    """Tokens and cost per (stage, model), safe to add to from many threads at once.

    Only requests sent in this run are priced (`replayed=True` ones are counted, at no cost).
    `total` is None as soon as any sent request had no price: a partial sum would look like
    the whole bill.
    """

    def __init__(self, prices: Mapping[str, Price] | None = None) -> None:
        self.prices: Mapping[str, Price] = dict(PRICES if prices is None else prices)
        self._rows: dict[tuple[str, str], StageSpend] = {}
        self._lock = threading.Lock()

    def add(
        self, stage: str, model: str, usage: Usage, *, replayed: bool = False, batch: bool = False
    ) -> float | None:
        """Count one exchange; returns what it cost now (0 when replayed, None when unknown)."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; one of {', '.join(STAGES)}")
        tokens_in, tokens_out = usage_tokens(usage)
        cost = 0.0 if replayed else cost_of(model, tokens_in, tokens_out, self.prices, batch=batch)
        with self._lock:
            row = self._rows.setdefault((stage, model), StageSpend())
            row.requests += 1
            row.replayed += int(replayed)
            row.batched += int(batch and not replayed)
            row.input_tokens += tokens_in
            row.output_tokens += tokens_out
            row.cost = None if row.cost is None or cost is None else row.cost + cost
        return cost

    def rows(self) -> dict[tuple[str, str], StageSpend]:
        with self._lock:
            return {key: StageSpend(**vars(row)) for key, row in sorted(self._rows.items())}

    @property
    def total(self) -> float | None:
        costs = [row.cost for row in self.rows().values()]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    def unpriced(self) -> list[str]:
        return sorted({model for (_, model), row in self.rows().items() if row.cost is None})

    def lines(self) -> list[str]:
        """One line per stage and model, then the total (what the terminal summary prints)."""
        out = []
        for (stage, model), row in self.rows().items():
            replayed = f", {row.replayed} replayed" if row.replayed else ""
            batched = f", {row.batched} via batch" if row.batched else ""
            out.append(
                f"{stage:<10} {model}: {row.requests} requests{replayed}{batched}; "
                f"{row.input_tokens} in / {row.output_tokens} out tokens; {usd(row.cost)}"
            )
        if out:
            missing = self.unpriced()
            note = f" (no price for {', '.join(missing)}: add it with --prices)" if missing else ""
            out.append(f"spent this run: {usd(self.total)}{note}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": [
                {"stage": stage, "model": model, **row.to_dict()}
                for (stage, model), row in self.rows().items()
            ],
            "total_usd": self.total,
        }
