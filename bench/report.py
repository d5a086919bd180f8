"""Benchmark: results file -> gate, analysis, HTML and Markdown for a large run.

Generates N records shaped like a real run (3 models, 3 judges with a rationale each, a
1,500-character answer, 40 values, 20 conflicts), writes them through `ResultsWriter`
(fsync per line, as a run does), then times reading, the baseline comparison, the analysis
and both renderings, and prints the sizes. With --browser it also times Chromium loading
the page. Run: `python bench/report.py [--records 10000] [--browser]`.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spec_pytest.core.judgement import Judgement
from spec_pytest.results.gate import Baseline, compare
from spec_pytest.results.records import Record, ResultsWriter, read_results
from spec_pytest.results.report import build, render_html, render_markdown

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_dom(page: Path) -> str:
    """The page's DOM after Chromium loaded it and ran its scripts (Debian's chromium)."""
    with tempfile.TemporaryDirectory(prefix="spec-pytest-bench-chromium-") as profile:
        done = subprocess.run(
            ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
    return done.stdout


MODELS = ("openai:gpt-4.1", "anthropic:claude-sonnet-4-5", "openai:o3")
JUDGES = ("anthropic:claude-opus-4-1", "openai:gpt-5", "google:gemini-2.5-pro")
VALUES = [f"value_{i}" for i in range(40)]
LEVELS = ("root", "system", "developer", "user", "guideline")


def records(count: int, seed: int = 7) -> list[Record]:
    rng = random.Random(seed)
    out = []
    scenarios = count // len(MODELS) + 1
    for n in range(scenarios):
        conflict = n % 20
        pair = (VALUES[conflict * 2 % 40], VALUES[(conflict * 2 + 1) % 40])
        centre = rng.randint(0, 6)
        for model in MODELS:
            if len(out) == count:
                return out
            position = max(0, min(6, centre + rng.randint(-2, 2)))
            judges = tuple(
                Judgement(j, "compliant", "none", "The answer weighs both values; " * 10, position)
                for j in JUDGES
            )
            outcome = "pass" if abs(position - 3) <= 1 else "fail"
            out.append(
                Record(
                    suite="bench",
                    scenario=f"scenario-{n:05d}",
                    model=model,
                    sample=0,
                    outcome=outcome,
                    spec_version="1",
                    conflict=f"conflict-{conflict}",
                    values=pair,
                    principles=(f"principle_{conflict}",),
                    level=LEVELS[conflict % 5],
                    messages=({"role": "user", "content": "A realistic user question of some length. " * 6},),
                    reasons=() if outcome == "pass" else (f"lean: expected 3±1, judged {position}",),
                    position=float(position),
                    compliance="compliant",
                    refusal="none",
                    judges=judges,
                    response_excerpt="An answer that goes on for a while. " * 42,
                    response_chars=1512,
                    input_tokens=200,
                    output_tokens=400,
                    latency_s=1.0,
                    cassettes={"response": f"cassettes/bench/{model}/scenario-{n:05d}.s0.json"},
                )
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--browser", action="store_true", help="also time Chromium loading the page")
    args = parser.parse_args()
    made = records(args.records)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.jsonl"
        start = time.perf_counter()
        with ResultsWriter(path) as writer:
            for record in made:
                writer.append(record)
        timings = {"write (fsync per line)": time.perf_counter() - start}
        start = time.perf_counter()
        loaded = read_results([path])
        timings["read"] = time.perf_counter() - start
        baseline = Baseline.from_records(records(args.records, seed=8))
        start = time.perf_counter()
        gate = compare(baseline, loaded)
        timings["gate"] = time.perf_counter() - start
        start = time.perf_counter()
        content = build(loaded, baseline=baseline)
        timings["build (analysis + gate + tallies)"] = time.perf_counter() - start
        start = time.perf_counter()
        page = render_html(content)
        timings["render HTML"] = time.perf_counter() - start
        start = time.perf_counter()
        summary = render_markdown(content)
        timings["render Markdown"] = time.perf_counter() - start
        html_path = Path(tmp) / "report.html"
        html_path.write_text(page, encoding="utf-8")
        if args.browser:
            start = time.perf_counter()
            dom = chromium_dom(html_path)
            timings["Chromium load"] = time.perf_counter() - start
            scenarios = dom.count('class="scenario"')
            print(f"Chromium: {scenarios} scenarios in the drill-down")
        print(
            f"{len(loaded)} records, {path.stat().st_size / 1e6:.1f} MB JSONL; "
            f"{len(gate.regressions)} regressions"
        )
        for name, seconds in timings.items():
            print(f"  {name:<36} {seconds:7.2f} s")
        print(f"  HTML {len(page.encode()) / 1e6:.1f} MB, Markdown {len(summary.encode()) / 1e3:.1f} kB")


if __name__ == "__main__":
    main()
