"""Judge checks as pytest items: the spec's labelled answers, each a ruling the panel must reach.

The spec's authors labelled example answers GOOD, BAD or (rarely) OK. A judge check hands
one of them to the panel (no model is asked: the answer is given) and passes only when the
panel's majority is what the label stands for (`spec_pytest.judge.calibrate.EXPECTED`: GOOD
and OK compliant, BAD non-compliant). A split panel did not reach the label: a FAIL. A judge
that cannot be heard (missing cassette, API failure, unusable answer) is an ERROR, as for a
case. Items carry the marker ``judge_check``: ``-m judge_check`` runs them alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spec_pytest.errors import SpecPytestError
from spec_pytest.judge.calibrate import EXPECTED, CalibrationItem
from spec_pytest.pipeline.run import judge_check_blocking
from spec_pytest.pytest.stash import RUN
from spec_pytest.secrets import for_terminal
from spec_pytest.spec.model import Example, Spec

MARKER = "judge_check"


def wanted(config: pytest.Config) -> bool:
    """Whether this run collects judge checks: ``--judge-check``, or a ``-m`` naming them."""
    return bool(config.getoption("spec_judge_check")) or MARKER in (config.getoption("markexpr", "") or "")


class JudgeCheckGroup(pytest.Collector):
    """The labelled answers of one spec, as ``<spec file>::judge-check::<example>.r<index>``."""

    def __init__(self, *, spec: Spec, **kwargs: Any):
        super().__init__(**kwargs)
        self.spec = spec

    def collect(self) -> Iterator[JudgeCheckItem]:
        for example in self.spec.examples:
            for index, response in enumerate(example.responses):
                if response.label not in EXPECTED:
                    continue
                item = JudgeCheckItem.from_parent(
                    self, name=f"{example.id}.r{index}", spec=self.spec, example=example, index=index
                )
                item.add_marker(getattr(pytest.mark, MARKER))
                item.extra_keyword_matches.update([example.principle, response.label])
                yield item


class JudgeCheckItem(pytest.Item):
    """One labelled answer: judged in setup (an ERROR when it cannot be), checked in the call."""

    def __init__(self, *, spec: Spec, example: Example, index: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.spec, self.example, self.index = spec, example, index
        self.label = example.responses[index].label
        self.rulings: dict[str, str] = {}
        self.error: str | None = None

    @property
    def checked(self) -> CalibrationItem:
        """What the panel made of the answer, in calibration's terms (its majority, its accuracy)."""
        principle = self.spec.principles.get(self.example.principle)
        return CalibrationItem(
            example=self.example.id,
            index=self.index,
            label=self.label,
            principle=self.example.principle,
            section=(principle.section if principle else None) or "(no section)",
            level=principle.level if principle else "",
            rulings=dict(self.rulings),
            error=self.error,
        )

    def setup(self) -> None:
        hint = f"pytest --spec={self.spec.path} '{self.nodeid}' --judge-record-mode=rewrite"
        try:
            judgements = judge_check_blocking(
                self.config.stash[RUN], self.spec, self.example, self.index, hint
            )
        except SpecPytestError as exc:
            self.error = for_terminal(str(exc))
        if self.error is not None:  # outside the except: the message alone
            pytest.fail(self.error, pytrace=False)
        self.rulings = {j.judge: j.compliance for j in judgements}

    def runtest(self) -> None:
        checked = self.checked
        if not checked.correct:
            rulings = ", ".join(f"{judge} {ruling}" for judge, ruling in self.rulings.items())
            raise JudgeDisagreement(
                f"judge check {self.example.id}.r{self.index}: the spec's authors label this answer "
                f"{self.label.upper()} (a panel must rule it {checked.expected}); the panel ruled "
                f"{checked.panel} ({rulings}). Principle: {self.example.principle}. A judge that "
                "disagrees with the spec's authors makes every verdict it gives less trustworthy."
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, JudgeDisagreement):
            return for_terminal(str(excinfo.value))
        return super().repr_failure(excinfo)  # type: ignore[return-value]

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.spec.path, 0, f"{self.spec.id}::judge-check::{self.name}"

    def row(self) -> dict[str, Any]:
        """What the controller's summary needs (sent with the report, so xdist carries it)."""
        checked = self.checked
        return {
            "suite": self.spec.id,
            "example": checked.example,
            "index": checked.index,
            "label": checked.label,
            "principle": checked.principle,
            "section": checked.section,
            "level": checked.level,
            "rulings": checked.rulings,
            "error": checked.error,
        }


class JudgeDisagreement(Exception):
    """The panel did not rule as the spec's authors labelled the answer."""
