"""Benchmark: replaying 2,000 recorded items, against a minimal vcrpy + SDK pytest harness.

Both sides replay exactly the same cassette files (recorded once, live, by a fanned-out
run against the peers' fake API, `bench/fakeapi.py`, which is then stopped):

* spec-pytest: `CI=true pytest --spec=bench.yaml` (record mode none): per item, the model's answer
  and the judge's ruling replayed through vcrpy and the SDKs, the verdict decided, the
  result record written;
* the harness: a test module with one parametrized test per item that does nothing but
  open each of the item's two cassettes with vcrpy (record mode none) and send the
  recorded request through one shared `openai.OpenAI` client.

Prints each wall time (--repeat fresh processes each, interleaved, start-up included: min /
median / max) and the ratio per repetition. Targets: spec-pytest <= 1.3x the harness, <= 3 ms
per item at 10,000, and (--xdist) `-n 2` faster than serial.
Run: `python bench/replay.py [--n 2000] [--repeat 3] [--xdist]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakeapi import dummy_key, start_fake_api
from live import KEY_ENV, write_spec

ROOT = Path(__file__).resolve().parents[1]

HARNESS = """\
import json
from pathlib import Path

import openai
import pytest
import vcr

PAIRS = json.loads(Path(__file__).with_name("pairs.json").read_text())
CLIENT = openai.OpenAI(base_url=PAIRS["base_url"], api_key="sk-replay", max_retries=0)
VCR = vcr.VCR(serializer="json", record_mode="none", decode_compressed_response=True)


def send(path):
    with VCR.use_cassette(path) as cassette:
        body = json.loads(cassette.requests[0].body)
        return CLIENT.chat.completions.create(**body)


@pytest.mark.parametrize("model_path, judge_path", PAIRS["items"])
def test_replay(model_path, judge_path):
    assert send(model_path).choices
    assert send(judge_path).choices
"""


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode not in (0, 1):
        print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{argv} exited {done.returncode}")
    return wall, last


def _spread(values: list[float]) -> str:
    return f"min {min(values):.2f} / median {statistics.median(values):.2f} / max {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--xdist", action="store_true", help="also replay under -n 2 (target: faster than serial)"
    )
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    plugins = ["-p", "spec_pytest.pytest.entry", "-p", "xdist"]
    with tempfile.TemporaryDirectory(prefix="spec-pytest-bench-replay-") as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        server, port, _ = start_fake_api()
        base_url = f"http://127.0.0.1:{port}/v1"
        write_spec(work / "bench.yaml", args.n, base_url, 32)
        record_env = {**env, KEY_ENV: dummy_key()}
        wall, last = _run(
            [sys.executable, "-m", "pytest", "--spec=bench.yaml", "-q", *plugins], work, record_env
        )
        server.terminate()
        server.wait(timeout=10)
        print(f"recorded {args.n} items live in {wall:.1f} s ({last})")
        model_dir = work / "cassettes" / "bench-live" / "openai" / "bench-model"
        pairs = []
        for model_path in sorted(model_dir.glob("*.json")):
            item = f"{model_path.name.removesuffix('.s0.json')}.openai.bench-model.s0.json"
            judge = (
                work / "cassettes" / "bench-live" / "_judges" / "openai" / "bench-judge" / "judge-v1" / item
            )
            pairs.append((str(model_path), str(judge)))
        assert len(pairs) == args.n and all(Path(j).is_file() for _, j in pairs), "recording incomplete"
        harness = work / "harness"
        harness.mkdir()
        (harness / "pairs.json").write_text(json.dumps({"base_url": base_url, "items": pairs}))
        (harness / "test_harness.py").write_text(HARNESS, encoding="utf-8")
        (harness / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        ours_argv = [sys.executable, "-m", "pytest", "--spec=bench.yaml", "-q", "-p", "no:cacheprovider"]
        ours_argv += (
            plugins  # record mode none: CI is set below (--record-mode may belong to pytest-recording)
        )
        theirs_argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_harness.py"]
        env["CI"] = "true"
        runs = [("spec-pytest", ours_argv, work), ("harness", theirs_argv, harness)]
        if args.xdist:
            runs.append(("spec-pytest -n 2", [*ours_argv, "-n", "2"], work))
        walls: dict[str, list[float]] = {name: [] for name, _, _ in runs}
        print(f"load {os.getloadavg()[0]:.1f}")
        for rep in range(args.repeat + 1):  # the first round warms the page cache and bytecode
            for name, argv, cwd in runs if rep % 2 else reversed(runs):  # interleaved, both orders
                wall, last = _run(argv, cwd, env)
                if rep:
                    walls[name].append(wall)
                    print(f"  {name} rep {rep}: {wall:.2f} s ({last}); load {os.getloadavg()[0]:.1f}")
        for name, values in walls.items():
            median = statistics.median(values)
            print(f"{name}: {_spread(values)} s ({median / args.n * 1000:.2f} ms per item, median)")
        ratios = [ours / theirs for ours, theirs in zip(walls["spec-pytest"], walls["harness"], strict=True)]
        print(
            f"replay of {args.n} items, spec-pytest / vcrpy+SDK harness, per repetition: {_spread(ratios)}x"
            " (target <= 1.3x; <= 3 ms per item)"
        )


if __name__ == "__main__":
    main()
