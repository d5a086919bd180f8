"""Judging a piece of text from an ordinary Python test (what the ``judge`` fixture calls).

A test that produced an answer by its own means (its own model call, a template, a fixed
string) asks the panel about it against a scenario of a spec, or against principles named
inline, and gets a `Verdict` back::

    def test_pricing_answer(judge):
        verdict = judge(my_bot("Which plan?"), spec="openai_modelspec", scenario="saas-tiers")
        assert verdict.outcome is Outcome.PASS, verdict.summary

Unlike a spec item, the text is not the replay of a recorded model answer: it may change
from run to run. So its judge cassettes are named after a hash of what is judged (text
and conversation): changed text is judged afresh (or, in replay-only mode, reported as a
missing cassette) instead of being reported as a stale recording.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from spec_pytest.core.response import Response
from spec_pytest.core.verdict import Verdict, decide
from spec_pytest.errors import ConfigError
from spec_pytest.judge.panel import JudgePanel
from spec_pytest.judge.rubric import RUBRIC_VERSION, Subject
from spec_pytest.providers import DEFAULT_REGISTRY, ModelParams, Registry
from spec_pytest.recording.cassettes import RecordMode, resolve_record_mode, safe_component
from spec_pytest.spec import load_spec
from spec_pytest.spec.model import Expectation, Message, Scenario, Spec


@dataclass
class TextJudge:
    """Judges text against a spec with a fixed configuration (judges, cassettes, mode).

    ``judges`` empty means: each spec's ``defaults.judges``.
    """

    cassette_root: Path
    judges: tuple[str, ...] = ()
    record_mode: RecordMode = RecordMode.ONCE
    registry: Registry = DEFAULT_REGISTRY
    params: ModelParams | None = None  # None: each judge's family defaults
    rubric: str = RUBRIC_VERSION
    rerecord_hint: str | None = None

    def __call__(
        self,
        response: str | Response,
        *,
        spec: Spec | str | os.PathLike[str],
        scenario: str | Scenario | None = None,
        messages: Sequence[Message | Mapping[str, str]] = (),
        principles: Sequence[str] = (),
        values: tuple[str, str] | None = None,
        expect: Expectation | None = None,
        name: str | None = None,
    ) -> Verdict:
        """The panel's verdict on ``response``.

        Either ``scenario`` (an id of ``spec`` or a `Scenario`: its conversation,
        principles, values and expectation apply, ``expect`` overrides the latter) or an
        inline case: ``messages``, ``principles`` (ids in ``spec``), ``values`` and
        ``expect``, with ``name`` naming its cassettes. Raises `JudgeError`,
        `ProviderError` or `CassetteError` when there is no verdict to give.
        """
        loaded = spec if isinstance(spec, Spec) else load_spec(Path(spec))
        conversation = tuple(
            m if isinstance(m, Message) else Message(m["role"], m["content"]) for m in messages
        )
        if scenario is not None:
            found = _scenario(loaded, scenario)
            subject = Subject.of_scenario(loaded, found, response)
            expected = expect if expect is not None else found.expect
            label = found.id
        else:
            subject = Subject.of_conversation(
                loaded, conversation, response, principles=principles, values=values
            )
            expected = expect
            label = name or "inline"
        judges = self.judges or loaded.defaults.judges
        if not judges:
            raise ConfigError(
                f"{loaded.id}: no judge to ask: configure judges (--judge PROVIDER:MODEL) "
                "or set `defaults: {judges: [...]}` in the spec"
            )
        panel = JudgePanel(
            judges=tuple(judges),
            registry=self.registry,
            cassette_root=self.cassette_root,
            suite=loaded.id,
            record_mode=self.record_mode,
            params=self.params,
            rubric=self.rubric,
            rerecord_hint=self.rerecord_hint,
        )
        judgements = panel.judge_sync(subject, text_item(label, subject))
        cited = tuple(p.id for p in subject.principles)
        return decide(expected.resolved() if expected is not None else None, judgements, principles=cited)


def text_item(label: str, subject: Subject) -> str:
    """``<label>.text-<hash>``: the cassette name of judged text, after what is judged."""
    digest = hashlib.sha256()
    for message in subject.conversation:
        digest.update(f"{message.role}\0{message.content}\0".encode())
    digest.update(subject.answer.encode("utf-8"))
    return f"{safe_component(label)}.text-{digest.hexdigest()[:12]}"


def judge_text(
    response: str | Response,
    *,
    spec: Spec | str | os.PathLike[str],
    scenario: str | Scenario | None = None,
    judges: Sequence[str] = (),
    cassette_root: str | os.PathLike[str] = "cassettes",
    record_mode: RecordMode | str | None = None,
    registry: Registry | None = None,
    **case: object,
) -> Verdict:
    """One-call form of `TextJudge` (record mode: ``once``, or ``none`` when CI is set)."""
    judge = TextJudge(
        cassette_root=Path(cassette_root),
        judges=tuple(judges),
        record_mode=resolve_record_mode(record_mode),
        registry=registry or DEFAULT_REGISTRY,
    )
    return judge(response, spec=spec, scenario=scenario, **case)  # type: ignore[arg-type]


def _scenario(spec: Spec, scenario: str | Scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    for candidate in spec.scenarios:
        if candidate.id == scenario:
            return candidate
    raise ConfigError(f"{spec.id} has no scenario {scenario!r}")
