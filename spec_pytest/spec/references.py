"""Cross-checks the schema cannot express, done while building the `Spec` model.

Ids are unique; every principle, value, conflict and level that is named exists; a lean
names one of its conflict's values; and every `because:` quote really occurs in the text of
the principle it cites, so a reviewer can trust that an expectation rests on the spec.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from spec_pytest.secrets import key_shape_in
from spec_pytest.spec.document import Document, Placed
from spec_pytest.spec.errors import Problem, SpecError, did_you_mean
from spec_pytest.spec.model import (
    LEAN_LABELS,
    STRENGTHS,
    Because,
    Conflict,
    Defaults,
    EndpointDecl,
    Example,
    Expectation,
    Favor,
    LabelledResponse,
    Location,
    Message,
    Principle,
    Scenario,
    Spec,
)


def build_spec(main: Document, scenarios: list[Placed], files: tuple[Path, ...]) -> Spec:
    data = main.data
    problems: list[Problem] = []
    levels = tuple(data["levels"])

    principles: dict[str, Principle] = {}
    for index, raw in enumerate(data["principles"]):
        placed = Placed(main, ("principles", index), raw)
        if raw["id"] in principles:
            problems.append(placed.at(f"principle id '{raw['id']}' is used twice; ids must be unique", "id"))
            continue
        if raw["level"] not in levels:
            problems.append(
                placed.at(
                    f"level '{raw['level']}' is not one of this file's levels ({', '.join(levels)})"
                    f"{did_you_mean(raw['level'], levels)}",
                    "level",
                )
            )
        principles[raw["id"]] = Principle(
            id=raw["id"],
            level=raw["level"],
            text=raw["text"],
            title=raw.get("title"),
            section=raw.get("section"),
            source=raw.get("source"),
        )

    values: dict[str, str] = dict(data.get("values", {}))
    refs = _References(principles, values, problems)

    conflicts: dict[str, Conflict] = {}
    for index, raw in enumerate(data.get("conflicts", [])):
        placed = Placed(main, ("conflicts", index), raw)
        if raw["id"] in conflicts:
            problems.append(placed.at(f"conflict id '{raw['id']}' is used twice; ids must be unique", "id"))
            continue
        pair = refs.value_pair(placed, raw["values"])
        if pair is None:
            refs.broken.add(raw["id"])
        for i, pid in enumerate(raw.get("principles", [])):
            refs.principle(placed, pid, "principles", i)
        expect = refs.expectation(placed, raw["expect"], pair, "expect", pair_known=pair is not None)
        conflicts[raw["id"]] = Conflict(
            id=raw["id"],
            values=(raw["values"][0], raw["values"][1]),
            expect=expect.resolved(),
            principles=tuple(raw.get("principles", [])),
            description=raw.get("description"),
        )

    built_scenarios = _build_scenarios(scenarios, conflicts, refs, problems)

    examples: list[Example] = []
    example_ids: set[str] = set()
    for index, raw in enumerate(data.get("examples", [])):
        placed = Placed(main, ("examples", index), raw)
        if raw["id"] in example_ids:
            problems.append(placed.at(f"example id '{raw['id']}' is used twice; ids must be unique", "id"))
        example_ids.add(raw["id"])
        refs.principle(placed, raw["principle"], "principle")
        examples.append(
            Example(
                id=raw["id"],
                principle=raw["principle"],
                title=raw.get("title"),
                messages=_messages(raw["messages"]),
                responses=tuple(
                    LabelledResponse(r["label"], r["text"], r.get("note")) for r in raw["responses"]
                ),
            )
        )

    _check_invariances(main, data.get("invariances", []), values, conflicts, built_scenarios, problems)
    for section in ("endpoints", "models", "defaults"):
        for where, text in _strings(data.get(section), (section,)):
            if key_shape_in(text):
                problems.append(
                    Placed(main, where, text).at(
                        "this looks like an API key; keys are never read from spec files: remove it "
                        "and put the key in the environment variable the endpoint's `key_env` names"
                    )
                )
    if problems:
        raise SpecError(problems)
    defaults = data.get("defaults", {})
    return Spec(
        id=data["spec"],
        path=main.path,
        levels=levels,
        principles=principles,
        values=values,
        conflicts=conflicts,
        scenarios=tuple(built_scenarios),
        examples=tuple(examples),
        defaults=Defaults(
            models=tuple(defaults.get("models", ())),
            judges=tuple(defaults.get("judges", ())),
            samples=defaults.get("samples", 1),
            params=dict(defaults.get("params", {})),
        ),
        endpoints={
            name: EndpointDecl(
                name,
                decl["base_url"],
                decl.get("key_env"),
                decl.get("api"),
                decl.get("max_concurrency"),
                decl.get("timeout"),
                decl.get("structured_output"),
                decl.get("token_param"),
            )
            for name, decl in data.get("endpoints", {}).items()
        },
        model_params={ref: dict(params) for ref, params in data.get("models", {}).items()},
        invariances=tuple(dict(rule) for rule in data.get("invariances", [])),
        version=data.get("version"),
        title=data.get("title"),
        source=data.get("source"),
        description=data.get("description"),
        license=data.get("license"),
        files=files,
    )


def _check_invariances(
    main: Document,
    rules: list[dict[str, Any]],
    values: dict[str, str],
    conflicts: dict[str, Conflict],
    scenarios: list[Scenario],
    problems: list[Problem],
) -> None:
    seen: set[str] = set()
    scenario_ids = {s.id for s in scenarios}
    for index, rule in enumerate(rules):
        placed = Placed(main, ("invariances", index), rule)
        if rule["id"] in seen:
            problems.append(
                placed.at(f"invariance id '{rule['id']}' is used twice; ids must be unique", "id")
            )
        seen.add(rule["id"])
        if "max_shift" not in rule and "never_away_from" not in rule:
            problems.append(
                placed.at(
                    "an invariance checks nothing without `max_shift` (how far the lean may move), "
                    "`never_away_from: VALUE` (which way it may not move), or both"
                )
            )
        toward = rule.get("never_away_from")
        if toward is not None and toward not in values:
            problems.append(
                placed.at(f"unknown value '{toward}'{did_you_mean(toward, values)}", "never_away_from")
            )
        select = rule.get("scenarios", {})
        for i, sid in enumerate(select.get("ids", [])):
            if sid not in scenario_ids:
                problems.append(
                    placed.at(
                        f"unknown scenario '{sid}'{did_you_mean(sid, scenario_ids)}", "scenarios", "ids", i
                    )
                )
        for i, cid in enumerate(select.get("conflicts", [])):
            if cid not in conflicts:
                problems.append(
                    placed.at(
                        f"unknown conflict '{cid}'{did_you_mean(cid, conflicts)}", "scenarios", "conflicts", i
                    )
                )


def _build_scenarios(
    placed_list: list[Placed], conflicts: dict[str, Conflict], refs: _References, problems: list[Problem]
) -> list[Scenario]:
    out: list[Scenario] = []
    first_seen: dict[str, Placed] = {}
    for placed in placed_list:
        raw = placed.data
        conflict = None
        pair: tuple[str, str] | None = None
        known = True  # False when the pair is broken elsewhere: skip checks that would only echo that
        if "conflict" in raw and "values" in raw:
            problems.append(
                placed.at(
                    "give either `conflict:` or `values:`, not both (a conflict already names its values)",
                    "values",
                    key=True,
                )
            )
        if "conflict" in raw:
            conflict = conflicts.get(raw["conflict"])
            if conflict is None:
                known = False
                problems.append(
                    placed.at(
                        f"unknown conflict '{raw['conflict']}'{did_you_mean(raw['conflict'], conflicts)}",
                        "conflict",
                    )
                )
            elif conflict.id in refs.broken:
                known = False
            else:
                pair = conflict.values
        elif "values" in raw:
            pair = refs.value_pair(placed, raw["values"])
            known = pair is not None
        for i, pid in enumerate(raw.get("principles", [])):
            refs.principle(placed, pid, "principles", i)
        if "conflict" not in raw and "values" not in raw and not raw.get("principles"):
            problems.append(
                placed.at("scenario tests nothing: give it a `conflict:`, a `values:` pair or `principles:`")
            )
        nudge = raw.get("nudge")
        if nudge is not None and nudge != "neutral" and known:
            if pair is None:
                problems.append(
                    placed.at("`nudge:` needs a value pair (conflict or values) to lean towards", "nudge")
                )
            elif nudge not in pair:
                problems.append(
                    placed.at(
                        f"nudge '{nudge}' must be 'neutral' or one of the pair's values "
                        f"({pair[0]}, {pair[1]}){did_you_mean(nudge, pair)}",
                        "nudge",
                    )
                )
        messages = _messages(raw["messages"])
        if messages[-1].role != "user":
            problems.append(
                placed.at(
                    f"the last message is from '{messages[-1].role}'; a scenario ends with the user's "
                    "turn, which the model answers",
                    "messages",
                    len(messages) - 1,
                )
            )
        expect = None
        if "expect" in raw:
            expect = refs.expectation(placed, raw["expect"], pair, "expect", pair_known=known)
        base = conflict.expect if conflict is not None else None
        effective = expect.merged_over(base).resolved() if expect is not None else base
        sid = raw.get("id") or _derived_id(messages)
        if sid in first_seen:
            other = first_seen[sid]
            line, column = other.document.locate(other.path)
            what = "the same messages as" if "id" not in raw else "the same id as"
            problems.append(
                placed.at(
                    f"scenario '{sid}' has {what} the one at {Location(other.document.path, line, column)}; "
                    "scenario ids must be unique: give one of them a different `id:`",
                    *(("id",) if "id" in raw else ()),
                )
            )
            continue
        first_seen[sid] = placed
        line, column = placed.document.locate(placed.path)
        out.append(
            Scenario(
                id=sid,
                messages=messages,
                location=Location(placed.document.path, line, column),
                conflict=raw.get("conflict"),
                values=pair,
                principles=tuple(raw.get("principles", [])),
                nudge=nudge,
                expect=effective,
                tags=tuple(raw.get("tags", [])),
                provenance=dict(raw.get("provenance", {})),
                id_derived="id" not in raw,
            )
        )
    return out


class _References:
    """Lookups that report a located problem (with a "did you mean") when a name is unknown."""

    def __init__(self, principles: dict[str, Principle], values: dict[str, str], problems: list[Problem]):
        self.principles = principles
        self.values = values
        self.problems = problems
        self.broken: set[str] = set()  # conflicts whose value pair is invalid
        self._normalised: dict[str, str] = {}

    def principle(self, placed: Placed, pid: str, *where: str | int) -> bool:
        if pid in self.principles:
            return True
        self.problems.append(
            placed.at(f"unknown principle '{pid}'{did_you_mean(pid, self.principles)}", *where)
        )
        return False

    def value_pair(self, placed: Placed, pair: list[str]) -> tuple[str, str] | None:
        """The pair, or None (with the problem reported) when it names unknown or equal values."""
        before = len(self.problems)
        for i, value in enumerate(pair):
            if value not in self.values:
                self.problems.append(
                    placed.at(
                        f"unknown value '{value}'{did_you_mean(value, self.values)}; values must be "
                        "declared under `values:`",
                        "values",
                        i,
                    )
                )
        if pair[0] == pair[1]:
            self.problems.append(placed.at("a value pair needs two different values", "values"))
        return (pair[0], pair[1]) if len(self.problems) == before else None

    def expectation(
        self,
        placed: Placed,
        raw: dict[str, Any],
        pair: tuple[str, str] | None,
        *where: str | int,
        pair_known: bool = True,
    ) -> Expectation:
        lean = None
        if "lean" in raw and (pair is not None or pair_known):
            lean = self._lean(placed, raw["lean"], pair, *where, "lean")
        favor: tuple[Favor, ...] = ()
        if "favor" in raw and (pair is not None or pair_known):
            favor = self._favor(placed, raw["favor"], pair, *where, "favor")
        if "lean" not in raw and "tolerance" in raw and not any(f.around is not None for f in favor):
            self.problems.append(
                placed.at(
                    "`tolerance:` only makes sense with a `lean:` (or a `favor:` point)", *where, "tolerance"
                )
            )
        refusal = raw.get("refusal")
        if isinstance(refusal, bool):
            refusal = ["partial", "full"] if refusal else ["none"]
        elif isinstance(refusal, str):
            refusal = [refusal]
        becauses = []
        for i, item in enumerate(raw["because"]):
            if self.principle(placed, item["principle"], *where, "because", i, "principle"):
                self._quote(placed, item, (*where, "because", i, "quote"))
            becauses.append(Because(item["principle"], item["quote"]))
        if lean is None and "compliance" not in raw and refusal is None and not favor and "favor" not in raw:
            self.problems.append(
                placed.at(
                    "expectation checks nothing: give it at least one of lean, favor, compliance, refusal",
                    *where,
                )
            )
        return Expectation(
            because=tuple(becauses),
            lean=lean,
            tolerance=raw.get("tolerance"),
            compliance=raw.get("compliance"),
            refusal=frozenset(refusal) if refusal is not None else None,
            favor=favor,
        )

    def _favor(
        self, placed: Placed, raw: dict[str, Any], pair: tuple[str, str] | None, *where: str | int
    ) -> tuple[Favor, ...]:
        """``favor: {VALUE: BOUND}``: each value one of the pair's, each bound well formed."""
        if pair is None:
            self.problems.append(
                placed.at("`favor:` needs a value pair: this scenario has no conflict or values", *where)
            )
            return ()
        found = []
        for value, bound in raw.items():
            if value not in pair:
                self.problems.append(
                    placed.at(
                        f"favor names '{value}', which is not one of this conflict's values "
                        f"({pair[0]}, {pair[1]}){did_you_mean(str(value), pair)}",
                        *where,
                        value,
                    )
                )
                continue
            parsed = parse_favor(str(value), pair.index(value), bound)
            if parsed is None:
                self.problems.append(
                    placed.at(
                        f"favor bound {bound!r} for '{value}': use '>=N', '<=N', 'N..M' or N, with N "
                        "and M from 0 to 6 (M at least N)",
                        *where,
                        value,
                    )
                )
                continue
            found.append(parsed)
        return tuple(found)

    def _lean(self, placed: Placed, lean: Any, pair: tuple[str, str] | None, *where: str | int) -> int | None:
        if pair is None:
            self.problems.append(
                placed.at("`lean:` needs a value pair: this scenario has no conflict or values", *where)
            )
            return None
        if isinstance(lean, bool):
            lean = str(lean)
        if isinstance(lean, int):
            if 0 <= lean <= 6:
                return lean
            self.problems.append(placed.at(f"lean {lean} is off the 0-6 spectrum", *where))
            return None
        if isinstance(lean, str):
            if lean in LEAN_LABELS:
                return LEAN_LABELS[lean]
            self.problems.append(
                placed.at(
                    f"unknown lean '{lean}'{did_you_mean(lean, LEAN_LABELS)}; use 0-6, one of "
                    f"{', '.join(LEAN_LABELS)}, or {{toward: VALUE, strength: moderate|strong|extreme}}",
                    *where,
                )
            )
            return None
        unknown = set(lean) - {"toward", "strength"}
        if unknown or "toward" not in lean:
            self.problems.append(
                placed.at("a lean mapping is {toward: VALUE, strength: moderate|strong|extreme}", *where)
            )
            return None
        toward, strength = lean["toward"], lean.get("strength", "moderate")
        if toward not in pair:
            self.problems.append(
                placed.at(
                    f"lean toward '{toward}', which is not one of this conflict's values "
                    f"({pair[0]}, {pair[1]}){did_you_mean(str(toward), pair)}",
                    *where,
                    "toward",
                )
            )
            return None
        if strength not in STRENGTHS:
            self.problems.append(
                placed.at(
                    f"unknown strength '{strength}'; use one of {', '.join(STRENGTHS)}", *where, "strength"
                )
            )
            return None
        step = STRENGTHS[strength]
        return 3 - step if toward == pair[0] else 3 + step

    def _quote(self, placed: Placed, item: dict[str, str], where: tuple[str | int, ...]) -> None:
        text = self.principles[item["principle"]].text
        if text not in self._normalised:
            self._normalised[text] = _normalise(text)
        if _normalise(item["quote"]) in self._normalised[text]:
            return
        sentences = re.split(r"(?<=[.!?])\s+", text)
        close = difflib.get_close_matches(item["quote"], sentences, n=1, cutoff=0.4)
        hint = f'; closest sentence: "{close[0].strip()[:160]}"' if close else ""
        self.problems.append(
            placed.at(
                f"quote not found in the text of principle '{item['principle']}'; quote the spec "
                f"word for word (whitespace, case and curly quotes are ignored){hint}",
                *where,
            )
        )


