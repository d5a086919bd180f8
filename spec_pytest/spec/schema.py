"""The JSON Schema of spec files, and its errors rewritten as located, human problems.

jsonschema's own messages ("Additional properties are not allowed ('confict' was
unexpected)") name neither the line nor the fix; a spec author needs both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from spec_pytest.spec.document import Document
from spec_pytest.spec.errors import Problem, at, did_you_mean


@cache
def schema() -> dict[str, Any]:
    """The spec file schema shipped with the package (spec_pytest/spec/schema.json)."""
    return json.loads(resources.files("spec_pytest.spec").joinpath("schema.json").read_text("utf-8"))


def schema_text() -> str:
    """The schema file as shipped, for `spec-pytest schema` (editors read it as is)."""
    return resources.files("spec_pytest.spec").joinpath("schema.json").read_text("utf-8")


def starter_spec() -> str:
    """The commented starter spec `spec-pytest init` writes (spec_pytest/spec/starter.yaml)."""
    return resources.files("spec_pytest.spec").joinpath("starter.yaml").read_text("utf-8")


@cache
def _validator(root: str) -> jsonschema.protocols.Validator:
    full = schema()
    target = full if root == "spec" else full["$defs"][root]
    cls = jsonschema.validators.validator_for(full)
    return cls(_inline(target, full["$defs"]))


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local `$ref` replaced by its definition.

    The schema has no recursion, and resolving references per scenario dominated the cost of
    validating a 10,000-scenario spec (about two thirds of it), so they are resolved once here.
    """
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            merged = {**_inline(defs[ref.rsplit("/", 1)[-1]], defs)}
            merged.update({k: _inline(v, defs) for k, v in node.items() if k != "$ref"})
            return merged
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


@dataclass(frozen=True)
class Checked:
    """The schema's verdict on a document, split so a loader can go on past a bad scenario.

    `top` are problems of the file's own structure (without a sound skeleton nothing else can
    be checked); `entries` are problems inside scenario entries, whose indices are `bad`:
    the loader sets those entries aside and still cross-checks the rest, so one run of
    `spec-pytest validate` reports both kinds.
    """

    top: list[Problem] = field(default_factory=list)
    entries: list[Problem] = field(default_factory=list)
    bad: frozenset[int] = frozenset()
    #: unknown keys at the file's top level (a typo such as `defualts`): reported, then set
    #: aside so that the rest of the file is still cross-checked in the same run
    stray: frozenset[str] = frozenset()
    stray_problems: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [*self.stray_problems, *self.top, *self.entries]


def check(document: Document, root: str = "spec") -> Checked:
    """Every schema problem in `document`: a spec ('spec'), a YAML bank ('bank') or a JSONL bank ('lines').

    Scenario entries are validated one by one against the scenario (or include) definition
    directly, which is what `scenario_entry`'s if/then/else means, at a third less cost
    on large banks.
    """
    data = document.data
    if root == "lines":
        entries, bad = _check_entries(document, data, [])
        return Checked(entries=entries, bad=bad)
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        return Checked(
            top=[p for error in _validator(root).iter_errors(data) for p in _describe(document, error)]
        )
    rest = {**data, "scenarios": []}
    top: list[Problem] = []
    stray: set[str] = set()
    stray_problems: list[Problem] = []
    for error in _validator(root).iter_errors(rest):
        if error.validator == "additionalProperties" and not error.absolute_path:
            known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
            stray.update(str(k) for k in rest if k not in known)
            stray_problems.extend(_describe(document, error))
        else:
            top.extend(_describe(document, error))
    entries, bad = _check_entries(document, data["scenarios"], ["scenarios"])
    return Checked(top, entries, bad, frozenset(stray), stray_problems)


def _check_entries(
    document: Document, entries: list[Any], prefix: list[Any]
) -> tuple[list[Problem], frozenset[int]]:
    scenario, include = _validator("scenario"), _validator("include")
    plain = _plain_scenario_check()
    problems: list[Problem] = []
    bad: set[int] = set()
    for index, entry in enumerate(entries):
        if plain(entry):
            continue
        validator = include if isinstance(entry, dict) and "include" in entry else scenario
        for error in validator.iter_errors(entry):
            problems.extend(_describe(document, error, prefix=[*prefix, index]))
            bad.add(index)
    return problems, frozenset(bad)


