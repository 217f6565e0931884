"""The shell commands of a README section, for tests that run them as written."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def section_commands(title: str, readme: Path = ROOT / "README.md") -> list[str]:
    """The shell commands of the README section `title`, in order: continuation lines
    joined, runs of blanks made one, comments dropped."""
    text = readme.read_text()
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert m, f"README has no section {title!r}"
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", m.group(1), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append(re.sub(r"\s+", " ", line))
    return commands
