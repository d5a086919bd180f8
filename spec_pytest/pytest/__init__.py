"""The pytest adapter, the only package that imports pytest: hooks, options, items, fan-out glue."""
