"""The rooms, measured (issue 13): counts over the source of the three packages, by `ast`.

- No module imports another module's private names (a leading underscore): 0 imports.
  A name that another module needs is public; the rest stays where it is used.
- One file spells the `ablate.*` tag and attribute names: `ablate/store/schema.py`.
  Everything else imports the names from there. Module paths (`"ablate.cli"` in a
  subprocess command, the `_WHERE` maps of the room doors) are not tags.
- One file spells each explanation method's name or label: `explain/methods.py`, the
  registry that everything else iterates. Case is ignored, so "Saliency" and
  "saliency" are one spelling.

Docstrings are prose and are not counted; the constant parts of f-strings are.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from explain.methods import METHODS, Method

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ablate", "explain", "lightning_modules")
SCHEMA = "ablate/store/schema.py"
REGISTRY = "explain/methods.py"


@functools.cache
def sources() -> dict[str, ast.Module]:
    """Every module of the three packages, parsed: path relative to the root -> tree."""
    files = sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))
    return {p.relative_to(ROOT).as_posix(): ast.parse(p.read_text(), str(p)) for p in files}


def is_private(name: str) -> bool:
    """`_x` is private; a dunder (`__version__`) is not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(tree: ast.Module) -> Iterator[str]:
    """`line: what` for each private name this module takes from another module of the
    packages: `from x import _y`, `import x._y`, `from x._y import z`, and `m._y` where
    `m` is a name imported from the packages."""
    imported: set[str] = set()  # local names bound to the packages' modules or objects
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in PACKAGES:
                    continue
                imported.add(alias.asname or alias.name.split(".")[0])
                if any(is_private(part) for part in alias.name.split(".")):
                    yield f"{node.lineno}: import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if not node.level and module.split(".")[0] not in PACKAGES:
                continue  # another library's private names are that library's business
            source = "." * node.level + module
            for alias in node.names:
                imported.add(alias.asname or alias.name)
                if is_private(alias.name) or any(is_private(p) for p in module.split(".")):
                    yield f"{node.lineno}: from {source} import {alias.name}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and is_private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
        ):
            yield f"{node.lineno}: {node.value.id}.{node.attr}"


def line_of(hit: str) -> int:
    """The line number that starts a hit (`12: from x import _y`)."""
    return int(hit.split(":")[0])


def docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring constants of the module, its classes and functions."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def strings(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, text) of every str constant that is not a docstring, f-string parts included,
    in the order of the file."""
    skip = docstrings(tree)
    found = [
        (node.lineno, node.col_offset, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]
    return [(line, text) for line, _, text in sorted(found)]


def is_module(dotted: str) -> bool:
    """Whether `dotted` names a module or package of the tree (`ablate.cli`)."""
    path = ROOT / dotted.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def tag_literals(tree: ast.Module) -> list[str]:
    """`line: 'text'` of each `ablate.*` string that is a tag or attribute name."""
    return [
        f"{line}: {text!r}"
        for line, text in strings(tree)
        if text.startswith("ablate.") and not is_module(text)
    ]


def spellings(tree: ast.Module, words: set[str]) -> list[str]:
    """`line: 'text'` of each string equal to one of `words`, ignoring case."""
    folded = {w.casefold() for w in words}
    return [f"{line}: {text!r}" for line, text in strings(tree) if text.casefold() in folded]


def offenders(found: dict[str, list[str]], owner: str = "") -> str:
    """The files and their hits, one per line, the owner's own hits left out."""
    return "\n" + "\n".join(
        f"{path}\n    " + "\n    ".join(hits) for path, hits in found.items() if path != owner
    )


# --------------------------------------------------------------------------- the gauges


def test_the_gauges_see_what_they_measure() -> None:
    code = ast.parse(
        '"""ablate.state is a tag: prose, not counted."""\n'
        "from ablate.report.page.format import _finite, fmt\n"
        "from .view import _Ctx\n"
        "from explain import methods\n"
        "from optuna.trial import _state\n"  # another library: not ours to count
        "from __future__ import annotations\n"
        "import ablate.store._hidden\n"
        "x = methods._private\n"
        "cmd = ['python', '-m', 'ablate.cli']\n"  # a module path, not a tag
        "tag = 'ablate.fail_reason'\n"
        "key = f'ablate.metric.{x}'\n"
        "label = 'Saliency'\n"
    )
    assert [hit.split(": ")[1] for hit in sorted(private_imports(code), key=line_of)] == [
        "from ablate.report.page.format import _finite",
        "from .view import _Ctx",
        "import ablate.store._hidden",
        "methods._private",
    ]
    assert tag_literals(code) == ["10: 'ablate.fail_reason'", "11: 'ablate.metric.'"]
    assert spellings(code, {"saliency"}) == ["12: 'Saliency'"]


# --------------------------------------------------------------------------- the counts


def test_no_module_imports_another_modules_private_names() -> None:
    found = {
        path: hits
        for path, tree in sources().items()
        if (hits := sorted(private_imports(tree), key=line_of))
    }
    count = sum(map(len, found.values()))
    assert count == 0, f"{count} private imports in {len(found)} files:{offenders(found)}"


def test_only_the_schema_spells_ablate_tags() -> None:
    found = {path: hits for path, tree in sources().items() if (hits := tag_literals(tree))}
    assert list(found) == [SCHEMA], (
        f"{len(found)} files spell `ablate.*` tags:{offenders(found, SCHEMA)}"
    )


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
def test_only_the_registry_spells_a_method_name(method: Method) -> None:
    words = {method.name, method.label}
    found = {path: hits for path, tree in sources().items() if (hits := spellings(tree, words))}
    assert list(found) == [REGISTRY], (
        f"{len(found)} files spell {sorted(words)}:{offenders(found, REGISTRY)}"
    )
