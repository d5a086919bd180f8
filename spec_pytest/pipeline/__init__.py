"""Running cases: ask the model, have the panel judge, decide, and account for the spend.

Everything here works without pytest: settings (`run`), one case end to end (`case_run`,
the one pipeline every path calls, filling in a `trial`), the budget (`budget`), the
concurrent prefetch, admission limits, progress, prices (`cost`), the pre-run plan,
shards, the pre-flight check and the batch APIs.
"""
