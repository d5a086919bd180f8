"""Consistency probes: does a model's lean survive changes that should not move it?

`variants` holds the hypothesis strategies, `invariance` runs a case's variants and
compares their leans.
"""
