"""Ctrl-C (and SIGTERM) end every kind of sweep the same way: the current child run and
the parent end KILLED, and the same command resumes to the end.

The sweep runs as a real process (`python -m ablate.cli`), started from Python's
subprocess: a process started with `&` by a non-interactive shell ignores SIGINT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from store import finished_keys, state, sweep_runs, the_sweep

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
pytestmark = pytest.mark.e2e

BASE = {
    "model": {"depth": 2, "width": 8},
    "data": {"limit_train": 200, "limit_test": 50},
    "train": {"max_epochs": 6, "batch_size": 50},
    "explain": {"enabled": False},
}


def space_doc(kind: str) -> dict[str, Any]:
    if kind == "optuna":
        lr = {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}
        return {
            "experiment": kind,
            "kind": "optuna",
            "base": BASE,
            "params": {"train.lr": lr},
            "sampler": {"name": "random", "seed": 0},
            "pruner": "none",
            "n_trials": 2,
        }
    return {"experiment": kind, "base": BASE, "grid": {"model.stride": [1, 2]}}


def command(tmp: Path, kind: str) -> list[str]:
    space = tmp / f"{kind}.yaml"
    space.write_text(yaml.safe_dump(space_doc(kind)))
    cmd = [sys.executable, "-m", "ablate.cli", "run", str(space), "--data", str(SLICE)]
    cmd += ["--set", f"data.cache_dir={tmp / 'cache'}"]
    cmd += ["--no-report"]  # not what is tested here; the end-of-run report is seconds of work
    if kind == "queue":
        cmd += ["--storage", f"journal:{tmp / 'queue.journal'}"]
    return cmd


@pytest.mark.parametrize(
    "kind,signum",
    [
        ("grid", signal.SIGINT),
        ("queue", signal.SIGINT),
        ("optuna", signal.SIGINT),
        ("grid", signal.SIGTERM),
    ],
    ids=["local-grid-ctrl-c", "shared-queue-ctrl-c", "optuna-ctrl-c", "local-grid-sigterm"],
)
def test_interrupt_kills_parent_and_current_child_then_resumes(
    tmp_path: Path, kind: str, signum: signal.Signals
) -> None:
    cmd = command(tmp_path, kind)
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONUNBUFFERED": "1"}
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log = tmp_path / "sweep.log"
    sweep = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    running = None
    deadline = time.time() + 240
    while time.time() < deadline and running is None and sweep.poll() is None:
        time.sleep(0.3)
        if (tmp_path / "mlflow.db").exists() and "epoch 1/" in log.read_text():
            _, children = sweep_runs(uri, kind)
            live = [c for c in children if state(c) == "running"]
            running = live[0] if live else None
    assert running is not None, log.read_text()[-3000:]
    sweep.send_signal(signum)
    code = sweep.wait(timeout=120)
    out = log.read_text()
    # SIGTERM is a preemption (kill, scancel): 143, which a SLURM job script requeues on
    assert code == (143 if signum == signal.SIGTERM else 130), out[-3000:]
    assert "run the same command again to resume" in out

    parent, children = the_sweep(uri, kind)
    assert parent.info.status == "KILLED" and state(parent) == "killed"
    child = next(c for c in children if c.info.run_id == running.info.run_id)
    assert child.info.status == "KILLED" and state(child) == "killed"
    reason = "preempted (SIGTERM)" if signum == signal.SIGTERM else "interrupted (Ctrl-C)"
    assert child.data.tags["ablate.fail_reason"] == reason

    again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    parent, children = the_sweep(uri, kind)
    assert parent.info.status == "FINISHED"
    assert len(finished_keys(children)) == 2  # both points (or both trials) finished once
