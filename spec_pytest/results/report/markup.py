"""The HTML report's escaping and small shared pieces, for every module that writes its markup.

`esc` is the one way record text enters the page: the key scrubber first (a marker it puts
in is text, not a tag), then `html.escape` with quotes, so the text is safe in an element and
in an attribute alike.
"""

from __future__ import annotations

import hashlib
import html

from spec_pytest.results.report.paths import Shown
from spec_pytest.secrets import scrub


def esc(value: object) -> str:
    return html.escape(scrub(str(value)), quote=True)  # scrubbed first: a marker is text, not a tag


def anchor(suite: str, scenario: str) -> str:
    """A safe, stable element id for a scenario (ids may hold any character)."""
    return "s-" + hashlib.sha256(f"{suite}::{scenario}".encode()).hexdigest()[:16]


def path_link(shown: Shown) -> str:
    """A local file as a relative link (it opens when the report sits beside the checkout),
    or as text when no relative path would work without spelling out a machine's folders."""
    if shown.href is None:
        return f'<code class="path">{esc(shown.text)}</code>'
    return f'<a class="path" href="{esc(shown.href)}"><code>{esc(shown.text)}</code></a>'
