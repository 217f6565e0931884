"""A run killed mid-training continues from its last finished epoch, and ends with the
same numbers as a run that was never stopped (issue 16, C)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from store import state, sweep_runs

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"
EPOCHS = 5
CURVES = ("train_loss", "train_acc", "val_loss", "val_acc")

pytestmark = pytest.mark.e2e


def _space(folder: Path, epochs: int = EPOCHS, limit_train: int = 400) -> Path:
    doc = {
        "experiment": "midrun",
        "base": {
            "model": {"depth": 2, "width": 8},
            # augmentation and a one-cycle schedule: both draw on state a resume must restore;
            # 400 images are 13 steps an epoch, enough for both (1200 trained 3x as long)
            "data": {"limit_train": limit_train, "limit_test": 200, "augment": True},
            "train": {"max_epochs": epochs, "batch_size": 32, "schedule": "onecycle"},
            "explain": {"enabled": False},
        },
        "grid": {"model.stride": [1]},
    }
    space = folder / "midrun.yaml"
    space.write_text(yaml.safe_dump(doc))
    return space


def _cmd(space: Path, folder: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ablate.cli",
        "run",
        str(space),
        "--data",
        str(SLICE),
        "--set",
        f"data.cache_dir={folder / 'cache'}",
        "--no-report",  # the numbers are read from the store; a report is seconds of work
    ]


ENV = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}


def _finished(folder: Path) -> tuple[MlflowClient, object]:
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    _, children = sweep_runs(client, "midrun")
    done = [r for r in children if state(r) == "finished"]
    assert len(done) == 1, [state(r) for r in children]
    return client, done[0]


def _numbers(client: MlflowClient, run: object) -> dict[str, object]:
    rid = run.info.run_id  # type: ignore[attr-defined]
    metrics = run.data.metrics  # type: ignore[attr-defined]
    out: dict[str, object] = {k: metrics[k] for k in ("test_acc", "best_val_acc", "best_epoch")}
    for key in CURVES:
        history = sorted(client.get_metric_history(rid, key), key=lambda m: m.step)
        out[key] = [(m.step, m.value) for m in history]
    return out


def _resume_epochs(folder: Path) -> int:
    """Finished epochs of the running attempt's newest uploaded checkpoint (0: none yet)."""
    for state_file in (folder / "mlruns").glob("*/*/artifacts/resume/state.json"):
        try:
            return int(json.loads(state_file.read_text())["epochs_done"])
        except (ValueError, KeyError, OSError):
            return 0
    return 0


def _start_until_saved(
    cmd: list[str], folder: Path, epochs: int
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start the sweep in `folder`; return once its run has uploaded the checkpoint of
    `epochs` finished epochs (or it ended, or 300 s passed), with its log."""
    log = folder / "victim.log"
    victim = subprocess.Popen(
        cmd, cwd=folder, env=ENV, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    deadline = time.time() + 300
    while time.time() < deadline and victim.poll() is None and _resume_epochs(folder) < epochs:
        time.sleep(0.05)
    return victim, log


def test_kill_9_in_epoch_3_then_resume_gives_the_uninterrupted_numbers(tmp_path: Path) -> None:
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    whole.mkdir()
    cut.mkdir()
    ran = subprocess.run(
        _cmd(_space(whole), whole), cwd=whole, env=ENV, capture_output=True, text=True, timeout=600
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]

    cmd = _cmd(_space(cut), cut)
    victim, log = _start_until_saved(cmd, cut, epochs=2)
    assert _resume_epochs(cut) == 2, log.read_text()[-3000:]  # epochs 1-2 saved: epoch 3 runs
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)

    again = subprocess.run(cmd, cwd=cut, env=ENV, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "from epoch 2 of 5" in again.stdout, again.stdout[-3000:]
    assert "resumed " in again.stdout

    a_client, a_run = _finished(whole)
    b_client, b_run = _finished(cut)
    a, b = _numbers(a_client, a_run), _numbers(b_client, b_run)
    assert len(a["val_acc"]) == EPOCHS  # type: ignore[arg-type]
    assert b == a  # to the last digit: test_acc, best_val_acc, best_epoch and every curve
    tags = b_run.data.tags  # type: ignore[attr-defined]
    assert tags["ablate.resumed_epoch"] == "2"
    # the finished run dropped its epoch checkpoints
    b_id = b_run.info.run_id  # type: ignore[attr-defined]
    assert not [f for f in b_client.list_artifacts(b_id) if f.path == "resume"]


def test_sigterm_is_a_preemption_that_keeps_the_checkpoint(tmp_path: Path) -> None:
    # 1200 images: epoch 2, the one the signal must land in, lasts long enough on any machine
    space = _space(tmp_path, epochs=2, limit_train=1200)
    cmd = _cmd(space, tmp_path)
    victim, log = _start_until_saved(cmd, tmp_path, epochs=1)
    assert _resume_epochs(tmp_path) >= 1, log.read_text()[-3000:]
    victim.send_signal(signal.SIGUSR1)  # what `sbatch --signal=USR1@120` sends
    assert victim.wait(timeout=60) == 143, log.read_text()[-3000:]
    text = log.read_text()
    assert "Preempted (SIGUSR1)" in text and "Traceback" not in text, text[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    _, children = sweep_runs(client, "midrun")
    assert [state(r) for r in children] == ["killed"]
    assert children[0].data.tags["ablate.fail_reason"] == "preempted (SIGUSR1)"
    again = subprocess.run(cmd, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "resumed " in again.stdout
