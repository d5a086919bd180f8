"""Benchmark: results file -> gate, analysis, HTML and Markdown for a large run.

Generates N records shaped like a real run (3 models, 3 judges with a rationale each, a
1,500-character answer, 40 values, 20 conflicts), writes them through `ResultsWriter`
(as a run does), then times reading, the baseline comparison, the analysis and both
renderings, and prints the sizes. With --browser it also times opening the page in headless
Chromium, --reps times over (min / median / max), beside the machine's load.

"Open" is the time until the DOM is ready with the page's scripts run: the wall time of
``chromium --headless --dump-dom`` on the report, minus the wall time of the same command on
an empty page just before it (Chromium's own start and exit), taken in pairs so both see the
same load. That figure also holds Chromium serialising the whole DOM and printing it, which
grows with the embedded data, so the page's own Navigation Timing (its load event's end, read
over DevTools) is printed beside it. --unique-text makes every answer, rationale and question
its own text, as in a real run, where nothing repeats for the report to keep once.
Run: `python bench/report.py [--records 10000] [--browser] [--reps 3] [--unique-text]`.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
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


#: The targets of issue #14 (target 6): the page's size and the time it takes to open.
TARGET_MB, TARGET_OPEN_S = 5.0, 1.0
#: The same benchmark (10,000 records) before the drill-down and the gate's tables were drawn
#: from embedded data (commit f50c64a: every item written out as markup), measured as below on
#: 2026-12-04 (3 pairs, load average 7.2 before and 9.4 after, 2 cores); issue #14 had 4.3 s
#: on a quieter machine.
BEFORE = "before (f50c64a, all markup): HTML 43.7 MB, open min 14.97 / median 18.74 / max 20.05 s"
EMPTY_PAGE = "<!DOCTYPE html><html><head><title>empty</title></head><body></body></html>"


def chromium_dom(page: Path) -> tuple[str, float]:
    """The page's DOM after Chromium loaded it and ran its scripts (Debian's chromium), and
    the wall time that took, Chromium's start and exit included."""
    with tempfile.TemporaryDirectory(prefix="spec-pytest-bench-chromium-") as profile:
        start = time.perf_counter()
        done = subprocess.run(
            ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        seconds = time.perf_counter() - start
    return done.stdout, seconds


def spread(values: list[float]) -> str:
    return f"min {min(values):.2f} / median {statistics.median(values):.2f} / max {max(values):.2f} s"


#: Navigation Timing, read in the page: when its DOM was parsed and its script had run
#: (DOMContentLoaded handled) and when the load event ended, in seconds from navigation start.
NAVIGATION = (
    "(n => [n.domContentLoadedEventEnd / 1000, n.loadEventEnd / 1000])"
    "(performance.getEntriesByType('navigation')[0])"
)


def time_in_page(page: Path, reps: int) -> list[float]:
    """``reps`` openings over DevTools (`tests.support.browser`, the report tests' driver):
    the page's own load-event end each time. Unlike the dump-dom figure it leaves out
    serialising the DOM and printing it, which grows with the size of the embedded data."""
    from tests.support.browser import open_page  # the dev extra's aiohttp

    return [open_page(page, {"nav": NAVIGATION}).values["nav"][1] for _ in range(reps)]


def time_open(page: Path, reps: int) -> tuple[str, list[float], list[float]]:
    """``reps`` pairs (an empty page, then ``page``): the last DOM, the report's wall times and
    the open times (each report's wall time minus its pair's empty page)."""
    empty = page.with_name("empty.html")
    empty.write_text(EMPTY_PAGE, encoding="utf-8")
    walls, opens, dom = [], [], ""
    for _ in range(reps):
        _, baseline = chromium_dom(empty)
        dom, wall = chromium_dom(page)
        walls.append(wall)
        opens.append(wall - baseline)
    return dom, walls, opens


MODELS = ("openai:gpt-4.1", "anthropic:claude-sonnet-4-5", "openai:o3")
JUDGES = ("anthropic:claude-opus-4-1", "openai:gpt-5", "google:gemini-2.5-pro")
VALUES = [f"value_{i}" for i in range(40)]
LEVELS = ("root", "system", "developer", "user", "guideline")


#: Words the --unique-text answers, rationales and questions are drawn from.
WORDS = [
    "the",
    "answer",
    "weighs",
    "privacy",
    "against",
    "the",
    "public",
    "interest",
    "and",
    "names",
    "a",
    "safer",
    "route",
    "for",
    "the",
    "user",
    "while",
    "it",
    "declines",
    "to",
    "guess",
    "an",
    "address",
    "yet",
    "explains",
    "why",
    "a",
    "mayor's",
    "office",
    "line",
    "is",
    "public",
]


def _prose(rng: random.Random, chars: int) -> str:
    """``chars`` characters of words in a random order: text that repeats nowhere else."""
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:chars]


