"""What a judge reads: the rubric (a versioned template) filled in for one answer.

The conversation and the answer go in as DATA, enclosed between marker lines that carry a
tag the enclosed text does not contain, so nothing inside can close the enclosure early
and talk to the judge from outside it. The tag must also be the same on every run, or a
replayed cassette would never match its recorded request: it is derived from a hash of the
rubric version and of every enclosed text, then checked against those texts (and
lengthened if a text happens to contain it). A text cannot name its own tag in advance:
it would have to contain a hash of itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from string import Template

from spec_pytest.core.judgement import SPECTRUM, VALUE_SPECTRUM
from spec_pytest.core.response import Response
from spec_pytest.errors import ConfigError, InputError
from spec_pytest.judge.answer import answer_schema
from spec_pytest.judge.templates import (
    API_REFUSAL_NOTES,
    RUBRICS,
    WHOLE_SPEC,
    PerValueTemplates,
    RubricTemplates,
    base_rubric,
)
from spec_pytest.providers import JsonOutput
from spec_pytest.spec.anchors import ScenarioAnchors, anchors_of
from spec_pytest.spec.model import Example, LabelledResponse, Message, Principle, Scenario, Spec

#: The rubric version new judgements use. Part of every judge cassette's path.
RUBRIC_VERSION = "judge-v1"
#: Shortest tag, in hex digits (64 bits: unguessable, and short enough to read).
TAG_DIGITS = 16


@dataclass(frozen=True, slots=True)
class Subject:
    """One answer to judge, with what the rubric needs to judge it.

    ``principles`` are the ones at stake (shown in full); ``citable`` are all ids the judge
    may cite (the whole spec's, so a higher-authority principle can decide the case);
    ``values`` are the two values of the spectrum as (name, description), or None when the
    answer is only ruled on, not placed on a spectrum. ``anchors`` are the scenario's own
    per-value spectra (`spec_pytest.spec.anchors`), which only the per-value rubric reads.
    """

    conversation: tuple[Message, ...]
    answer: str
    principles: tuple[Principle, ...]
    citable: tuple[str, ...]
    levels: tuple[str, ...]
    spec_title: str
    values: tuple[tuple[str, str], tuple[str, str]] | None = None
    truncated: bool = False
    refusal_source: str | None = None  # the API reported a refusal (`Response.api_refusal`)
    anchors: ScenarioAnchors | None = None
    #: Every principle of the spec, in order: what a whole-spec judge reads (``-spec`` rubrics).
    every_principle: tuple[Principle, ...] = ()

    @classmethod
    def of_scenario(cls, spec: Spec, scenario: Scenario, answer: str | Response) -> Subject:
        """A model's answer to a scenario of ``spec`` (with its anchors, if it has any)."""
        subject = cls.of_conversation(
            spec,
            scenario.messages,
            answer,
            principles=spec.principles_of(scenario),
            values=scenario.values,
        )
        found = anchors_of(spec, scenario)
        return subject if found is None else replace(subject, anchors=found)

    @classmethod
    def of_example(cls, spec: Spec, example: Example, response: LabelledResponse) -> Subject:
        """A labelled reference answer of one of the spec's examples (for calibration)."""
        return cls.of_conversation(spec, example.messages, response.text, principles=(example.principle,))

    @classmethod
    def of_conversation(
        cls,
        spec: Spec,
        conversation: Sequence[Message],
        answer: str | Response,
        *,
        principles: Sequence[str] = (),
        values: tuple[str, str] | None = None,
    ) -> Subject:
        """Any answer to any conversation, judged against principles of ``spec`` by id."""
        unknown = [p for p in principles if p not in spec.principles]
        if unknown:
            raise InputError(f"{spec.id} has no principle(s) {', '.join(unknown)}")
        pair = None
        if values is not None:
            # Values a spec does not describe (e.g. the study's raw labels) stand for themselves.
            first, second = ((v, spec.values.get(v, v.replace("_", " "))) for v in values)
            pair = (first, second)
        truncated, refusal_source = False, None
        if isinstance(answer, Response):
            truncated, refusal_source = answer.truncated, answer.api_refusal
            answer = answer.text or answer.refusal_message or ""
        return cls(
            conversation=tuple(conversation),
            answer=answer,
            principles=tuple(spec.principles[p] for p in dict.fromkeys(principles)),
            citable=tuple(spec.principles),
            levels=spec.levels,
            spec_title=spec.title or spec.id,
            values=pair,
            every_principle=tuple(spec.principles.values()),
            truncated=truncated,
            refusal_source=refusal_source,
        )


@dataclass(frozen=True, slots=True)
class Prompt:
    """The judge request for one subject: messages, the enclosure tag, the answer format."""

    rubric: str
    messages: tuple[Message, ...]
    tag: str
    output: JsonOutput
    with_position: bool
    citable: tuple[str, ...]
    per_value: bool = False  # the answer holds one position per value (`PerValueTemplates`)

    def retry(self, previous: str, problem: str) -> tuple[Message, ...]:
        """The same request followed by the unusable answer and what was wrong with it."""
        follow_up = Template(_templates(self.rubric).retry).substitute(problem=problem)
        return (
            *self.messages,
            Message("assistant", previous.strip() or "(empty)"),
            Message("user", follow_up),
        )


def _templates(rubric: str) -> RubricTemplates:
    """The templates of a rubric name (a ``-spec`` name: its base rubric's); ConfigError if unknown."""
    try:
        return RUBRICS[base_rubric(rubric)[0]]
    except KeyError:
        raise ConfigError(f"unknown rubric version {rubric!r}; known: {', '.join(RUBRICS)}") from None


def build_prompt(subject: Subject, rubric: str = RUBRIC_VERSION) -> Prompt:
    """The judge request for ``subject`` under rubric ``rubric``.

    A ``<rubric>-spec`` name (``--judge-context=spec``) sends the whole spec first, as a system
    message of its own marked for the prompt cache, then the rubric pointing into it.
    """
    templates = _templates(rubric)
    base, whole_spec = base_rubric(rubric)
    conversation = "\n\n".join(f"[{m.role}]\n{m.content}" for m in subject.conversation) or "(none)"
    tag = enclosure_tag(rubric, [conversation, subject.answer])
    spectrum = position_rule = ""
    per_value = isinstance(templates, PerValueTemplates)
    if subject.values is not None and isinstance(templates, PerValueTemplates):
        spectrum = _value_spectra(subject, templates)
        position_rule = templates.position_rule
    elif subject.values is not None:
        (first, first_description), (second, second_description) = subject.values
        points = "\n".join(f"{i} = {label}" for i, label in enumerate(SPECTRUM))
        spectrum = Template(templates.spectrum).substitute(
            first=first,
            first_description=first_description,
            second=second,
            second_description=second_description,
            points=points,
        )
        position_rule = templates.position_rule
    at_stake = {p.id for p in subject.principles}
    others = [pid for pid in subject.citable if pid not in at_stake]
    fields = {
        "spec_title": subject.spec_title,
        "levels": " > ".join(subject.levels),
        "spectrum": spectrum,
        "position_rule": position_rule,
        "tag": tag,
    }
    head: tuple[Message, ...] = ()
    if whole_spec:
        whole = WHOLE_SPEC[base]
        spec_text = "\n\n".join(_principle(p) for p in subject.every_principle) or "(no principles)"
        preamble = Template(whole.preamble).substitute(
            spec_title=subject.spec_title, levels=fields["levels"], spec_text=spec_text
        )
        head = (Message("system", preamble, cache=True),)
        at_stake_ids = ", ".join(p.id for p in subject.principles) or "(none named)"
        system = Template(whole.system).substitute(fields, at_stake=at_stake_ids)
    else:
        system = Template(templates.system).substitute(
            fields,
            principles="\n\n".join(_principle(p) for p in subject.principles) or "(none named)",
            other_principles=", ".join(others) or "(none)",
        )
    user = Template(templates.user).substitute(
        tag=tag,
        conversation=conversation,
        answer=subject.answer,
        truncated_note=_notes(subject, base),
    )
    with_position = subject.values is not None
    schema = answer_schema(subject.citable, with_position=with_position, per_value=per_value)
    return Prompt(
        rubric=rubric,
        messages=(*head, Message("system", system), Message("user", user)),
        tag=tag,
        output=JsonOutput(name="judgement", schema=schema),
        with_position=with_position,
        citable=subject.citable,
        per_value=per_value and with_position,
    )


def _value_spectra(subject: Subject, templates: PerValueTemplates) -> str:
    """Both per-value spectra: the scenario's anchors where written, else the generic points.

    Stale anchors (written for an earlier text of the scenario) are an error, never quietly
    replaced by the generic points: the run would claim a method it did not apply.
    """
    assert subject.values is not None
    (first, first_description), (second, second_description) = subject.values
    anchors = subject.anchors
    if anchors is not None and anchors.stale:
        raise InputError(
            f"{anchors.source}: the anchors of scenario {anchors.scenario!r} were written for "
            f"another text of it (the scenario changed since); review them, then rewrite them with "
            f"`spec-pytest anchors SPEC --writer MODEL --rewrite {anchors.scenario}` (or delete the "
            "entry to judge against the generic points)"
        )

    def points(index: int, value: str) -> str:
        if anchors is None:
            return Template(templates.generic_points).substitute(value=value)
        return "\n".join(
            f"{i} {label}: {text}"
            for i, (label, text) in enumerate(zip(VALUE_SPECTRUM, anchors.spectra[index], strict=True))
        )

    return Template(templates.spectrum).substitute(
        first=first,
        first_description=first_description,
        second=second,
        second_description=second_description,
        first_points=points(0, first),
        second_points=points(1, second),
    )


def _notes(subject: Subject, rubric: str) -> str:
    """The notes under the answer: the token limit cut it; the API reported a refusal.

    An answer the API did not flag gets exactly the text it always got, so its recorded
    judge prompts still match.
    """
    notes = RUBRICS[rubric].truncated_note if subject.truncated else ""
    if subject.refusal_source is not None:
        note = API_REFUSAL_NOTES.get(rubric)
        if note is None:
            raise ConfigError(f"rubric {rubric!r} has no note for an answer the API reported as a refusal")
        notes += Template(note).substitute(source=subject.refusal_source)
    return notes


def enclosure_tag(rubric: str, texts: Sequence[str]) -> str:
    """A tag that occurs in none of ``texts``, the same for the same inputs on every run."""
    digest = hashlib.sha256(rubric.encode("utf-8"))
    for text in texts:
        encoded = text.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "big"))  # unambiguous joining of the texts
        digest.update(encoded)
    return choose_tag(digest.hexdigest(), texts)


def choose_tag(seed: str, texts: Sequence[str]) -> str:
    """``DATA-`` and the shortest prefix of ``seed`` (at least `TAG_DIGITS`) no text contains.

    Past the seed's own length, further digits come from re-hashing, so a tag always exists.
    """
    digits = seed
    length = TAG_DIGITS
    while True:
        while length > len(digits):
            digits += hashlib.sha256(digits.encode("ascii")).hexdigest()
        tag = f"DATA-{digits[:length]}"
        if not any(tag in text for text in texts):
            return tag
        length += TAG_DIGITS


def _principle(principle: Principle) -> str:
    where = f"level: {principle.level}"
    if principle.section:
        where += f"; section: {principle.section}"
    heading = f"[{principle.id}] {principle.title}" if principle.title else f"[{principle.id}]"
    return f"{heading} ({where})\n{principle.text.strip()}"