@cache
def _plain_scenario_check() -> Callable[[Any], bool]:
    """A fast, conservative test for the common scenario shape, built from the schema itself.

    True only for entries the schema certainly accepts: a mapping of known keys whose ids,
    messages, pairs and plain lists are well formed (no `expect:`, whose rules are richer).
    Anything else goes to jsonschema, which decides and explains. Generated banks are almost
    all plain, and jsonschema's per-entry cost was a third of loading a 10,000-scenario spec;
    tests/test_spec_fuzz.py checks that this never accepts what jsonschema rejects.
    """
    defs = schema()["$defs"]
    allowed = frozenset(defs["scenario"]["properties"]) - {"expect"}
    ident = re.compile(defs["id"]["pattern"])
    scenario_id = re.compile(defs["scenario_id"]["pattern"])
    id_max, scenario_id_max = defs["id"]["maxLength"], defs["scenario_id"]["maxLength"]
    roles = frozenset(defs["message"]["properties"]["role"]["enum"])

    def is_id(value: Any) -> bool:
        return type(value) is str and len(value) <= id_max and ident.match(value) is not None

    def is_message(m: Any) -> bool:
        return type(m) is dict and len(m) == 2 and m.get("role") in roles and type(m.get("content")) is str

    def check(entry: Any) -> bool:
        if type(entry) is not dict or not entry.keys() <= allowed:
            return False
        messages = entry.get("messages")
        if type(messages) is not list or not messages or not all(is_message(m) for m in messages):
            return False
        sid = entry.get("id")
        if sid is not None and not (
            type(sid) is str and len(sid) <= scenario_id_max and scenario_id.match(sid) is not None
        ):
            return False
        if "conflict" in entry and not is_id(entry["conflict"]):
            return False
        if "values" in entry:
            pair = entry["values"]
            if type(pair) is not list or len(pair) != 2 or not all(is_id(v) for v in pair):
                return False
        if "principles" in entry:
            ids = entry["principles"]
            if type(ids) is not list or not all(is_id(v) for v in ids) or len(set(ids)) != len(ids):
                return False
        if "nudge" in entry and type(entry["nudge"]) is not str:
            return False
        if "tags" in entry and (
            type(entry["tags"]) is not list or not all(type(t) is str for t in entry["tags"])
        ):
            return False
        if "provenance" in entry:
            provenance = entry["provenance"]
            if type(provenance) is not dict or not all(
                type(v) in (str, int, float, bool) or v is None for v in provenance.values()
            ):
                return False
        return True

    return check


def _describe(
    document: Document, error: jsonschema.ValidationError, prefix: list[Any] | None = None
) -> list[Problem]:
    path = list(prefix or []) + list(error.absolute_path)
    where = _where(path)
    kind = error.validator
    instance: Any = error.instance
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    value: Any = error.validator_value  # typed as possibly unset; set for every validator here
    line, column = document.locate(path)

    def here(message: str) -> Problem:
        return at(document.path, line, column, message)

    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        problems = []
        for key in instance:
            if key in allowed:
                continue
            kline, kcolumn = document.locate([*path, key], key=True)
            problems.append(
                at(
                    document.path,
                    kline,
                    kcolumn,
                    (
                        f"unknown key '{key}' in {where}{did_you_mean(str(key), allowed)} "
                        f"(allowed: {', '.join(allowed)})"
                    ),
                )
            )
        return problems
    if kind == "required":  # one error per missing key, each carrying the whole list: name its own
        missing = [k for k in value if k not in instance and error.message.startswith(repr(k))]
        return [here(f"{where} is missing the required key '{k}'") for k in missing]
    if kind == "type":
        wanted = " or ".join(value) if isinstance(value, list) else str(value)
        return [here(f"{where} must be {_article(wanted)}, not {_kind(instance)}")]
    if kind == "enum":
        choices = [str(c) for c in value]
        return [
            here(
                f"{where} is {instance!r}; expected one of {', '.join(choices)}"
                f"{did_you_mean(str(instance), choices)}"
            )
        ]
    if kind == "anyOf" and isinstance(instance, dict):
        # a mapping where the alternatives include a mapping shape (lean: {toward, strength}):
        # say what is wrong inside it (an unknown key with its "did you mean"), not just "expected ..."
        branches = schema.get("anyOf", [])
        inner = [
            e
            for e in error.context or []
            if e.relative_schema_path
            and isinstance(e.relative_schema_path[0], int)
            and branches[e.relative_schema_path[0]].get("type") == "object"
        ]
        if inner:
            return [p for e in inner for p in _describe(document, e, prefix)]
    if kind == "anyOf" and "x-hint" in schema:
        return [here(f"{where} is {instance!r}; expected {schema['x-hint']}")]
    if kind in ("pattern", "maxLength") and "x-hint" in schema:
        return [here(f"{where} is {instance!r}, which is not {schema['x-hint']}")]
    if kind == "pattern":  # only the non-blank text rule has no hint of its own
        return [here(f"{where} must not be blank")]
    if kind == "minLength":
        return [here(f"{where} must not be empty")]
    if kind == "minItems":
        return [here(f"{where} needs at least {value} item(s)")]
    if kind == "maxItems":
        return [here(f"{where} takes at most {value} items, got {len(instance)}")]
    if kind == "uniqueItems":
        return [here(f"{where} lists the same entry twice; remove the repeat")]
    if kind in ("minimum", "maximum"):
        bounds = schema
        return [
            here(
                f"{where} is {instance}; it must be between "
                f"{bounds.get('minimum', '-inf')} and {bounds.get('maximum', 'inf')}"
            )
        ]
    if kind == "propertyNames":
        return [here(f"{where} has a key that is not an id: {error.message}")]
    return [here(f"{where}: {error.message}")]


def _where(path: list[Any]) -> str:
    if not path:
        return "the file's top level"
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return f"'{text}'"


def _kind(value: Any) -> str:
    names = {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "empty (null)",
    }
    return names.get(type(value), type(value).__name__)


def _article(kind: str) -> str:
    words = {
        "object": "a mapping",
        "array": "a list",
        "string": "text",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "null": "empty",
    }
    return " or ".join(words.get(k, k) for k in kind.split(" or "))
