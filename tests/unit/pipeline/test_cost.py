"""The shared price table, the thread-safe spend tally and the --max-cost budget."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from spec_pytest.core.response import Usage
from spec_pytest.pipeline.budget import Budget
from spec_pytest.pipeline.cost import (
    PRICES,
    Price,
    PriceTableError,
    Spend,
    cost_of,
    load_prices,
    parse_price_lines,
    price_of,
    price_table,
)


def test_prices_match_references_snapshots_and_bare_names() -> None:
    assert price_of("openai:gpt-4.1", PRICES) == PRICES["gpt-4.1"]
    assert price_of("gpt-4.1-2025-04-14", PRICES) == PRICES["gpt-4.1"]
    assert price_of("openai:gpt-4.1-mini-2025-04-14", PRICES) == PRICES["gpt-4.1-mini"]  # longest prefix
    assert price_of("ollama:llama3.1:8b", PRICES) is None


def test_an_unknown_model_costs_unknown_never_zero() -> None:
    assert cost_of("openai:house-model", 1000, 1000, PRICES) is None
    spend = Spend(PRICES)
    spend.add("answers", "openai:gpt-4.1", Usage(1_000_000, 0))
    spend.add("judges", "openai:house-model", Usage(10, 10))
    assert spend.total is None
    assert spend.unpriced() == ["openai:house-model"]
    assert "unknown" in spend.lines()[-1] and "--prices" in spend.lines()[-1]


def test_batch_prices_are_half_unless_the_table_says_otherwise() -> None:
    price = Price(2.0, 8.0)
    assert price.cost(1_000_000, 1_000_000) == pytest.approx(10.0)
    assert price.cost(1_000_000, 1_000_000, batch=True) == pytest.approx(5.0)
    assert Price(2.0, 8.0, batch=0.25).cost(1_000_000, 0, batch=True) == pytest.approx(0.5)


def test_price_files_yaml_or_json_and_ini_lines_override_the_built_in_table(tmp_path: Path) -> None:
    yaml_file = tmp_path / "prices.yaml"
    yaml_file.write_text(
        "gpt-4.1: {input: 1.0, output: 4.0}\nhouse-model: {input: 0.5, output: 1, batch: 0.4}\n"
    )
    json_file = tmp_path / "prices.json"
    json_file.write_text('{"house-model": {"input": 9, "output": 9}}')
    assert load_prices(yaml_file)["house-model"] == Price(0.5, 1.0, 0.4)
    assert load_prices(json_file)["house-model"] == Price(9.0, 9.0)
    table = price_table(yaml_file, ["house-model 7 7", "# a comment"])
    assert table["gpt-4.1"] == Price(1.0, 4.0)
    assert table["house-model"] == Price(7.0, 7.0)  # ini lines win over the file
    assert table["claude-sonnet-4-5"] == PRICES["claude-sonnet-4-5"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("gpt-4.1: {input: cheap}\n", "needs numeric input and output"), ("- a list\n", "maps model names")],
)
def test_a_bad_price_file_says_which_model_and_what_is_expected(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(PriceTableError, match=message):
        load_prices(path)


def test_a_bad_ini_price_line_shows_the_expected_shape() -> None:
    with pytest.raises(PriceTableError, match="expected MODEL INPUT OUTPUT"):
        parse_price_lines(["gpt-4.1 2.0"])


def test_spend_adds_up_from_many_threads_and_keeps_replays_free() -> None:
    spend = Spend({"m": Price(1.0, 1.0)})

    def work() -> None:
        for _ in range(500):
            spend.add("answers", "openai:m", Usage(1, 1))
            spend.add("answers", "openai:m", Usage(1, 1), replayed=True)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    row = spend.rows()[("answers", "openai:m")]
    assert (row.requests, row.replayed, row.input_tokens) == (8000, 4000, 8000)
    assert spend.total == pytest.approx(4000 * 2 / 1_000_000)
    assert spend.to_dict()["stages"][0]["stage"] == "answers"


def test_the_budget_is_a_hard_stop_that_reserves_for_requests_in_flight() -> None:
    budget = Budget(1.0, Spend({"m": Price(1_000_000.0, 0.0)}))  # $1 per input token
    assert budget.allow(0.6)
    assert not budget.allow(0.6)  # the first is still in flight: together they would overshoot
    budget.charge("answers", "openai:m", Usage(0, 0), reserved=0.6)  # it cost nothing after all
    assert budget.allow(0.6)
    budget.charge("answers", "openai:m", Usage(1, 0), reserved=0.6)
    assert budget.spent == pytest.approx(1.0)
    assert not budget.allow(0.0)  # reached: no new request, not even a cheap one
    assert budget.refused == 2
    assert "budget exhausted" in budget.exhausted_message() and "--max-cost" in budget.exhausted_message()


def test_a_budget_refuses_what_it_cannot_price() -> None:
    budget = Budget(10.0)
    assert not budget.allow(None)
    assert budget.unpriced(["openai:gpt-4.1", "openai:house-model"]) == ["openai:house-model"]
    assert Budget.share(10.0, 4).max_cost == pytest.approx(2.5)
    with pytest.raises(ValueError, match="--max-cost"):
        Budget(-1)


def test_concurrent_admissions_never_exceed_the_budget() -> None:
    budget = Budget(1.0)
    admitted: list[bool] = []
    lock = threading.Lock()

    def ask() -> None:
        ok = budget.allow(0.1)
        with lock:
            admitted.append(ok)

    threads = [threading.Thread(target=ask) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 10
