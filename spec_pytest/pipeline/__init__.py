"""Running cases: ask the model, have the panel judge, decide, and account for the spend.

Everything here works without pytest: settings (`run`), one case end to end (`trial`),
the concurrent prefetch, admission limits, progress, budgets and prices, the pre-run plan,
shards, the pre-flight check and the batch APIs.
"""
