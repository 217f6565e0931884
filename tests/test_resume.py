"""Resume after a crash on one machine: liveness by heartbeat and by process id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from store import finished_keys, state, sweep_runs, the_sweep

from ablate.store import liveness

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "tests" / "data" / "cifar10-slice.zip"


def test_worker_id_and_known_dead() -> None:
    me = liveness.worker_id()
    assert me.startswith(f"{os.uname().nodename}:{os.getpid()}:")
    assert not liveness.known_dead(me)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host, _, boot = me.split(":")
    assert liveness.known_dead(f"{host}:{child.pid}:{boot}")
    assert not liveness.known_dead(f"{host}:{child.pid}:otherboot")  # another machine: unsure
    assert not liveness.known_dead(f"elsewhere:{child.pid}:{boot}")
    assert not liveness.known_dead("") and not liveness.known_dead("garbage")


def test_is_stale_by_time_or_by_death() -> None:
    now = time.time()
    me = liveness.worker_id()
    assert not liveness.is_stale(now - 5, me, now, stale_after=60)
    assert liveness.is_stale(now - 61, me, now, stale_after=60)


@pytest.mark.e2e
def test_kill_9_then_immediate_rerun_finishes_every_point_once(tmp_path: Path) -> None:
    doc = {
        "experiment": "resume",
        "base": {
            "model": {"depth": 2, "width": 8},
            # 300 images x 4 epochs: a point trains for seconds, enough to be killed mid-way
            "data": {"limit_train": 300, "limit_test": 100},
            "train": {"max_epochs": 4, "batch_size": 32},
            "explain": {"enabled": False},
        },
        "grid": {"model.stride": [1, 2, 3]},
    }
    space = tmp_path / "resume.yaml"
    space.write_text(yaml.safe_dump(doc))
    cmd = [sys.executable, "-m", "ablate.cli", "run", str(space), "--data", str(SLICE)]
    cmd += ["--set", f"data.cache_dir={tmp_path / 'cache'}", "--no-report"]  # not tested here
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    log = tmp_path / "victim.log"
    victim = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    running = None
    deadline = time.time() + 180
    while time.time() < deadline and running is None and victim.poll() is None:
        time.sleep(0.3)
        if not (tmp_path / "mlflow.db").exists():
            continue
        _, children = sweep_runs(client, "resume")
        finished = [r for r in children if state(r) == "finished"]
        live = [r for r in children if state(r) == "running"]
        if finished and live:  # one point done, the next one mid-training
            running = live[0]
    assert running is not None, log.read_text()[-3000:]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)

    rerun = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "finished earlier" in rerun.stdout  # the point done before the kill is kept
    _, children = the_sweep(client, "resume")
    done = finished_keys(children)
    assert len(done) == 3 and set(done.values()) == {1}, done
    killed = client.get_run(running.info.run_id)
    assert (
        killed.info.status == "FAILED"
        and "stopped beating" in killed.data.tags["ablate.fail_reason"]
    )


def test_heartbeat_calls_every_beat_even_when_one_fails() -> None:
    from ablate.sweep import Heartbeat

    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise ConnectionError("tracking server down")

    with Heartbeat([broken, lambda: calls.append("trial")], every=0.01):
        time.sleep(0.2)
    assert calls.count("trial") >= 3 and calls.count("broken") >= 3
    n = len(calls)
    time.sleep(0.05)
    assert len(calls) == n  # stopped with the block
