"""The layer contracts and the absence of import cycles, checked on the real import graph.

`lint-imports` (import-linter, configured in pyproject.toml) enforces three contracts:
three floors, ablate > explain > lightning_modules; the rooms inside ablate, with arrows
only downward (cli > report | inspection > sweep > schedulers > store > spaces > runtime
> errors | doors, report and inspection independent, every room declared); and "only
ablate.store.tracking imports mlflow". Each contract is shown to catch a violation
planted in a copy of the tree.
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
import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ablate", "explain", "lightning_modules")
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")
IMPORTLINTER = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = [c["name"] for c in IMPORTLINTER["contracts"]]
FLOORS, ROOMS, MLFLOW = CONTRACTS  # in the order of pyproject.toml


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # COLUMNS: rich would wrap the report at 80 characters, splitting the contract names
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "300"}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True
    )


def planted(tmp_path: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """lint-imports on a copy of the three packages with `files` (path -> text) added."""
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return lint_imports(tmp_path)


def broken(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The names of the contracts that the run reports broken."""
    return [n for n in CONTRACTS if f"{n} BROKEN" in result.stdout]


def test_the_three_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_the_floors_contract_catches_an_upward_import(tmp_path: Path) -> None:
    result = planted(tmp_path, {"lightning_modules/upward.py": "import ablate.spaces.config\n"})
    assert result.returncode != 0
    assert broken(result) == [FLOORS], result.stdout
    assert "lightning_modules.upward -> ablate.spaces.config" in result.stdout


@pytest.mark.parametrize(
    ("path", "text", "named"),
    [
        # a lower room reaching up: the store must not know the command line
        ("ablate/store/upward.py", "import ablate.cli\n", "ablate.store.upward -> ablate.cli"),
        # one floor up from the bottom: the console must not know the spaces
        (
            "ablate/runtime/upward.py",
            "from ablate.spaces import RunConfig\n",
            "ablate.runtime.upward -> ablate.spaces",
        ),
        # siblings: the read-only commands and the report never import each other
        (
            "ablate/inspection/sideways.py",
            "import ablate.report\n",
            "ablate.inspection.sideways -> ablate.report",
        ),
        (
            "ablate/report/sideways.py",
            "from ablate.inspection import status\n",
            "ablate.report.sideways -> ablate.inspection",
        ),
        # exhaustive: a new room must be given its place in the contract
        ("ablate/newroom/__init__.py", "", "- ablate.newroom"),
    ],
)
def test_the_rooms_contract_catches_a_planted_violation(
    tmp_path: Path, path: str, text: str, named: str
) -> None:
    result = planted(tmp_path, {path: text})
    assert result.returncode != 0
    assert broken(result) == [ROOMS], result.stdout
    assert named in result.stdout, result.stdout


def test_the_mlflow_contract_catches_mlflow_in_the_report(tmp_path: Path) -> None:
    result = planted(tmp_path, {"ablate/report/loader_probe.py": "import mlflow\n"})
    assert result.returncode != 0
    assert broken(result) == [MLFLOW], result.stdout
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
