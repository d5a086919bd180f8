"""Scenario generation (the study's recipe) and consistency probes (hypothesis variants).

Generation, without hypothesis::

    pairs = select_pairs(spec=spec, mode="conflicts")
    report = generate_bank(pairs, "bank.jsonl", GenerateOptions("openai:o3", cassette_dir), registry)

Consistency probes need hypothesis; import them from their modules:
``spec_pytest.generate.variants`` (strategies) and ``spec_pytest.generate.consistency``
(`Invariance`, `check_invariance`).
"""

from spec_pytest.cost import PRICES, Price, Tally, load_prices
from spec_pytest.generate.dedup import DEFAULT_THRESHOLD, ShingleIndex, Similarity
from spec_pytest.generate.ledger import LedgerError, dropped_path, ledger_path
from spec_pytest.generate.pairs import (
    ValuePair,
    all_pairs,
    conflict_pairs,
    read_taxonomy,
    sample_pairs,
    select_pairs,
)
from spec_pytest.generate.run import (
    CONTEXT_ROLES,
    GenerateOptions,
    GenerationReport,
    generate_bank,
    generation_cassette,
)
from spec_pytest.generate.templates import TEMPLATE_VERSION

__all__ = [
    "CONTEXT_ROLES",
    "DEFAULT_THRESHOLD",
    "PRICES",
    "TEMPLATE_VERSION",
    "GenerateOptions",
    "GenerationReport",
    "LedgerError",
    "Price",
    "ShingleIndex",
    "Similarity",
    "Tally",
    "ValuePair",
    "all_pairs",
    "conflict_pairs",
    "dropped_path",
    "generate_bank",
    "generation_cassette",
    "ledger_path",
    "load_prices",
    "read_taxonomy",
    "sample_pairs",
    "select_pairs",
]
