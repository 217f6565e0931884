"""The single-node SLURM of `.ci/slurm.sh`, for tests: started when it is not up (the
script is idempotent), and a failure, never a skip, when it cannot be."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "slurm.sh"


@pytest.fixture(scope="session")
def slurm_cluster() -> str:
    """Make sure SLURM answers (bash .ci/slurm.sh); its output line."""
    try:
        res = subprocess.run(
            ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=600, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"bash {SCRIPT} failed: {e}", pytrace=False)
    if res.returncode != 0:
        pytest.fail(
            f"SLURM is not up and `bash {SCRIPT}` could not start it (exit {res.returncode}):\n"
            f"{res.stdout[-2000:]}{res.stderr[-3000:]}",
            pytrace=False,
        )
    return res.stdout.strip()


def squeue_ids(name: str) -> list[str]:
    """Tasks SLURM holds under job name `name` (pending, running, completing)."""
    res = subprocess.run(
        ["squeue", "-h", "-r", "--name", name, "-o", "%i"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return res.stdout.split()


def wait_gone(name: str, timeout: float = 120) -> None:
    """Wait until SLURM holds no task named `name` (assert within `timeout` s)."""
    deadline = time.monotonic() + timeout
    while squeue_ids(name):
        assert time.monotonic() < deadline, f"jobs {name} still there: {squeue_ids(name)}"
        time.sleep(0.5)