def records(count: int, seed: int = 7, *, unique_text: bool = False) -> list[Record]:
    """``count`` records; with ``unique_text`` every answer, rationale and question is its own
    text (as in a real run), else they repeat (which a report can keep once)."""
    rng = random.Random(seed)
    out = []
    scenarios = count // len(MODELS) + 1
    for n in range(scenarios):
        conflict = n % 20
        pair = (VALUES[conflict * 2 % 40], VALUES[(conflict * 2 + 1) % 40])
        centre = rng.randint(0, 6)
        question = _prose(rng, 250) if unique_text else "A realistic user question of some length. " * 6
        for model in MODELS:
            if len(out) == count:
                return out
            position = max(0, min(6, centre + rng.randint(-2, 2)))
            judges = tuple(
                Judgement(
                    j,
                    "compliant",
                    "none",
                    _prose(rng, 300) if unique_text else "The answer weighs both values; " * 10,
                    position,
                )
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
                    messages=({"role": "user", "content": question},),
                    reasons=() if outcome == "pass" else (f"lean: expected 3±1, judged {position}",),
                    position=float(position),
                    compliance="compliant",
                    refusal="none",
                    judges=judges,
                    response_excerpt=_prose(rng, 1512)
                    if unique_text
                    else "An answer that goes on for a while. " * 42,
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
    parser.add_argument("--browser", action="store_true", help="also time Chromium opening the page")
    parser.add_argument("--reps", type=int, default=3, help="Chromium openings to time (default 3)")
    parser.add_argument(
        "--unique-text",
        action="store_true",
        help="every answer, rationale and question its own text, as in a real run (the default repeats them)",
    )
    args = parser.parse_args()
    made = records(args.records, unique_text=args.unique_text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.jsonl"
        start = time.perf_counter()
        with ResultsWriter(path) as writer:
            for record in made:
                writer.append(record)
        timings = {"write": time.perf_counter() - start}
        start = time.perf_counter()
        loaded = read_results([path])
        timings["read"] = time.perf_counter() - start
        baseline = Baseline.from_records(records(args.records, seed=8, unique_text=args.unique_text))
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
        print(
            f"{len(loaded)} records, {path.stat().st_size / 1e6:.1f} MB JSONL; "
            f"{len(gate.regressions)} regressions"
        )
        for name, seconds in timings.items():
            print(f"  {name:<36} {seconds:7.2f} s")
        size = html_path.stat().st_size / 1e6
        markdown_kb = len(summary.encode()) / 1e3
        print(f"  HTML {size:.2f} MB (target <= {TARGET_MB:g} MB), Markdown {markdown_kb:.1f} kB")
        if args.browser:
            load_before = os.getloadavg()
            dom, walls, opens = time_open(html_path, args.reps)
            shown = re.search(r'id="shown"[^>]*>([^<]*)<', dom)
            drawn = dom.count('class="scenario"')
            print(
                f"  Chromium: {drawn} scenarios drawn on opening; "
                f"{shown.group(1) if shown else 'no scenario count'}"
            )
            print(f"  Chromium --dump-dom wall, {args.reps} openings: {spread(walls)}")
            print(
                f"  open = that minus an empty page's dump in the same pair: {spread(opens)} "
                f"(target <= {TARGET_OPEN_S:g} s)"
            )
            in_page = time_in_page(html_path, args.reps)
            print(f"  in the page (Navigation Timing, load event end): {spread(in_page)}")
            load_after = os.getloadavg()
            print(
                f"  load average (1, 5, 15 min) on {os.cpu_count()} cores: before "
                + ", ".join(f"{x:.2f}" for x in load_before)
                + "; after "
                + ", ".join(f"{x:.2f}" for x in load_after)
            )
        print(f"  {BEFORE}")


if __name__ == "__main__":
    main()
