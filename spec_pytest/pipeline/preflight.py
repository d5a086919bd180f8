"""Before a run: what is missing (keys, cassettes), said once, with the ways forward.

A fresh clone with no keys and no cassettes must not produce a wall of identical errors
with no explanation: the header says which keys would be needed for which cases, how to
record, and how to use a local server instead. Every such item still ends as an error.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from spec_pytest.core.case import CaseError, expand
from spec_pytest.pipeline.ask import declare_endpoints, model_cassette
from spec_pytest.pipeline.run import NoJudgeError, RunSettings
from spec_pytest.providers import ModelRef, UnknownProviderError
from spec_pytest.recording.cassettes import RecordMode, will_replay
from spec_pytest.spec import SpecError
from spec_pytest.spec.load import load_spec_cached as load_spec


def preflight_lines(
    run: RunSettings,
    spec_paths: Iterable[Path],
    models: Sequence[str],
    samples: int | None,
    endpoint_lines: Sequence[str] = (),
) -> list[str]:
    ask = run.ask
    judge_mode = run.judge_record_mode or ask.record_mode
    lines = [f"spec-pytest: record mode {ask.record_mode.value}, cassettes in {ask.cassette_dir}"]
    missing_keys: Counter[str] = Counter()
    unrecorded = 0
    total = 0
    for path in spec_paths:
        try:
            spec = load_spec(path)
            declare_endpoints(ask.registry, [spec], endpoint_lines)
            cases = list(expand(spec, models, samples))
        except (SpecError, CaseError, ValueError):
            continue  # collection reports these, located
        for case in cases:
            total += 1
            needs: list[str] = []
            path_model = model_cassette(ask, case)
            if not will_replay(path_model, ask.record_mode) or not path_model.is_file():
                needs.append(case.model)
            try:
                panel = run.panel_for(case)
            except NoJudgeError:
                panel = None
            for judge, cassette in (panel.case_cassettes(case) if panel else {}).items():
                if not will_replay(cassette, judge_mode) or not cassette.is_file():
                    needs.append(judge)
            if not needs:
                continue
            unrecorded += 1
            for variable in {_key_variable(run, ref) for ref in needs} - {None}:
                missing_keys[variable] += 1  # type: ignore[index]
    if ask.record_mode is RecordMode.NONE and unrecorded:
        lines.append(
            f"spec-pytest: {unrecorded} of {total} case(s) have no recorded cassette and the record "
            "mode is none (the default when CI is set): they will end as errors. Record them on a "
            "machine with API keys (--record-mode=once) and commit the cassettes."
        )
    elif missing_keys:
        keys = ", ".join(f"{name} ({count} case(s))" for name, count in sorted(missing_keys.items()))
        lines += [
            f"spec-pytest: {unrecorded} of {total} case(s) need a model or judge call that is not "
            f"recorded yet, and no key is set for it: {keys}",
            f"  to record: set the key(s) and run again; cassettes are written under {ask.cassette_dir} "
            "and later runs replay them without keys",
            "  or use a local OpenAI-compatible server: --model ollama:MODEL or --model vllm:MODEL, or "
            "declare `endpoints:` in the spec (README: 'Local models')",
            "  until then those items end as errors",
        ]
    return lines


def _key_variable(run: RunSettings, ref: str) -> str | None:
    """The unset variable a call to `ref` would need, or None (set, not needed, or unknown)."""
    try:
        endpoint = run.ask.registry.endpoint(ModelRef.parse(ref).provider)
    except (UnknownProviderError, ValueError):
        return None
    if endpoint.key_env is None or not endpoint.key_required or os.environ.get(endpoint.key_env):
        return None
    return endpoint.key_env
