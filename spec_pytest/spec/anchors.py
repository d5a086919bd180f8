"""Scenario anchors: for one scenario, what an answer at each point of each value's spectrum says.

The study had a strong model write, per scenario and per value, a 7-point spectrum
(0 extreme_oppose ... 3 neutral ... 6 extreme_favor) describing concretely what an answer to
THAT query says at each point; judges then placed answers against those descriptions rather
than against generic labels. Here the anchors live in a sidecar file beside the spec,
``<spec stem>.anchors.yaml``, written by ``spec-pytest anchors`` and reviewed by the spec's
authors like any other source file::

    anchors-v1:                          # the anchor prompt version that wrote them
      saas-tiers:
        values: [business_effectiveness, social_equity]
        query_sha256: 9f2c...            # the scenario's messages they were written for
        frozen: false                    # true: reviewed; `anchors` never rewrites it
        provenance: {writer: openai:o3, written_at: ..., cassette: ...}
        spectra:
          business_effectiveness: [7 descriptions, point 0 first]
          social_equity: [...]

A sidecar is data, never trusted blindly: an entry whose query hash no longer matches the
scenario is *stale* (the scenario was edited after its anchors were written), and a per-value
judge refuses to use it (an error naming the file and the command that rewrites it) rather
than judge against anchors written for another question.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from spec_pytest.errors import InputError
from spec_pytest.spec.model import Message, Scenario, Spec

#: The version of the prompt that writes anchors (`spec_pytest.generate.anchors`).
ANCHORS_VERSION = "anchors-v1"
SUFFIX = ".anchors.yaml"
POINTS = 7


@dataclass(frozen=True, slots=True)
class ScenarioAnchors:
    """Both spectra of one scenario, as written (or reviewed) for its query."""

    scenario: str
    values: tuple[str, str]
    spectra: tuple[tuple[str, ...], tuple[str, ...]]  # per value of ``values``: 7 descriptions
    query_sha256: str
    frozen: bool = False
    provenance: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    source: Path | None = field(default=None, compare=False, hash=False)
    stale: bool = field(default=False, compare=False, hash=False)

    def to_yaml_data(self) -> dict[str, Any]:
        return {
            "values": list(self.values),
            "query_sha256": self.query_sha256,
            "frozen": self.frozen,
            "provenance": dict(self.provenance),
            "spectra": {value: list(points) for value, points in zip(self.values, self.spectra, strict=True)},
        }


def sidecar_path(spec_path: Path) -> Path:
    """``suite.yaml`` -> ``suite.anchors.yaml``, in the same folder."""
    return spec_path.with_name(spec_path.stem + SUFFIX)


def query_hash(messages: Sequence[Message]) -> str:
    """What the anchors were written for: the scenario's messages, exactly."""
    data = [[m.role, m.content] for m in messages]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode("utf-8")).hexdigest()


