"""Tokens and what they cost: summed per run, priced from an overridable table.

A price the table does not know is reported as unknown, never as 0: a bank that "cost
$0.00" because its model was missing from the table would be a lie. Replayed requests are
counted apart, since they cost nothing this time but did cost something to record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from spec_pytest.response import Response


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million input and output tokens."""

    input: float
    output: float


#: List prices (USD per million tokens) of a few generator-grade models, as published by
#: the vendors in 2025. Check before relying on them; override with `load_prices`.
PRICES: dict[str, Price] = {
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4o": Price(2.50, 10.00),
    "o3": Price(2.00, 8.00),
    "o4-mini": Price(1.10, 4.40),
    "claude-sonnet-4-5": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-opus-4-1": Price(15.00, 75.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
}


def load_prices(path: str | Path) -> dict[str, Price]:
    """A price table from YAML: ``{model: {input: USD/Mtok, output: USD/Mtok}}``."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a price table maps model names to {{input: ..., output: ...}}")
    try:
        return {str(k): Price(float(v["input"]), float(v["output"])) for k, v in data.items()}
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: every model needs numeric input and output prices ({err})") from None


def price_of(model: str, table: Mapping[str, Price]) -> Price | None:
    """The price for ``model`` (``provider:name`` or a bare name, dated snapshots included)."""
    name = model.split(":", 1)[1] if ":" in model else model
    for candidate in (model, name):
        if candidate in table:
            return table[candidate]
    prefixes = [k for k in table if name.startswith(k + "-")]  # gpt-4.1-2025-04-14 -> gpt-4.1
    return table[max(prefixes, key=len)] if prefixes else None


@dataclass
class Tally:
    """Requests and tokens of one run, new and replayed apart."""

    model: str
    prices: Mapping[str, Price] = field(default_factory=lambda: dict(PRICES))
    requests: int = 0
    replayed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    new_input_tokens: int = 0
    new_output_tokens: int = 0

    def add(self, response: Response, *, replayed: bool) -> None:
        tokens_in = response.usage.input_tokens or 0
        tokens_out = (response.usage.output_tokens or 0) + (response.usage.reasoning_tokens or 0)
        self.requests += 1
        self.input_tokens += tokens_in
        self.output_tokens += tokens_out
        if replayed:
            self.replayed += 1
        else:
            self.new_input_tokens += tokens_in
            self.new_output_tokens += tokens_out

    def _cost(self, tokens_in: int, tokens_out: int) -> float | None:
        price = price_of(self.model, self.prices)
        if price is None:
            return None
        return (tokens_in * price.input + tokens_out * price.output) / 1_000_000

    @property
    def cost(self) -> float | None:
        """Cost of every request of the run, replayed ones included (None: price unknown)."""
        return self._cost(self.input_tokens, self.output_tokens)

    @property
    def spent(self) -> float | None:
        """Cost of the requests this run actually sent."""
        return self._cost(self.new_input_tokens, self.new_output_tokens)

    def summary(self) -> str:
        def usd(value: float | None) -> str:
            return "unknown" if value is None else f"${value:.4f}"

        note = "" if price_of(self.model, self.prices) else f" (no price known for {self.model})"
        return (
            f"{self.requests} requests ({self.replayed} replayed from cassettes); "
            f"tokens: {self.input_tokens} in, {self.output_tokens} out; "
            f"cost: {usd(self.cost)}, of which spent now: {usd(self.spent)}{note}"
        )
