"""Model references in a spec that point at no endpoint: found by `spec-pytest validate`.

A spec may name endpoints that the run declares (`--endpoint`, the ini file), so loading a
spec for a run does not refuse them; `validate` sees only the file, and says which provider
prefixes are neither built in nor declared under `endpoints:`, before a run fails on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from spec_pytest.spec.document import Document, Placed
from spec_pytest.spec.errors import Problem, did_you_mean


def undeclared_providers(document: Document, extra: Iterable[str] = ()) -> list[Problem]:
    """A located problem for each default/judge/per-model reference whose provider is unknown."""
    # deferred: the provider registry is only needed here, not to load a spec
    from spec_pytest.providers.endpoints import BUILTIN_ENDPOINTS

    data = document.data
    if not isinstance(data, dict):
        return []
    builtin = [e.name for e in BUILTIN_ENDPOINTS]
    declared = list(data.get("endpoints") or {}) if isinstance(data.get("endpoints"), dict) else []
    known = [*builtin, *declared, *extra]
    problems: list[Problem] = []

    def check(ref: Any, where: tuple[str | int, ...], key: bool = False) -> None:
        if not isinstance(ref, str) or ":" not in ref:
            return  # the schema reports a malformed reference
        provider = ref.partition(":")[0]
        if provider in known:
            return
        message = (
            f"model '{ref}' names provider '{provider}', which is neither built in "
            f"({', '.join(builtin)}) nor declared under `endpoints:`{did_you_mean(provider, known)}; "
            f"declare it there (endpoints: {{{provider}: {{base_url: URL}}}}) or, when the run "
            f"declares it, pass `--endpoint {provider}` to validate"
        )
        problems.append(Placed(document, where, ref).at(message, key=key))

    defaults = data.get("defaults")
    if isinstance(defaults, dict):
        for section in ("models", "judges"):
            refs = defaults.get(section)
            if isinstance(refs, list):
                for index, ref in enumerate(refs):
                    check(ref, ("defaults", section, index))
    models = data.get("models")
    if isinstance(models, dict):
        for ref in models:
            check(ref, ("models", ref), key=True)
    return problems
