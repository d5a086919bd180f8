"""Fixtures shared by the end-to-end tests (the loopback server's own are in the top conftest)."""

import pytest

from tests import e2e_support

project = pytest.fixture(e2e_support.project)
