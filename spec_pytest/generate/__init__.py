"""Scenario generation (the study's recipe): value pairs in, a deduplicated scenario bank out.

Generation, without hypothesis::

    pairs = select_pairs(spec=spec, mode="conflicts")
    report = generate_bank(pairs, "bank.jsonl", GenerateOptions("openai:o3", cassette_dir), registry)

Consistency probes (hypothesis variants of a scenario) live in `spec_pytest.probes`.
"""

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
from spec_pytest.pipeline.cost import PRICES, Price, Tally, load_prices

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