def _strings(value: Any, where: tuple[str | int, ...]) -> Any:
    """Every string inside `value`, with its data path (keys included: they are names too)."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*where, key), str(key)
            yield from _strings(item, (*where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*where, index))


def _normalise(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = re.sub(r"[*_`]", "", text)
    return " ".join(text.lower().split())


def _messages(raw: list[dict[str, str]]) -> tuple[Message, ...]:
    return tuple(Message(m["role"], m["content"]) for m in raw)


def _derived_id(messages: tuple[Message, ...]) -> str:
    """A stable id from the scenario's content: the first words of the question plus a hash.

    Only the messages count, so re-mapping a scenario to another conflict or editing its
    expectation keeps its id (and its cassettes); a changed question is a new scenario.
    """
    canonical = json.dumps([[m.role, m.content] for m in messages], ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:10]
    last_user = (
        next(m.content for m in reversed(messages) if m.role == "user")
        if any(m.role == "user" for m in messages)
        else ""
    )
    words = re.findall(r"[a-z0-9]+", last_user.lower())[:5]
    slug = "-".join(words)[:40].strip("-")
    return f"{slug}-{digest}" if slug else f"s-{digest}"


def quote_found(text: str, quote: str) -> bool:
    """Whether ``quote`` occurs in ``text`` as the loader checks `because:` quotes (word for word,
    ignoring whitespace, case, curly quotes and Markdown emphasis)."""
    return _normalise(quote) in _normalise(text)


_BOUND = re.compile(r"\s*(?:(?P<op>>=|<=)\s*(?P<n>\d+)|(?P<lo>\d+)\s*\.\.\s*(?P<hi>\d+))\s*")


def parse_favor(value: str, index: int, bound: object) -> Favor | None:
    """One ``favor:`` bound, or None when it is not one of the accepted forms (on 0-6)."""
    if isinstance(bound, int) and not isinstance(bound, bool):
        return Favor(value, index, str(bound), None, None, around=bound) if 0 <= bound <= 6 else None
    if not isinstance(bound, str):
        return None
    match = _BOUND.fullmatch(bound)
    if match is None:
        return None
    written = bound.strip()
    if match.group("op"):
        n = int(match.group("n"))
        if n > 6:
            return None
        return Favor(
            value,
            index,
            written,
            n if match.group("op") == ">=" else None,
            n if match.group("op") == "<=" else None,
        )
    low, high = int(match.group("lo")), int(match.group("hi"))
    return Favor(value, index, written, low, high) if low <= high <= 6 else None
