"""Benchmark: the peers' live workload with spec-pytest as more interleaved configurations.

Runs the shared peer harness (`../shared/bench/peers/run.py`: its fake API, its workload of N
cases of one answer call then one judge call, its warm-up, its interleaving, its tables) with
spec-pytest added as two configurations measured in the same sitting as the peers:

* ``spec-pytest-default``: no concurrency option and no ``max_concurrency`` in the spec, what a
  user gets (compare with ``inspect-default``);
* ``spec-pytest-16``: ``--concurrency 16`` (compare with ``inspect-16``, ``promptfoo-16``).

The harness runs every tool in a network namespace with only loopback; this script re-enters
itself in one (``unshare --net``, as the harness's ``run.sh`` does). The peers must be installed
first (``bash ../shared/bench/peers/install.sh``). The shared folder may be read-only: pass
``--out`` an absolute path. Example (the issue's sitting):

    python bench/peers.py --n 200 --reps 3 \\
        --only inspect-default,inspect-16,promptfoo-16,spec-pytest --out $PWD/bench/peers-n200.md

Other arguments go to the harness (``--latency``, ``--skip``, ``--timeout``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = Path(os.environ.get("SPEC_PYTEST_PEERS", ROOT.parent / "shared" / "bench" / "peers"))
INSIDE = "SPEC_PYTEST_PEERS_NETNS"
#: the Python spec-pytest runs with (this script's); the harness itself runs on the peers' venv,
#: whose packages it reads (inspect_ai's logs, versions)
OURS = "SPEC_PYTEST_PYTHON"


def _reenter_in_netns() -> None:
    """Run this script again in a fresh network namespace whose only interface is loopback."""
    home = Path(os.environ.get("PEERBENCH_HOME", "/tmp/peerbench"))
    (home / "work").mkdir(parents=True, exist_ok=True)
    resolv = home / "work" / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\n", encoding="utf-8")  # DNS goes to the harness's sink
    unshare = (
        ["unshare", "--mount", "--net"]
        if os.getuid() == 0
        else ["unshare", "--map-root-user", "--mount", "--net"]
    )
    inner = f'ip link set lo up && mount --bind "{resolv}" /etc/resolv.conf && exec "$@"'
    peers_python = home / "venv" / "bin" / "python"
    if not peers_python.is_file():
        raise SystemExit(f"{peers_python}: the peers are not installed; run bash {PEERS}/install.sh")
    argv = [*unshare, "--", "bash", "-c", inner, "peers", str(peers_python), *sys.argv]
    raise SystemExit(subprocess.call(argv, env={**os.environ, INSIDE: "1", OURS: sys.executable}))


def main() -> None:
    if not (PEERS / "run.py").is_file():
        raise SystemExit(f"{PEERS}/run.py: no peer harness there; set SPEC_PYTEST_PEERS to its folder")
    if shutil.which("unshare") is None:
        raise SystemExit("unshare (util-linux) is needed to run the tools without a network")
    if os.environ.get(INSIDE) != "1":
        _reenter_in_netns()
    sys.path.insert(0, str(PEERS))
    sys.path.insert(0, str(HERE))
    import live  # this project's workload writer: the peers' prompt, one spec scenario per case
    import run  # the shared harness

    def spec_dir(n: int, concurrency: int) -> Path:
        work = run.WORK / f"spec-pytest-{n}-{concurrency}"
        work.mkdir(parents=True, exist_ok=True)
        (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        spec = work / "bench.yaml"
        live.write_spec(spec, n, f"{run.BASE}/v1", concurrency)
        # the harness gives every tool its dummy key as OPENAI_API_KEY
        spec.write_text(
            spec.read_text(encoding="utf-8").replace(live.KEY_ENV, "OPENAI_API_KEY"), encoding="utf-8"
        )
        return work

    def passed(out: str, rundir: Path) -> int | None:
        found = re.findall(r"(\d+) passed", out)
        return int(found[-1]) if found else None

    ours = os.environ[OURS]

    def command(concurrency: int):  # type: ignore[no-untyped-def]
        def argv(n: int, rundir: Path) -> list[str]:
            where = spec_dir(n, concurrency)
            line = [ours, "-m", "pytest", "--spec=bench.yaml", "-q", "-p", "no:cacheprovider"]
            line += ["-p", "spec_pytest.pytest.entry", "-p", "xdist", f"--cassette-dir={rundir}/cassettes"]
            line += [f"--concurrency={concurrency}"] if concurrency else []
            return ["bash", "-c", f"cd {where} && exec " + " ".join(line)]

        return argv

    version = subprocess.run(
        [ours, "-c", "import importlib.metadata as m; print(m.version('spec-pytest'))"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    stock = run.configs

    def configs() -> list:  # type: ignore[type-arg]
        ours = [
            run.Config(
                "spec-pytest-default",
                "spec-pytest",
                version,
                "default (no option)",
                "endpoint default",
                command(0),
                run.WORK,
                passed,
            ),
            run.Config(
                "spec-pytest-16",
                "spec-pytest",
                version,
                "--concurrency 16",
                "16",
                command(16),
                run.WORK,
                passed,
            ),
        ]
        return [*stock(), *ours]

    run.configs = configs
    sys.argv = [str(PEERS / "run.py"), *sys.argv[1:]]
    run.main()


if __name__ == "__main__":
    main()