def read_sidecar(path: Path) -> dict[str, ScenarioAnchors]:
    """Every entry of a sidecar, by scenario id (not yet checked against any spec)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the anchors file ({exc})") from None
    if not isinstance(data, dict) or set(data) - {ANCHORS_VERSION}:
        raise InputError(
            f"{path}: an anchors file holds one top-level key, {ANCHORS_VERSION!r}; "
            f"found {', '.join(map(str, data)) if isinstance(data, dict) else type(data).__name__}"
        )
    entries = data.get(ANCHORS_VERSION) or {}
    if not isinstance(entries, dict):
        raise InputError(f"{path}: {ANCHORS_VERSION} must map scenario ids to their anchors")
    return {str(sid): _entry(path, str(sid), raw) for sid, raw in entries.items()}


def _entry(path: Path, scenario: str, raw: object) -> ScenarioAnchors:
    where = f"{path}: anchors of {scenario!r}"
    if not isinstance(raw, dict):
        raise InputError(f"{where} must be a mapping")
    values = raw.get("values")
    spectra = raw.get("spectra")
    if not (isinstance(values, list) and len(values) == 2 and all(isinstance(v, str) for v in values)):
        raise InputError(f"{where}: 'values' must list the scenario's two values")
    if not isinstance(spectra, dict) or sorted(spectra) != sorted(values):
        raise InputError(f"{where}: 'spectra' must hold one list per value ({', '.join(values)})")
    points = []
    for value in values:
        texts = spectra[value]
        if not (
            isinstance(texts, list)
            and len(texts) == POINTS
            and all(isinstance(t, str) and t.strip() for t in texts)
        ):
            raise InputError(f"{where}: the spectrum of {value!r} must be {POINTS} non-empty descriptions")
        points.append(tuple(t.strip() for t in texts))
    digest = raw.get("query_sha256")
    if not isinstance(digest, str):
        raise InputError(f"{where}: 'query_sha256' is missing (rewrite it with `spec-pytest anchors`)")
    provenance = raw.get("provenance") or {}
    return ScenarioAnchors(
        scenario=scenario,
        values=(values[0], values[1]),
        spectra=(points[0], points[1]),
        query_sha256=digest,
        frozen=bool(raw.get("frozen", False)),
        provenance=dict(provenance) if isinstance(provenance, Mapping) else {},
        source=path,
    )


def write_sidecar(path: Path, entries: Mapping[str, ScenarioAnchors]) -> None:
    """Write every entry, atomically (a killed writer leaves the previous file whole)."""
    data = {ANCHORS_VERSION: {sid: entries[sid].to_yaml_data() for sid in entries}}
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


_CACHE: dict[Path, tuple[tuple[int, int], dict[str, ScenarioAnchors]]] = {}


def anchors_of(spec: Spec, scenario: Scenario) -> ScenarioAnchors | None:
    """The anchors written for ``scenario`` in its spec's sidecar, marked stale if it changed.

    None when there is no sidecar, no entry, or the entry is for another value pair (the
    scenario's conflict changed: the entry does not describe this scenario at all). A probe's
    variant (provenance ``variant_of``: a reworded copy meant to be the same question) is
    judged against its original's anchors, so that a shift it shows is the answer's, not a
    change of yardstick; staleness is then the original's.
    """
    source = scenario.provenance.get("variant_of")
    if isinstance(source, str) and source != scenario.id:
        original = next((s for s in spec.scenarios if s.id == source), None)
        if original is None:
            return None
        scenario = original
    pair = scenario.values
    if pair is None:
        return None
    found = _cached(sidecar_path(spec.path)).get(scenario.id)
    if found is None or set(found.values) != set(pair):
        return None
    if found.values != pair:  # written in the other order: follow the scenario's
        found = replace(found, values=pair, spectra=(found.spectra[1], found.spectra[0]))
    if found.query_sha256 != query_hash(scenario.messages):
        found = replace(found, stale=True)
    return found


def _cached(path: Path) -> dict[str, ScenarioAnchors]:
    """The sidecar's entries, read again only when the file changed (many items read it)."""
    try:
        stat = path.stat()
    except OSError:
        return {}
    stamp = (stat.st_mtime_ns, stat.st_size)
    hit = _CACHE.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    entries = read_sidecar(path)
    _CACHE[path] = (stamp, entries)
    return entries


def sidecar_notes(spec: Spec) -> tuple[list[str], list[str]]:
    """(problems, warnings) of a spec's anchors sidecar, for ``spec-pytest validate``.

    A sidecar that does not read is a problem (a per-value run would stop on it). Entries for
    scenarios the spec no longer has, for another value pair, or written for an earlier text
    of their scenario are warnings: the run ignores the first two and refuses the last, and
    an author reviewing the sidecar wants all three named.
    """
    path = sidecar_path(spec.path)
    if not path.exists():
        return [], []
    try:
        entries = read_sidecar(path)
    except InputError as exc:
        return [str(exc)], []
    scenarios = {s.id: s for s in spec.scenarios}
    warnings = []
    for sid, entry in entries.items():
        scenario = scenarios.get(sid)
        if scenario is None:
            warnings.append(f"{path}: anchors of {sid!r}, which the spec has no scenario for")
        elif scenario.values is None or set(scenario.values) != set(entry.values):
            warnings.append(f"{path}: anchors of {sid!r} are for {' vs '.join(entry.values)}, not its values")
        elif entry.query_sha256 != query_hash(scenario.messages):
            fix = "review and unfreeze it, then rerun" if entry.frozen else "rerun"
            warnings.append(
                f"{path}: anchors of {sid!r} were written for an earlier text of the scenario; {fix} "
                f"`spec-pytest anchors {spec.path.name} --writer MODEL` (a per-value judge refuses them)"
            )
    return [], warnings
