"""The record modes, apart from the cassette machinery so that the option table (and with
it every pytest start-up) can name them without importing vcrpy's neighbours."""

from __future__ import annotations

from enum import Enum


class RecordMode(str, Enum):
    """vcrpy's record modes, plus ``rewrite`` (re-record the item's cassette from scratch)."""

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"
    REWRITE = "rewrite"
