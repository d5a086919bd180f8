"""The package's import graph: no module-level cycle, and every deferred import says why.

Read from the source (AST), not by importing: a module-level ``import``/``from`` (outside an
``if TYPE_CHECKING:`` block) is an edge from the importing module to the imported one, a
``from package import name`` naming a submodule is an edge to that submodule too. A cycle of
such edges is what function-level imports used to hide; a function-level import is allowed
only with a comment (same or previous line) saying which start-up cost it defers.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "spec_pytest"

#: Third-party modules worth deferring: each takes a noticeable time to import.
HEAVY = frozenset({"vcr", "openai", "anthropic", "hypothesis", "aiohttp", "httpx", "httpx2"})

#: Module-level cycles tolerated, each written as its modules in order from the smallest name:
#: none. A new cycle fails the test; so does an entry here that no longer exists.
ALLOWED_CYCLES: frozenset[tuple[str, ...]] = frozenset()

#: Function-level imports (``module: imported``) tolerated without a comment: none; same rules
#: as ALLOWED_CYCLES (a new one fails, a gone one must go).
UNEXPLAINED: frozenset[str] = frozenset()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported: top level, or in a top-level if/try/with."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node):
                pending += node.body + node.orelse
        elif isinstance(node, ast.Try):
            pending += node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        elif isinstance(node, ast.With):
            pending += node.body


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The package's modules an import statement loads (a package's __init__ included)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = module.split(".")
            is_package = MODULES[module].name == "__init__.py"
            anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
            base = ".".join([*anchor, base] if base else anchor)
        names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
    found = set()
    for name in names:
        parts = name.split(".")
        for end in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
            prefix = ".".join(parts[:end])
            if prefix in MODULES:
                found.add(prefix)
    return found - {module}


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges: set[str] = set()
        for node in _module_level_imports(tree):
            edges |= _targets(module, node)
        # a package's submodule imports its parents first; that is not an edge worth a cycle
        graph[module] = {t for t in edges if not module.startswith(t + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """The elementary cycles through each strongly connected component's members, each once.

    Kept simple: for every module, the shortest path back to itself (BFS); enough to name
    every cycle a reader needs to break (breaking those breaks the component).
    """
    found: set[tuple[str, ...]] = set()
    for start in graph:
        parents: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in parents:
            following = []
            for node in frontier:
                for nxt in sorted(graph[node]):
                    if nxt not in parents:
                        parents[nxt] = node
                        following.append(nxt)
            frontier = following
        if start in parents:
            path = [start]
            node = parents[start]
            while node != start:
                path.append(node)
                node = parents[node]
            path.reverse()  # start -> ... -> start, in import order
            path = [start, *path[:-1]] if path[-1] == start else path
            turn = path.index(min(path))
            found.add(tuple(path[turn:] + path[:turn]))
    return found


def _commented(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or on the line above its run of consecutive imports."""
    if "#" in lines[lineno - 1]:
        return True
    above = lineno - 2
    while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


def unexplained_function_imports() -> set[str]:
    """``module: imported`` for each function-level import of ours or of a heavy module without a comment."""
    found = set()
    for module, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for fn in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                name = node.names[0].name if isinstance(node, ast.Import) else (node.module or "")
                ours = node.level > 0 if isinstance(node, ast.ImportFrom) else False
                ours = ours or name.split(".")[0] == "spec_pytest"
                if not (ours or name.split(".")[0] in HEAVY):
                    continue
                if not _commented(lines, node.lineno):
                    found.add(f"{module}: {name}")
    return found


def test_the_module_level_import_graph_has_no_cycle() -> None:
    found = cycles(import_graph())
    new = sorted(found - ALLOWED_CYCLES)
    gone = sorted(ALLOWED_CYCLES - found)
    assert not new, "new module-level import cycle(s):\n" + "\n".join(" -> ".join(c) for c in new)
    assert not gone, "cycle(s) no longer there; remove them from ALLOWED_CYCLES: " + repr(gone)


def test_every_function_level_import_says_which_start_up_cost_it_defers() -> None:
    found = unexplained_function_imports()
    new = sorted(found - UNEXPLAINED)
    gone = sorted(UNEXPLAINED - found)
    assert not new, "function-level import(s) without a comment saying what they defer:\n" + "\n".join(new)
    assert not gone, "import(s) now explained or gone; remove them from UNEXPLAINED: " + repr(gone)


def test_the_graph_sees_a_cycle_written_in_a_fake_package() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == {("a", "b", "c")}


#: The packages in dependency order, as README's tour lists them: each may import only those before it.
LAYERS = (
    "errors", "secrets", "spec", "core", "providers", "recording", "judge", "pipeline", "probes", "generate",
    "results", "config", "pytest", "cli",
)  # fmt: skip


def _layer(module: str) -> str:
    return module.split(".")[1]


def test_each_package_imports_only_the_layers_before_it() -> None:
    rank = {name: i for i, name in enumerate(LAYERS)}
    packages = {_layer(name) for name in MODULES if "." in name}
    assert packages == set(rank), "LAYERS (and README's tour) must list exactly the package's layers"
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if "." in module
        for target in targets
        if "." in target and rank[_layer(target)] > rank[_layer(module)]
    )
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_only_the_pytest_package_imports_pytest() -> None:
    importers = set()
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            if any(n.split(".")[0] in ("pytest", "_pytest") for n in names):
                importers.add(module)
    assert importers and all(m.startswith("spec_pytest.pytest.") for m in importers), sorted(importers)


def test_the_entry_point_loads_nothing_a_run_without_specs_does_not_use() -> None:
    # what every pytest start-up pays for: the option table, the hooks, pytest itself
    probe = (
        "import sys, spec_pytest.pytest.entry\n"
        "heavy = ('spec_pytest.pipeline', 'spec_pytest.providers', 'spec_pytest.recording.cassettes',\n"
        "         'spec_pytest.spec', 'spec_pytest.pytest.plugin', 'openai', 'anthropic', 'vcr',\n"
        "         'jsonschema', 'yaml')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_tables_inconclusive_choices_are_the_pipelines() -> None:
    from spec_pytest.config.table import INCONCLUSIVE_CHOICES
    from spec_pytest.pipeline.run import INCONCLUSIVE_POLICIES

    assert INCONCLUSIVE_CHOICES == INCONCLUSIVE_POLICIES
