"""spec-pytest: stress-test language models against their own behaviour specs.

The library (spec loading, cases, and later providers, judges and verdicts) works without
pytest; `spec_pytest.pytest.plugin` is the thin adapter that turns cases into pytest items.
"""

__version__ = "0.1.0"
