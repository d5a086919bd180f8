"""Reports never show a machine's absolute paths: cassettes are linked relative to the report."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

from spec_pytest.results.gate import Baseline
from spec_pytest.results.records import Record
from spec_pytest.results.report import build, render_html, render_markdown
from spec_pytest.results.report.paths import LocalPaths
from tests.support.browser import rendered
from tests.support.recordsets import GPT, O3, errored, judged

RUNNER = "/home/runner/work/proj"
#: What a leaked path starts with, anywhere in a page: the usual homes and temporary folders.
LEAK = re.compile(r"(?<![\w.:/~-])/(home|root|tmp|Users|work|srv)\b|runner")


def _moved(record: Record, root: str) -> Record:
    """The record as a run in ``root`` writes it: absolute cassette paths, errors quoting them."""
    cassettes = {role: f"{root}/{path}" for role, path in record.cassettes.items()}
    error = record.error and record.error.replace("cassettes/", f"{root}/cassettes/")
    return replace(record, cassettes=cassettes, error=error)


def _run(root: str) -> list[Record]:
    return [
        _moved(judged("mayor-phone", GPT, 0), root),
        _moved(judged("mayor-phone", O3, 6), root),
        _moved(errored("startup-pitch", O3), root),
    ]


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def _hrefs(page: str) -> list[str]:
    parser = _Hrefs()
    parser.feed(page)
    return parser.hrefs


def test_absolute_cassette_paths_of_another_machine_never_reach_the_reports(tmp_path: Path):
    records = _run(RUNNER)
    assert records[2].error is not None and f"{RUNNER}/cassettes/" in records[2].error  # planted
    # a results file and a baseline are paths whatever folder they are in (/srv is in no other path)
    content = build(
        records,
        sources=[f"{RUNNER}/results.jsonl", "/srv/ci/shard2.jsonl"],
        baseline=Baseline.from_records(records[:1]),
        baseline_name="/srv/ci/baselines/nightly.json",
    )
    page = render_html(content, base=tmp_path)
    summary = render_markdown(content, base=tmp_path)
    ungated = render_markdown(build(records), base=tmp_path)  # lists the failures, errors quoted
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    _, dom = rendered(path)  # what the page's script drew from its data, every scenario open
    for text in (page, dom, summary, ungated):
        assert not LEAK.search(text), LEAK.search(text)
    assert all(not h.startswith("/") and "://" not in h for h in _hrefs(dom))
    # what is left says which cassette it was, from the suite's folder of the layout down
    assert '<code class="path">example/openai/o3/startup-pitch.s0.json</code>' in dom
    assert "missing cassette example/openai/o3/startup-pitch.s0.json in replay mode" in dom
    assert "missing cassette example/openai/o3/startup-pitch.s0.json in replay mode" in ungated
    assert "from results.jsonl, shard2.jsonl ·" in page and "(baseline nightly.json)" in page
    assert "**Gate** against `nightly.json`" in summary


def test_a_report_beside_the_checkout_links_each_cassette_by_a_relative_path_that_opens(tmp_path: Path):
    root = tmp_path / "proj"
    records = _run(str(root))
    for path in records[0].cassettes.values():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text("{}", encoding="utf-8")
    out = root / "reports"
    out.mkdir()
    page = out / "report.html"
    page.write_text(render_html(build(records), base=out), encoding="utf-8")
    _, dom = rendered(page)
    links = [h for h in _hrefs(dom) if not h.startswith("#")]
    assert "../cassettes/example/openai/gpt-4.1/mayor-phone.s0.json" in links
    assert all((out / h).is_file() for h in links if "gpt-4.1" in h)  # each link opens its file
    assert str(tmp_path) not in page.read_text("utf-8") and str(tmp_path) not in dom


def test_free_text_keeps_endpoints_and_urls_and_rewrites_only_local_paths(tmp_path: Path):
    paths = LocalPaths.for_report(tmp_path / "out", {"example"}, [f"{RUNNER}/cassettes/example/x.json"])
    text = (
        f"POST /v1/chat/completions to https://api.example.com/v1/x failed; see {RUNNER}/cassettes/"
        f"example/openai/x.json and {tmp_path}/cassettes/y.json"
    )
    assert paths.text(text) == (
        "POST /v1/chat/completions to https://api.example.com/v1/x failed; see "
        "example/openai/x.json and ../cassettes/y.json"
    )
    assert paths.show("cassettes/example/x.json").href == "cassettes/example/x.json"  # relative: kept
