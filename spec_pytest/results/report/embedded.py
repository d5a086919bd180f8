"""The data a report embeds once for its script: scrubbed, deduplicated, escaped for a script block.

A run of 10,000 items written out as markup was a 40 MB page that took seconds to open, most
of it markup and text repeated item after item (a judge's boilerplate, a scenario's messages
under every model, the same outcome words). So the page carries the drill-down and the gate's
long tables once, as JSON in one ``<script type="application/json">`` block, and its script
draws from it (`drilldown.SCRIPT`). `pack` keeps every string met twice or more once, in a
table; `embed_json` makes the JSON safe inside the block; `Clean` scrubs keys from the strings
before any of that, as every sink does (`spec_pytest.secrets`).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from spec_pytest.secrets import Scrubber

#: The id of the JSON block the script reads.
DATA_ID = "report-data"


class Clean:
    """Record text as the page may show it: scrubbed of keys (an answer may echo one).

    The key values are read once per report and each distinct string is scrubbed once: the
    same model name, outcome and rationale come back thousands of times in a large run.
    ``None`` and the empty string are both ``""``: nothing to show."""

    def __init__(self) -> None:
        self._scrub = Scrubber().text
        self._seen: dict[str, str] = {}

    def __call__(self, text: str | None) -> str:
        if not text:
            return ""
        done = self._seen.get(text)
        if done is None:
            done = self._seen[text] = self._scrub(text)
        return done


class Lists:
    """Lists that recur whole, kept once: a record's judges' rulings and its evidence table
    are often the same as another's (the same three judges placing two answers alike, the
    same token counts), and a list costs far more than the index that replaces it. The page
    gets them as ``data["l"]``; a field documented as a list index holds ``Lists.ref``."""

    def __init__(self) -> None:
        self.items: list[list[Any]] = []
        self._index: dict[str, int] = {}

    def ref(self, items: list[Any]) -> int:
        key = json.dumps(items, ensure_ascii=False)
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.items)
            self.items.append(items)
        return found


def pack(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (dicts, lists, strings, numbers) with each string value met more than once
    replaced by its index in a table, given as ``data["t"]``; the script reads a number where
    a string belongs as an index (``typeof x === "number" ? t[x] : x``).

    Counted over the whole of ``data`` first and ordered by frequency, so the commonest
    strings (outcomes, model and judge names, a rationale repeated across items) get one- or
    two-digit indices, and a string met once (a node id, a cassette path) stays where it is.
    Dict keys are the data's field names and stay as they are."""
    counts: Counter[str] = Counter()

    def count(value: Any) -> None:
        if isinstance(value, str):
            counts[value] += 1
        elif isinstance(value, list):
            for item in value:
                count(item)
        elif isinstance(value, dict):
            for item in value.values():
                count(item)

    count(data)
    # a one-character string is as short as its index: keeping it in place costs nothing
    table = [text for text, n in counts.most_common() if n > 1 and len(text) > 1]
    index = {text: i for i, text in enumerate(table)}

    def replace(value: Any) -> Any:
        if isinstance(value, str):
            return index.get(value, value)
        if isinstance(value, list):
            return [replace(item) for item in value]
        if isinstance(value, dict):
            return {key: replace(item) for key, item in value.items()}
        return value

    return {"t": table, **replace(data)}


def embed_json(data: object) -> str:
    """``data`` as JSON that is safe inside ``<script type="application/json">``: no ``<`` at all
    (so neither ``</script`` nor ``<!--`` can end or bend the block), and no U+2028 / U+2029
    (line breaks to older JavaScript). JSON has ``<`` and those two only inside strings, where
    ``\\uXXXX`` stands for the same character: ``JSON.parse`` gives the same text back."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def block(data: dict[str, Any]) -> str:
    """The script block holding ``data``, packed and escaped."""
    return f'<script type="application/json" id="{DATA_ID}">{embed_json(pack(data))}</script>'
