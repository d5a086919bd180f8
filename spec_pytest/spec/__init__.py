"""The spec language: load a YAML spec into a validated `Spec`, or get every problem located."""

from spec_pytest.spec.errors import Problem, SpecError
from spec_pytest.spec.load import load_spec
from spec_pytest.spec.model import (
    Conflict,
    Example,
    Expectation,
    Message,
    Principle,
    Scenario,
    Spec,
)

__all__ = [
    "Conflict",
    "Example",
    "Expectation",
    "Message",
    "Principle",
    "Problem",
    "Scenario",
    "Spec",
    "SpecError",
    "load_spec",
]
