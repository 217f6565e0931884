"""CI runs what the README tells a newcomer: its Install commands, then its test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.unit


def block(section: str) -> list[str]:
    """The commands of the first bash block under `## section` of the README."""
    text = (ROOT / "README.md").read_text()
    m = re.search(rf"^## {re.escape(section)}\n.*?```bash\n(.*?)```", text, re.S | re.M)
    assert m, f"README: no bash block under {section!r}"
    return [c.strip() for line in m.group(1).splitlines() for c in line.split("&&") if c.strip()]


def ci_commands() -> list[str]:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return [ln.split("#")[0].strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def test_ci_installs_as_the_readme_says_then_runs_its_test_command() -> None:
    install, tests, ci = block("Install"), block("Tests"), ci_commands()
    assert install == ["python3 -m venv .venv", ". .venv/bin/activate", "pip install -e ."]
    assert tests == ["bash scripts/test"]
    steps = [c for c in ci if not c.startswith(("set ", "cd ", "export ", "echo ", "python -c"))]
    assert steps == [*install[:2], "pip install -q -e .", *tests], steps  # -q: quieter only


def test_the_test_command_installs_its_services_and_runs_pytest() -> None:
    script = (ROOT / "scripts" / "test").read_text()
    for step in ("pip install -q -e '.[test]'", "bash .ci/postgres.sh", "bash .ci/chromium.sh",
                 "bash .ci/slurm.sh", "ruff check .", "mypy", "lint-imports",
                 'pytest -n "$workers" --dist loadgroup "$@"'):  # fmt: skip
        assert step in script, step
