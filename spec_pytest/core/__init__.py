"""The data that flows through a run: Case -> Response -> Judgement -> Verdict.

Plain values with no I/O, so every other layer (pipeline, judges, results, pytest) can share
them without importing each other.
"""
