"""The layer contract and the absence of import cycles, checked on the real import graph.

`lint-imports` (import-linter, configured in pyproject.toml) enforces three floors,
ablate > explain > lightning_modules, and "only ablate.tracking imports mlflow".
The cycle check finds every strongly connected component of the module graph
(grimp, which import-linter is built on): any component with two or more modules
is an import cycle, whether the imports are at the top, inside functions or under
TYPE_CHECKING.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ablate", "explain", "lightning_modules")
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_layer_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_the_contract_catches_a_back_edge_and_mlflow_in_the_report(tmp_path: Path) -> None:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "lightning_modules" / "upward.py").write_text("import ablate.spaces.config\n")
    (tmp_path / "ablate" / "report").mkdir(exist_ok=True)
    (tmp_path / "ablate" / "report" / "loader_probe.py").write_text("import mlflow\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "0 kept, 2 broken" in result.stdout, result.stdout
    assert "lightning_modules.upward -> ablate.spaces.config" in result.stdout
    assert "ablate.report.loader_probe -> mlflow" in result.stdout


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively: the components of the directed graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    out.append(component)
    return out


def test_strongly_connected_finds_a_cycle() -> None:
    components = strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert {"a", "b", "c"} in components and {"d"} in components


def test_no_import_cycle_anywhere_in_the_packages() -> None:
    g = grimp.build_graph(*PACKAGES, cache_dir=None)
    graph = {m: set(g.find_modules_directly_imported_by(m)) & g.modules for m in g.modules}
    # before issue 8 this found spaces <-> optuna_spaces and orchestrate <-> distributed <-> tuning
    cycles = [sorted(c) for c in strongly_connected(graph) if len(c) > 1]
    assert cycles == [], cycles
