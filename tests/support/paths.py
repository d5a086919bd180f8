"""Where the test tree's fixed files are, so tests can move between folders freely."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
DATA = ROOT / "tests" / "support" / "data"  # specs, banks and excerpts the tests read
